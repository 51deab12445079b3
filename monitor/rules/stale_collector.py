"""stale_collector: a route collector's feed is older than `max_age`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.model import RadarAnswer, normalise_collector
from monitor.rules.base import Finding, Rule, Target
from monitor.validate import Section, one_of, parse_duration, string_list


def age_text(seconds: float) -> str:
    """3725 → `1h2m`; 95 → `1m35s`."""
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60}m"
    if s >= 60:
        return f"{s // 60}m{s % 60}s"
    return f"{s}s"


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

    def evaluate(self, target: Target, answer: RadarAnswer, now: datetime) -> Iterator[Finding]:
        for c in answer.collectors:
            if self.collectors and c.name not in self.collectors:
                continue
            ts = c.timestamp(self.stream)
            if ts is None:
                continue
            age = (now - ts).total_seconds()
            if age > self.max_age:
                yield self.finding(
                    target,
                    f"collector {c.name} {self.stream} data is {age_text(age)} old "
                    f"(limit {age_text(self.max_age)})",
                    collector=c.name,
                    value=age,
                    threshold=self.max_age,
                )
