"""Poll planning: spread prefixes over the interval and stretch it to fit the request budget."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.config import SourceConfig

#: Share of the budget the regular polls may plan for; the rest absorbs retries.
PLANNED_SHARE = 0.9


@dataclass(frozen=True)
class Plan:
    """How often each prefix is polled, and why."""

    prefixes: int
    interval: float  # the configured interval
    effective_interval: float  # stretched when the budget cannot cover the configured one
    requests_per_window: float  # what the configured interval would cost per budget window

    @property
    def stretched(self) -> bool:
        """Whether the budget forced a longer cycle than configured."""
        return self.effective_interval > self.interval

    @property
    def slot(self) -> float:
        """Seconds between two consecutive poll starts (polls are spread evenly)."""
        return self.effective_interval / max(self.prefixes, 1)

    def describe(self, source: SourceConfig) -> str:
        """One line for logs and `check` output."""
        cost = (
            f"{self.prefixes} prefixes every {self.interval:g}s cost "
            f"{self.requests_per_window:.0f} requests per {source.budget_window:g}s"
        )
        if not self.stretched:
            return f"{cost}, within the budget of {source.budget}"
        return (
            f"{cost}, over {PLANNED_SHARE:.0%} of the budget of {source.budget}: "
            f"stretching the cycle to {self.effective_interval:.1f}s"
        )


def plan(source: SourceConfig, prefixes: int) -> Plan:
    """The poll plan for `prefixes` under `source`'s interval and budget."""
    cost = prefixes * source.budget_window / source.interval
    allowed = source.budget * PLANNED_SHARE
    effective = source.interval
    if source.type == "radar" and cost > allowed:
        effective = prefixes * source.budget_window / allowed
    return Plan(prefixes, source.interval, effective, cost)
