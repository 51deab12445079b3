"""radar_leak: Radar's route-leak detector reports an ongoing leak involving a watched AS."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.core.radar_event import EventKind, RadarEvent
from monitor.rules.radar_events_base import EventRule


@dataclass(frozen=True)
class RadarLeakRule(EventRule):
    """Fires once per Radar route-leak event until Radar reports it finished."""

    type = "radar_leak"
    kind = EventKind.LEAK

    def describe(self, event: RadarEvent) -> str:
        detail = ""
        if len(event.segment) == 3:  # Radar's triple: learnt from, leaked by, leaked to
            detail = f" (learnt from AS{event.segment[0]}, leaked to AS{event.segment[2]})"
        return self.common(event, "Radar reports a route leak", detail)
