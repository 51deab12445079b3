"""radar_hijack: Radar's hijack detector reports an ongoing hijack involving a watched AS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.core.measures import as_label
from monitor.core.radar_event import EventKind, RadarEvent
from monitor.rules.radar_events_base import EventRule
from monitor.validate import Section, positive_int

#: Radar's scale: 1-4 low, 5-7 mid, 8 and above high confidence; mid and up by default.
DEFAULT_MIN_CONFIDENCE = 5


@dataclass(frozen=True)
class RadarHijackRule(EventRule):
    """Fires once per ongoing Radar hijack event with at least `min_confidence`."""

    type = "radar_hijack"
    kind = EventKind.HIJACK
    min_confidence: int = DEFAULT_MIN_CONFIDENCE

    @classmethod
    def options(cls, section: Section) -> dict[str, Any]:
        return {
            **super().options(section),
            "min_confidence": section.get("min_confidence", positive_int, DEFAULT_MIN_CONFIDENCE),
        }

    def accepts(self, event: RadarEvent) -> bool:
        return (event.confidence or 0) >= self.min_confidence

    def threshold(self) -> float | None:
        return float(self.min_confidence)

    def describe(self, event: RadarEvent) -> str:
        victims = ", ".join(as_label(v, "") for v in event.victims) or "no AS named"
        return self.common(
            event,
            f"Radar reports a BGP hijack (confidence {event.confidence}, "
            f"{_level(event.confidence or 0)}) of {victims}",
        )


def _level(score: int) -> str:
    """Radar's own words for a confidence score."""
    return "high" if score >= 8 else "mid" if score >= 5 else "low"
