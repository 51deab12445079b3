"""What every notification channel offers the outbox worker: routing, `send`, and outcomes."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.core.finding import AlertKey, Finding
from monitor.core.lifecycle import Alert, AlertEvent
from monitor.settings import ChannelConfig


class Outcome(enum.StrEnum):
    """How one delivery attempt ended: the label of the notification metrics."""

    SUCCESS = "success"
    FAILURE = "failure"
    TIMEOUT = "timeout"


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of one attempt and, unless it succeeded, why (never a secret)."""

    outcome: Outcome
    detail: str = ""
    #: On a failure, the events (indices into those sent) that earlier parts did deliver.
    partial: frozenset[int] = frozenset()

    @property
    def ok(self) -> bool:
        """Whether the channel took the message."""
        return self.outcome is Outcome.SUCCESS


class UnusableChannelError(ValueError):
    """A channel whose configuration cannot work (a URL the library refuses); never the URL."""


class Channel:
    """One configured destination; subclasses implement `send` (and may refresh or test)."""

    #: A receiver that keeps state, not messages (Alertmanager): each send carries every
    #: pending item, so that an older event in backoff can never arrive after a newer one.
    sends_all_pending = False

    def __init__(self, config: ChannelConfig) -> None:
        self.config = config

    @property
    def name(self) -> str:
        """The channel's configured name (metrics and logs use it, never the URL)."""
        return self.config.name

    def routes(self, finding: Finding) -> bool:
        """Whether alerts like `finding` go to this channel."""
        return self.config.routes(finding.rule, finding.severity, finding.labels)

    def max_backoff(self, configured: float) -> float:
        """The longest pause between retries this channel tolerates."""
        return configured

    async def send(self, events: Sequence[AlertEvent]) -> Delivery:
        """Deliver `events` as one message (or post); never raises."""
        raise NotImplementedError

    def due_again(self, firing: Sequence[Alert], now: float, queued: set[AlertKey]) -> list[Alert]:
        """Firing alerts to send again now so the receiver keeps them (none by default)."""
        return []

    async def test(self, title: str, body: str) -> Delivery:
        """Send a test message now, outside the outbox."""
        return Delivery(Outcome.FAILURE, "not an Apprise channel")

    async def close(self) -> None:
        """Release connections."""
