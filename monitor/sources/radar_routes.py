"""Radar's realtime routes (`GET /radar/bgp/routes/realtime`): wire schema → `PrefixView`."""

from __future__ import annotations

from datetime import datetime

import msgspec

from monitor.core.measures import normalise_collector, normalise_prefix, parse_utc
from monitor.core.observation import (
    AsInfo,
    CollectorView,
    OriginView,
    PrefixView,
    RouteView,
    RpkiStatus,
)
from monitor.sources.base import ClosingSource
from monitor.sources.radar_client import RadarClient
from monitor.sources.radar_wire import DecodeError, Envelope, NotJsonError, WireError

PATH = "/radar/bgp/routes/realtime"


# The documented schema with every field optional, so that missing and extra fields are
# tolerated while wrong types are still reported with their JSON path.
class _WireRoute(msgspec.Struct, gc=False):
    as_path: tuple[int, ...] = ()
    collector: str = ""
    communities: tuple[str, ...] | None = None
    prefix: str = ""
    timestamp: str | None = None


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
    routes: list[_WireRoute] | None = None


class _WireEnvelope(msgspec.Struct):
    success: bool
    errors: list[WireError] | None = None
    result: _WireResult | None = None


_DECODER = msgspec.json.Decoder(_WireEnvelope)


def decode_routes(body: bytes, prefix: str) -> Envelope[PrefixView]:
    """Decode a realtime answer for `prefix`; raises DecodeError naming what did not fit."""
    try:
        wire = _DECODER.decode(body)
    except msgspec.ValidationError as exc:
        raise DecodeError(f"unexpected shape: {exc}") from None
    except msgspec.DecodeError as exc:
        raise NotJsonError(f"not valid JSON: {exc}") from None
    errors = tuple(wire.errors or ())
    if not wire.success or wire.result is None:
        return Envelope(success=wire.success, errors=errors, result=None)
    return Envelope(success=True, errors=errors, result=_view(wire.result, prefix))


class RadarRoutes(ClosingSource):
    """A `PrefixSource`: what Radar's realtime routes show for one prefix."""

    def __init__(self, client: RadarClient) -> None:
        self.client = client

    def __repr__(self) -> str:
        return f"RadarRoutes({self.client!r})"

    async def fetch(self, prefix: str) -> PrefixView:
        """Radar's realtime view of `prefix`, retrying what is worth retrying."""
        params = {"prefix": prefix, "format": "JSON"}
        return await self.client.get(PATH, params, lambda body: decode_routes(body, prefix))

    async def close(self) -> None:
        """Close the client's connections."""
        await self.client.close()


def _view(result: _WireResult, prefix: str) -> PrefixView:
    meta = result.meta
    origins = []
    for i, o in enumerate(meta.prefix_origins or ()):
        if o.total_peers < 0 or o.total_visible < 0:
            raise DecodeError(f"result.meta.prefix_origins[{i}]: negative peer count")
        visibility = o.visibility
        if visibility is None:
            visibility = o.total_visible / o.total_peers if o.total_peers else 0.0
        origins.append(
            OriginView(
                origin=o.origin,
                prefix=normalise_prefix(o.prefix) if o.prefix else prefix,
                rpki=RpkiStatus.parse(o.rpki_validation),
                visible_peers=o.total_visible,
                total_peers=o.total_peers,
                visibility=min(max(visibility, 0.0), 1.0),
            )
        )
    routes = tuple(
        RouteView(
            as_path=r.as_path,
            collector=normalise_collector(r.collector),
            communities=r.communities or (),
            prefix=r.prefix,
            timestamp=_ts(r.timestamp, f"result.routes[{i}].timestamp"),
        )
        for i, r in enumerate(result.routes or ())
    )
    collectors = tuple(
        CollectorView(
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
        a.asn: AsInfo(
            asn=a.asn,
            name=a.as_name or "",
            country=a.country_code or "",
            org_id=a.org_id or "",
            org_name=a.org_name or "",
        )
        for a in meta.asn_info or ()
    }
    return PrefixView(
        prefix=prefix,
        data_time=_ts(meta.data_time, "result.meta.data_time"),
        query_time=_ts(meta.query_time, "result.meta.query_time"),
        origins=tuple(origins),
        routes=routes,
        collectors=collectors,
        asn_info=asn_info,
    )


def _ts(raw: str | None, where: str) -> datetime | None:
    """A Radar timestamp (naive = UTC, `Z`, `+00:00`, 0-9 fraction digits) as aware UTC.

    Empty or null means the collector has no data for that stream, which is not an error.
    """
    if not raw:
        return None
    try:
        return parse_utc(raw)
    except ValueError:
        raise DecodeError(f"{where}: not an ISO 8601 timestamp: {raw[:64]!r}") from None
