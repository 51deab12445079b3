"""stale_collector: a route collector's feed is older than `max_age`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.core.finding import Finding
from monitor.core.measures import duration, normalise_collector
from monitor.core.observation import PrefixView
from monitor.core.target import Target
from monitor.rules.base import Rule
from monitor.validate import Section, one_of, parse_duration, string_list


@dataclass(frozen=True)
class StaleCollectorRule(Rule):
    """Fires once per collector (not per prefix) whose `stream` timestamp is too old.

    A collector with no timestamp for that stream is not stale: it simply has no such feed.
    """

    type = "stale_collector"
    per_prefix = False
    max_age: float = 0.0
    stream: str = "realtime"
    collectors: frozenset[str] = frozenset()

    @classmethod
    def options(cls, section: Section) -> dict[str, Any]:
        names = section.get("collectors", string_list, ())
        return {
            "max_age": section.get("max_age", parse_duration),
            "stream": section.get("stream", one_of("realtime", "updates", "rib"), "realtime"),
            "collectors": frozenset(normalise_collector(n) for n in names),
        }

    def evaluate(self, target: Target, view: PrefixView, now: datetime) -> Iterator[Finding]:
        for c in view.collectors:
            if self.collectors and c.name not in self.collectors:
                continue
            ts = c.timestamp(self.stream)
            if ts is None:
                continue
            age = (now - ts).total_seconds()
            if age > self.max_age:
                yield self.finding(
                    target,
                    f"collector {c.name} {self.stream} data is {duration(age)} old "
                    f"(limit {duration(self.max_age)})",
                    collector=c.name,
                    value=age,
                    threshold=self.max_age,
                )
