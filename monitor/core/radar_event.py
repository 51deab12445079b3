"""What Radar's own detectors report: a hijack or route-leak event, in the program's terms."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

#: Bounds of one event as a source hands it on (more is cut where it comes in).
MAX_EVENT_PREFIXES = 50
MAX_EVENT_ASNS = 50
#: How many prefixes a message names before it counts the rest.
SHOWN_PREFIXES = 5


class EventKind(enum.StrEnum):
    """Which of Radar's detectors reported the event (also the metrics' `kind` label)."""

    HIJACK = "hijack"
    LEAK = "leak"


@dataclass(frozen=True, slots=True)
class RadarEvent:
    """One event of Radar's hijack or leak detector, as its latest answer describes it.

    `asn` is the hijacker (hijacks) or the leaker (leaks); `victims` the ASes Radar names as
    hijacked (empty for leaks); `segment` the leak's AS triple (from, by, to; empty for
    hijacks); `confidence` Radar's score (1-4 low, 5-7 mid, 8+ high; None for leaks).
    """

    kind: EventKind
    id: int
    asn: int
    prefixes: tuple[str, ...]
    started: datetime | None
    ongoing: bool
    asn_name: str = ""
    victims: tuple[int, ...] = ()
    confidence: int | None = None
    segment: tuple[int, ...] = ()
    #: Prefixes beyond those kept: past MAX_EVENT_PREFIXES, or all of a leak's (Radar only
    #: counts those).
    more_prefixes: int = 0

    @property
    def url(self) -> str:
        """Radar's routing page of the hijacker or leaker AS, whose tables list this event."""
        return f"https://radar.cloudflare.com/routing/as{self.asn}"

    def prefix_text(self) -> str:
        """`192.0.2.0/24, 198.51.100.0/24 and 3 more`, or `3 prefixes (not listed by Radar)`."""
        shown = list(self.prefixes[:SHOWN_PREFIXES])
        rest = len(self.prefixes) - len(shown) + self.more_prefixes
        if not shown:
            return f"{rest} prefixes (not listed by Radar)" if rest else "no prefix listed"
        return ", ".join(shown) + (f" and {rest} more" if rest else "")

    def involves(self, asns: frozenset[int]) -> bool:
        """Whether any of `asns` caused, suffered or carried the event."""
        return bool(asns & {self.asn, *self.victims, *self.segment})
