"""Decoded Radar realtime-routes answers: typed, frozen value objects and the tolerant decoder."""

from __future__ import annotations

import enum
import functools
import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec


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


class DecodeError(ValueError):
    """A Radar body that does not fit the documented schema; the message names the place."""


class NotJsonError(DecodeError):
    """A body that is not JSON at all (an HTML error page, a truncated answer)."""


@dataclass(frozen=True, slots=True)
class PrefixOrigin:
    """One origin AS announcing the prefix, as counted over all collector peers."""

    origin: int
    prefix: str
    rpki: RpkiStatus
    visible_peers: int
    total_peers: int
    visibility: float


class Route(msgspec.Struct, frozen=True, gc=False):
    """One route as seen by a collector; `as_path` runs from the collector side to the origin.

    Decoded straight from the wire (answers hold up to ~2,000 routes, so no copy is made);
    the collector name and timestamp are normalised on access, and timestamps are validated
    when the answer is decoded.
    """

    as_path: tuple[int, ...] = ()
    raw_collector: str = msgspec.field(default="", name="collector")
    raw_communities: tuple[str, ...] | None = msgspec.field(default=None, name="communities")
    prefix: str = ""
    raw_timestamp: str | None = msgspec.field(default=None, name="timestamp")

    @property
    def origin(self) -> int | None:
        """The last AS of the path (prepending repeats it, so the last element is the origin)."""
        return self.as_path[-1] if self.as_path else None

    @property
    def collector(self) -> str:
        """The collector's normalised name (`rrc01`, `route-views2`)."""
        return normalise_collector(self.raw_collector)

    @property
    def communities(self) -> tuple[str, ...]:
        """BGP communities (empty when Radar sent none or null)."""
        return self.raw_communities or ()

    @property
    def timestamp(self) -> datetime | None:
        """When the route last changed (UTC), or None when Radar did not say."""
        return parse_timestamp(self.raw_timestamp)


@dataclass(frozen=True, slots=True)
class Collector:
    """Freshness and peer counts of one route collector (RIPE RIS `rrcNN` or RouteViews)."""

    name: str
    realtime_ts: datetime | None
    rib_ts: datetime | None
    updates_ts: datetime | None
    peers: int
    peers_v4: int
    peers_v6: int

    def timestamp(self, stream: str) -> datetime | None:
        """The latest timestamp of `stream` (realtime, updates or rib)."""
        ts: datetime | None = {
            "realtime": self.realtime_ts,
            "updates": self.updates_ts,
            "rib": self.rib_ts,
        }[stream]
        return ts


@dataclass(frozen=True, slots=True)
class AsnInfo:
    """Registry details of an AS, as Radar attaches them to the answer."""

    asn: int
    name: str
    country: str
    org_id: str = ""
    org_name: str = ""


@dataclass(frozen=True, slots=True)
class RadarAnswer:
    """Everything Radar said about one prefix at one moment."""

    prefix: str
    data_time: datetime | None
    query_time: datetime | None
    origins: tuple[PrefixOrigin, ...]
    routes: tuple[Route, ...]
    collectors: tuple[Collector, ...]
    asn_info: dict[int, AsnInfo] = field(default_factory=dict)

    @property
    def total_peers(self) -> int:
        """Peers that could have seen the prefix (the largest count any origin reports)."""
        return max((o.total_peers for o in self.origins), default=0)

    def as_name(self, asn: int) -> str:
        """The AS name Radar gave for `asn`, or an empty string."""
        info = self.asn_info.get(asn)
        return info.name if info else ""


# Wire structs: the documented schema with every field optional, so that missing and extra
# fields are tolerated while wrong types are still reported with their JSON path.
class _WireOrigin(msgspec.Struct):
    origin: int
    prefix: str = ""
    rpki_validation: str | None = None
    total_peers: int = 0
    total_visible: int = 0
    visibility: float | None = None


class _WireCollector(msgspec.Struct):
    collector: str
    latest_realtime_ts: str | None = None
    latest_rib_ts: str | None = None
    latest_updates_ts: str | None = None
    peers_count: int = 0
    peers_v4_count: int = 0
    peers_v6_count: int = 0


class _WireAsn(msgspec.Struct):
    asn: int
    as_name: str | None = ""
    country_code: str | None = ""
    org_id: str | None = ""
    org_name: str | None = ""


class _WireMeta(msgspec.Struct):
    asn_info: list[_WireAsn] | None = None
    collectors: list[_WireCollector] | None = None
    data_time: str | None = None
    prefix_origins: list[_WireOrigin] | None = None
    query_time: str | None = None


class _WireResult(msgspec.Struct):
    meta: _WireMeta = msgspec.field(default_factory=_WireMeta)
    routes: tuple[Route, ...] | None = None


