"""Helpers for notifier tests: channels as the config builds them, Alertmanager's timestamps,
`Stub`, a notifier whose Alertmanager channel posts to a local receiver (the `stub` fixture
makes them), and `Harness`, a notifier under test (the `make_harness` fixture makes them)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from monitor.ops.secret import Secret
from monitor.settings import ChannelConfig
from monitor.sinks.notifier import Notifier
from monitor.sinks.outbox import Outbox
from testkit.receivers import Receiver

AM_PATH = "/api/v2/alerts"
#: The `make_harness` notifiers' group_wait unless a test gives one.
GROUP_WAIT = 0.2


def parse_time(text: str) -> datetime:
    """An RFC 3339 timestamp as Alertmanager writes it (nanoseconds cut to micro)."""
    head, _, rest = text.rstrip("Z").partition(".")
    fraction = rest[:6]
    stamp = f"{head}.{fraction}" if fraction else head
    return datetime.fromisoformat(stamp).replace(tzinfo=UTC)


def channel(name: str, url: str, **routing: Any) -> ChannelConfig:
    """A channel as the config would build it."""
    return ChannelConfig(name=name, url=Secret(url), **routing)


def am_channel(name: str, url: str, **routing: Any) -> ChannelConfig:
    """An Alertmanager channel as the config would build it."""
    return channel(name, url, type="alertmanager", **routing)


class Stub:
    """A notifier with an Alertmanager channel `am` (and Apprise `ops`) posting to a receiver."""

    def __init__(self, receiver: Receiver, resend_interval: float = 60.0) -> None:
        self.receiver = receiver
        self.outbox = Outbox()
        self.results: list[tuple[str, str]] = []
        self.notifier = Notifier(
            [
                am_channel("am", f"http://127.0.0.1:{receiver.port}/"),
                channel("ops", receiver.url("ops")),
            ],
            self.outbox,
            group_wait=0.1,
            max_backoff=0.3,
            send_timeout=2.0,
            can_send_unpersisted=lambda: True,
            on_change=lambda: None,
            on_result=lambda name, outcome: self.results.append((name, outcome)),
            resend_interval=resend_interval,
        )
        self.task: asyncio.Task[None] | None = None

    def posts(self) -> list[Any]:
        """The bodies (lists of alerts) posted to the Alertmanager API."""
        return [p.doc for p in self.receiver.at(AM_PATH.lstrip("/"))]

    def pending(self, channel: str) -> int:
        """Items queued for `channel`."""
        return sum(1 for i in self.outbox.items.values() if i.channel == channel)


@dataclass
class Harness:
    """A notifier under test with what it reported."""

    outbox: Outbox
    notifier: Notifier
    results: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run the notifier's workers in the background (the fixture stops them)."""
        self.task = asyncio.create_task(self.notifier.run())
