"""visibility_below: too few peers see the prefix through its expected origins."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.core.finding import Finding
from monitor.core.measures import expected_visibility, percent
from monitor.core.observation import PrefixView
from monitor.core.target import Target
from monitor.rules.base import Rule
from monitor.validate import Section, ratio


@dataclass(frozen=True)
class VisibilityBelowRule(Rule):
    """Fires when the expected-origin visibility is below `threshold` (a withdrawal or leak)."""

    type = "visibility_below"
    on_snapshot = True
    threshold: float = 0.0

    @classmethod
    def options(cls, section: Section) -> dict[str, Any]:
        return {"threshold": section.get("threshold", ratio)}

    def evaluate(self, target: Target, view: PrefixView, now: datetime) -> Iterator[Finding]:
        value, visible, total = expected_visibility(target, view)
        if value < self.threshold:
            seen = f"{visible}/{total} peers" if total else "no peer at all"
            yield self.finding(
                target,
                f"{target.prefix} is visible to {percent(value)} of peers ({seen}) through its "
                f"expected origins, below {percent(self.threshold)}",
                value=value,
                threshold=self.threshold,
            )