class WireError(msgspec.Struct):
    """One entry of the envelope's `errors` list."""

    code: int | None = None
    message: str = ""
    error_chain: list[WireError] | None = None


class _WireEnvelope(msgspec.Struct):
    success: bool
    errors: list[WireError] | None = None
    result: _WireResult | None = None


@dataclass(frozen=True, slots=True)
class Envelope:
    """The Cloudflare v4 envelope around a realtime answer."""

    success: bool
    errors: tuple[WireError, ...]
    answer: RadarAnswer | None


_DECODER = msgspec.json.Decoder(_WireEnvelope)


@functools.lru_cache(maxsize=4096)
def parse_timestamp(raw: str | None) -> datetime | None:
    """Parse a Radar timestamp (naive = UTC, `Z`, `+00:00`, 0-9 fraction digits) to aware UTC.

    Empty or null means the collector has no data for that stream, which is not an error.
    """
    if not raw:
        return None
    try:
        ts = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise DecodeError(f"not an ISO 8601 timestamp: {raw[:64]!r}") from None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


@functools.lru_cache(maxsize=1024)
def normalise_collector(raw: str) -> str:
    """`RRC01` and `rrc25.ripe.net` become `rrc01` and `rrc25`; RouteViews names are kept."""
    name = raw.strip().lower()
    return name.removesuffix(".ripe.net")


def normalise_prefix(raw: str) -> str:
    """Canonical text of a prefix (`2605:de00:bb:0:0:0:0:0/48` → `2605:de00:bb::/48`)."""
    try:
        return str(ipaddress.ip_network(raw.strip(), strict=False))
    except ValueError:
        return raw


def decode_envelope(body: bytes, prefix: str) -> Envelope:
    """Decode a realtime answer for `prefix`; raises DecodeError naming what did not fit."""
    try:
        wire = _DECODER.decode(body)
    except msgspec.ValidationError as exc:
        raise DecodeError(f"unexpected shape: {exc}") from None
    except msgspec.DecodeError as exc:
        raise NotJsonError(f"not valid JSON: {exc}") from None
    errors = tuple(wire.errors or ())
    if not wire.success or wire.result is None:
        return Envelope(success=wire.success, errors=errors, answer=None)
    return Envelope(success=True, errors=errors, answer=_build_answer(wire.result, prefix))


def _build_answer(result: _WireResult, prefix: str) -> RadarAnswer:
    meta = result.meta
    origins = []
    for i, o in enumerate(meta.prefix_origins or ()):
        if o.total_peers < 0 or o.total_visible < 0:
            raise DecodeError(f"result.meta.prefix_origins[{i}]: negative peer count")
        visibility = o.visibility
        if visibility is None:
            visibility = o.total_visible / o.total_peers if o.total_peers else 0.0
        origins.append(
            PrefixOrigin(
                origin=o.origin,
                prefix=normalise_prefix(o.prefix) if o.prefix else prefix,
                rpki=RpkiStatus.parse(o.rpki_validation),
                visible_peers=o.total_visible,
                total_peers=o.total_peers,
                visibility=min(max(visibility, 0.0), 1.0),
            )
        )
    routes = result.routes or ()
    for i, route in enumerate(routes):
        try:
            parse_timestamp(route.raw_timestamp)
        except DecodeError as exc:
            raise DecodeError(f"result.routes[{i}].timestamp: {exc}") from None
    collectors = tuple(
        Collector(
            name=normalise_collector(c.collector),
            realtime_ts=_ts(
                c.latest_realtime_ts, f"result.meta.collectors[{i}].latest_realtime_ts"
            ),
            rib_ts=_ts(c.latest_rib_ts, f"result.meta.collectors[{i}].latest_rib_ts"),
            updates_ts=_ts(c.latest_updates_ts, f"result.meta.collectors[{i}].latest_updates_ts"),
            peers=c.peers_count,
            peers_v4=c.peers_v4_count,
            peers_v6=c.peers_v6_count,
        )
        for i, c in enumerate(meta.collectors or ())
    )
    asn_info = {
        a.asn: AsnInfo(
            asn=a.asn,
            name=a.as_name or "",
            country=a.country_code or "",
            org_id=a.org_id or "",
            org_name=a.org_name or "",
        )
        for a in meta.asn_info or ()
    }
    return RadarAnswer(
        prefix=prefix,
        data_time=_ts(meta.data_time, "result.meta.data_time"),
        query_time=_ts(meta.query_time, "result.meta.query_time"),
        origins=tuple(origins),
        routes=routes,
        collectors=collectors,
        asn_info=asn_info,
    )


def _ts(raw: str | None, where: str) -> datetime | None:
    try:
        return parse_timestamp(raw)
    except DecodeError as exc:
        raise DecodeError(f"{where}: {exc}") from None


def to_jsonable(value: Any) -> Any:
    """Turn model objects into plain JSON types (datetimes as ISO 8601 with `Z`)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value
