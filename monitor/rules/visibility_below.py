"""visibility_below: too few peers see the prefix through its expected origins."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.model import RadarAnswer
from monitor.rules.base import Finding, Rule, Target, percent
from monitor.validate import Section, ratio


def expected_visibility(target: Target, answer: RadarAnswer) -> tuple[float, int, int]:
    """(ratio, visible peers, total peers) through the expected origins (all, if none are set).

    A prefix seen by nobody has visibility 0: empty answers are data, not errors.
    """
    total = answer.total_peers
    visible = sum(
        o.visible_peers for o in answer.origins if not target.origins or o.origin in target.origins
    )
    return (min(visible / total, 1.0) if total else 0.0), visible, total


@dataclass(frozen=True)
class VisibilityBelowRule(Rule):
    """Fires when the expected-origin visibility is below `threshold` (a withdrawal or leak)."""

    type = "visibility_below"
    threshold: float = 0.0

    @classmethod
    def options(cls, section: Section) -> dict[str, Any]:
        return {"threshold": section.get("threshold", ratio)}

    def evaluate(self, target: Target, answer: RadarAnswer, now: datetime) -> Iterator[Finding]:
        value, visible, total = expected_visibility(target, answer)
        if value < self.threshold:
            seen = f"{visible}/{total} peers" if total else "no peer at all"
            yield self.finding(
                target,
                f"{target.prefix} is visible to {percent(value)} of peers ({seen}) through its "
                f"expected origins, below {percent(self.threshold)}",
                value=value,
                threshold=self.threshold,
            )
