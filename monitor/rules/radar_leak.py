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
        segment = ""
        if len(event.segment) == 3:  # Radar's triple: learnt from, leaked by, leaked to
            segment = " from AS{} by AS{} to AS{}".format(*event.segment)
        return self.common(event, f"Radar reports a route leak{segment}")
