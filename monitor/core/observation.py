"""What sources observe, in the program's own terms: typed, frozen, and free of any wire format.

A source (Radar's realtime routes, a replay, later a stream) turns what it receives into these
values; rules, the lifecycle and every sink read only these.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

import msgspec

#: The longest texts a view holds. Sources cut longer ones where they come in (with an
#: ellipsis), so that one hostile field cannot swell every page, message and label it reaches.
MAX_NAME = 256  # AS and organisation names
MAX_LABEL = 64  # collector names, organisation ids, BGP communities
MAX_COUNTRY = 8  # registry country codes (two letters when well formed)
#: AS numbers are 32-bit (RFC 6793); anything outside 0..MAX_ASN is not an AS.
MAX_ASN = 2**32 - 1


class RpkiStatus(enum.StrEnum):
    """RPKI validation of one prefix-origin pair, normalised from any spelling the sources use."""

    VALID = "valid"
    INVALID = "invalid"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, raw: str | None) -> RpkiStatus:
        """Map `VALID`, `invalid_asn`, `not-found`, `NotFound`… onto the three statuses."""
        text = (raw or "").strip().lower().replace("-", "_")
        if text == "valid":
            return cls.VALID
        if text == "invalid" or text.startswith("invalid_"):
            return cls.INVALID
        return cls.UNKNOWN


class ErrorKind(enum.StrEnum):
    """Why a source produced no view: the label of request metrics, logs and replayed errors."""

    TRANSIENT = "transient"
    RATE_LIMITED = "rate_limited"
    AUTH = "auth"
    API = "api"
    BAD_ANSWER = "bad_answer"
    TOO_LARGE = "too_large"
    #: An unexpected exception inside the program (a bug), not something the source said.
    INTERNAL = "error"


@dataclass(frozen=True, slots=True)
class OriginView:
    """One origin AS announcing the prefix, as counted over all collector peers."""

    origin: int
    prefix: str
    rpki: RpkiStatus
    visible_peers: int
    total_peers: int
    visibility: float


class RouteView(msgspec.Struct, frozen=True, gc=False):
    """One route as a collector peer sees it; `as_path` runs from the collector side to the origin.

    A struct rather than a dataclass: answers hold thousands of routes, and building these is
    the hot part of turning a wire answer into a view.
    """

    as_path: tuple[int, ...] = ()
    collector: str = ""
    communities: tuple[str, ...] = ()
    prefix: str = ""
    timestamp: datetime | None = None

    @property
    def origin(self) -> int | None:
        """The last AS of the path (prepending repeats it, so the last element is the origin)."""
        return self.as_path[-1] if self.as_path else None


STREAMS = ("realtime", "updates", "rib")


@dataclass(frozen=True, slots=True)
class CollectorView:
    """Freshness and peer counts of one route collector (RIPE RIS `rrcNN` or RouteViews)."""

    name: str
    realtime_ts: datetime | None
    rib_ts: datetime | None
    updates_ts: datetime | None
    peers: int
    peers_v4: int
    peers_v6: int

    def timestamp(self, stream: str) -> datetime | None:
        """The latest timestamp of `stream` (one of `STREAMS`)."""
        ts: datetime | None = {
            "realtime": self.realtime_ts,
            "updates": self.updates_ts,
            "rib": self.rib_ts,
        }[stream]
        return ts


@dataclass(frozen=True, slots=True)
class AsInfo:
    """Registry details of an AS, as the source attaches them to a view."""

    asn: int
    name: str
    country: str
    org_id: str = ""
    org_name: str = ""


@dataclass(frozen=True, slots=True)
class PrefixView:
    """Everything one source said about one prefix at one moment.

    A `snapshot` view comes from a RIB snapshot of the prefix's AS: origins, RPKI status and
    peer counts, but no routes nor collectors, and hours old; only the rules that make sense
    on it judge it.
    """

    prefix: str
    data_time: datetime | None
    query_time: datetime | None
    origins: tuple[OriginView, ...]
    routes: tuple[RouteView, ...]
    collectors: tuple[CollectorView, ...]
    asn_info: dict[int, AsInfo] = field(default_factory=dict)
    snapshot: bool = False

    @property
    def total_peers(self) -> int:
        """Peers that could have seen the prefix (the largest count any origin reports)."""
        return max((o.total_peers for o in self.origins), default=0)

    def as_name(self, asn: int) -> str:
        """The AS name the source gave for `asn`, or an empty string."""
        info = self.asn_info.get(asn)
        return info.name if info else ""

    def country(self, asn: int) -> str:
        """The registry country of `asn`, or an empty string."""
        info = self.asn_info.get(asn)
        return info.country if info else ""


@dataclass(frozen=True, slots=True)
class FetchFailure:
    """A source that was asked about `prefix` and could not say anything."""

    prefix: str
    kind: ErrorKind
    message: str


#: What a source hands on to the pipeline.
Observation = PrefixView | FetchFailure
