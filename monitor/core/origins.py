"""What an AS originates, as a RIB snapshot shows it: the program's own types, free of any wire
format (Radar's `pfx2as` and `moas` answers become these in `sources/radar_pfx2as.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.core.observation import RpkiStatus

#: Prefixes kept per AS by default: far above the 500 to 5,000 a mid-size network announces,
#: far below trouble (50,000 are a 5 MB answer).
MAX_PREFIXES = 50_000


@dataclass(frozen=True, slots=True)
class OriginatedPrefix:
    """One prefix (canonical text) announced by one origin AS, seen by `peer_count` peers."""

    prefix: str
    origin: int
    peer_count: int
    rpki: RpkiStatus


@dataclass(frozen=True, slots=True)
class AsPrefixes:
    """Every prefix one AS originates in one snapshot, each once, in the answer's order.

    `left_out` counts the prefixes beyond the source's cap that were dropped (0: none).
    """

    asn: int
    prefixes: tuple[OriginatedPrefix, ...]
    total_peers: int
    data_time: datetime | None
    left_out: int = 0


@dataclass(frozen=True, slots=True)
class MoasPrefix:
    """A prefix more than one AS originates (multi-origin AS), with each origin's counts."""

    prefix: str
    origins: tuple[OriginatedPrefix, ...]

    def others(self, asn: int) -> tuple[int, ...]:
        """The origins other than `asn`, in ascending order."""
        return tuple(sorted({o.origin for o in self.origins} - {asn}))


def sync_subject(asn: int, prefix: str) -> str:
    """The alert subject of a finding about `prefix` of synced `asn`: `AS64500 192.0.2.0/24`."""
    return f"AS{asn} {prefix}"


@dataclass(frozen=True, slots=True)
class StreamOrigination:
    """A stream saw `asn` originate `prefix`, which is not watched: one peer's route at
    `collector` over `as_path` (collector side first, `asn` last) at `seen_at`."""

    asn: int
    prefix: str
    as_path: tuple[int, ...]
    collector: str
    seen_at: datetime
