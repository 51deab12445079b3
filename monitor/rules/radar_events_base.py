"""What the two rules on Radar's own detectors share: the poll interval, and one alert per event.

They judge `RadarEvent`s, not views: `evaluate` finds nothing in a prefix's view, and
`judge_events` (called by the events poller) finds the ongoing events worth an alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from monitor.core.finding import Finding
from monitor.core.measures import as_label, utc_text
from monitor.core.observation import PrefixView
from monitor.core.radar_event import EventKind, RadarEvent
from monitor.core.target import Target
from monitor.rules.base import Rule
from monitor.validate import Section, at_least_a_second

#: How often Radar's detectors are asked by default: their events are minutes apart at best.
DEFAULT_EVENTS_INTERVAL = 300.0


@dataclass(frozen=True)
class EventRule(Rule):
    """A rule on one of Radar's detectors: one alert per ongoing event it accepts."""

    kind: ClassVar[EventKind]
    per_prefix = False
    events_interval: float = DEFAULT_EVENTS_INTERVAL

    @classmethod
    def options(cls, section: Section) -> dict[str, Any]:
        return {
            "events_interval": section.get(
                "events_interval", at_least_a_second, DEFAULT_EVENTS_INTERVAL
            )
        }

    def evaluate(self, target: Target, view: PrefixView, now: datetime) -> Iterator[Finding]:
        """Nothing: a prefix's view says nothing about Radar's detectors."""
        return iter(())

    def judge_events(self, events: Iterable[RadarEvent]) -> Iterator[Finding]:
        """One finding per ongoing event of this rule's kind that it accepts."""
        for event in events:
            if event.kind is self.kind and event.ongoing and self.accepts(event):
                yield Finding(
                    rule=self.name,
                    type=self.type,
                    severity=self.severity,
                    prefix=None,
                    message=self.describe(event),
                    origin=None,
                    value=float(event.confidence) if event.confidence is not None else None,
                    threshold=self.threshold(),
                    labels=dict(self.labels),
                    event=f"{event.kind.value} {event.id}",
                )

    def accepts(self, event: RadarEvent) -> bool:
        """Whether the event is worth an alert (subclasses narrow it)."""
        return True

    def threshold(self) -> float | None:
        """The finding's threshold (subclasses with one say it)."""
        return None

    def describe(self, event: RadarEvent) -> str:
        """The message: Radar's classification, plainly said to be Radar's."""
        raise NotImplementedError

    @staticmethod
    def common(event: RadarEvent, what: str, detail: str = "") -> str:
        """`what` by the AS, the prefixes, the start and the link, and whose judgement it is."""
        return (
            f"{what} by {as_label(event.asn, event.asn_name)}{detail}: {event.prefix_text()}; "
            f"since {utc_text(event.started)}. This is Radar's classification (event "
            f"{event.id}), not radar-monitor's own judgement: {event.url}"
        )
