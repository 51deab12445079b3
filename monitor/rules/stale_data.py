"""stale_data: Radar's own `data_time` is older than `max_age` (Radar itself is behind)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.core.finding import Finding
from monitor.core.measures import duration
from monitor.core.observation import PrefixView
from monitor.core.target import Target
from monitor.rules.base import Rule
from monitor.validate import Section, parse_duration


@dataclass(frozen=True)
class StaleDataRule(Rule):
    """Fires for a prefix whose answer's `data_time` lags `now` by more than `max_age`."""

    type = "stale_data"
    max_age: float = 0.0

    @classmethod
    def options(cls, section: Section) -> dict[str, Any]:
        return {"max_age": section.get("max_age", parse_duration)}

    def evaluate(self, target: Target, view: PrefixView, now: datetime) -> Iterator[Finding]:
        if view.data_time is None:
            return
        age = (now - view.data_time).total_seconds()
        if age > self.max_age:
            yield self.finding(
                target,
                f"Radar data for {target.prefix} is {duration(age)} old (limit "
                f"{duration(self.max_age)}): Radar itself is behind",
                value=age,
                threshold=self.max_age,
            )
