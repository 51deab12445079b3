"""Radar's realtime routes (`GET /radar/bgp/routes/realtime`): wire schema → `PrefixView`."""

from __future__ import annotations

import functools
import ipaddress
from ipaddress import IPv4Network, IPv6Network
from typing import Annotated

import msgspec

from monitor.core.measures import clip, normalise_collector, parse_utc
from monitor.core.observation import (
    MAX_ASN,
    MAX_COUNTRY,
    MAX_LABEL,
    MAX_NAME,
    AsInfo,
    CollectorView,
    OriginView,
    PrefixView,
    RouteView,
    RpkiStatus,
)
from monitor.sources.base import ClosingSource
from monitor.sources.radar_client import RadarClient
from monitor.sources.radar_wire import (
    DecodeError,
    Envelope,
    WireError,
    bad_timestamp,
    decode_wire,
    wire_timestamp,
)

PATH = "/radar/bgp/routes/realtime"
#: An AS number as the schema must give it (origins, AS paths, `asn_info`).
Asn = Annotated[int, msgspec.Meta(ge=0, le=MAX_ASN)]
#: `ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128` and some room: no prefix is longer.
_LONGEST_PREFIX = 64
#: A BGP community as the strict decoder takes it (the longest, a large one, has 32 characters).
_Community = Annotated[str, msgspec.Meta(max_length=MAX_LABEL)]
_RPKI_SEVERITY = {RpkiStatus.VALID: 0, RpkiStatus.UNKNOWN: 1, RpkiStatus.INVALID: 2}


# The documented schema with every field optional, so that missing and extra fields are
# tolerated while wrong types are still reported with their JSON path.
class _WireRoute(msgspec.Struct, gc=False):
    as_path: tuple[Asn, ...] = ()
    collector: str = ""
    communities: tuple[_Community, ...] | None = None
    prefix: str = ""
    timestamp: str | None = None


class _WireOrigin(msgspec.Struct):
    origin: Asn
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
    asn: Asn
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
    routes: tuple[_WireRoute, ...] | None = None


class _WireEnvelope(msgspec.Struct):
    success: bool
    errors: list[WireError] | None = None
    result: _WireResult | None = None


# The same schema with communities of any length, for the rare body the strict decoder
# refuses; `_routes` then cuts them. Bounding them while decoding costs nothing, while checking
# thousands of them in Python made decoding 15% slower.
class _LaxRoute(_WireRoute, gc=False):
    communities: tuple[str, ...] | None = None


class _LaxResult(_WireResult):
    routes: tuple[_LaxRoute, ...] | None = None


class _LaxEnvelope(_WireEnvelope):
    result: _LaxResult | None = None


_DECODER = msgspec.json.Decoder(_WireEnvelope)
_LAX_DECODER = msgspec.json.Decoder(_LaxEnvelope)


def decode_routes(body: bytes, prefix: str) -> Envelope[PrefixView]:
    """Decode a realtime answer for `prefix`; raises DecodeError naming what did not fit."""
    wire = decode_wire(_wire, body, "realtime answer")
    errors = tuple(wire.errors or ())
    if not wire.success or wire.result is None:
        return Envelope(success=wire.success, errors=errors, result=None)
    return Envelope(success=True, errors=errors, result=_view(wire.result, prefix))


def _wire(body: bytes) -> _WireEnvelope:
    """The envelope, decoded strictly, or laxly if only that fits (then any misfit is real)."""
    try:
        return _DECODER.decode(body)
    except msgspec.ValidationError:
        return _LAX_DECODER.decode(body)


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
    """The wire result as the core's view of `prefix`, checked and bounded."""
    meta = result.meta
    same = _SamePrefix(prefix)
    return PrefixView(
        prefix=prefix,
        data_time=wire_timestamp(meta.data_time, "result.meta.data_time"),
        query_time=wire_timestamp(meta.query_time, "result.meta.query_time"),
        origins=_origins(meta.prefix_origins or [], same),
        routes=_routes(result.routes or (), same, lax=isinstance(result, _LaxResult)),
        collectors=_shared_list(
            tuple(_collector(i, c) for i, c in enumerate(meta.collectors or ()))
        ),
        asn_info={
            a.asn: AsInfo(
                asn=a.asn,
                name=clip(a.as_name or "", MAX_NAME),
                country=clip(a.country_code or "", MAX_COUNTRY),
                org_id=clip(a.org_id or "", MAX_LABEL),
                org_name=clip(a.org_name or "", MAX_NAME),
            )
            for a in meta.asn_info or ()
        },
    )


class _SamePrefix:
    """Refuses an answer that names another prefix than the one asked about.

    Prefixes are compared as networks, so `2001:db8:0:0::/32` is `2001:db8::/32`; an empty
    `prefix` field is a field left out, which the schema tolerates.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._network = _network(prefix)
        #: Texts already found to name `prefix` (routes repeat the same text thousands of times).
        self.same = {prefix, ""}

    def check(self, raw: str, where: str) -> None:
        """DecodeError naming both prefixes unless `raw` is the asked-about prefix."""
        if raw in self.same:
            return
        network = _network(raw)
        if network is None or network != self._network:
            shown = str(network) if network is not None else repr(clip(raw, MAX_LABEL))
            raise DecodeError(f"{where}: the answer is for {shown}, not for {self.prefix}")
        self.same.add(raw)


def _network(text: str) -> IPv4Network | IPv6Network | None:
    """The network `text` names (host bits allowed), None if it names none."""
    text = text.strip()
    if len(text) > _LONGEST_PREFIX:  # not a prefix, and not worth parsing
        return None
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _origins(wire: list[_WireOrigin], same: _SamePrefix) -> tuple[OriginView, ...]:
    """One view per origin AS, in the order the answer first lists each."""
    merged: dict[int, OriginView] = {}
    for i, o in enumerate(wire):
        if o.total_peers < 0 or o.total_visible < 0:
            raise DecodeError(f"result.meta.prefix_origins[{i}]: negative peer count")
        same.check(o.prefix, f"result.meta.prefix_origins[{i}].prefix")
        visibility = o.visibility
        if visibility is None:
            visibility = o.total_visible / o.total_peers if o.total_peers else 0.0
        view = OriginView(
            origin=o.origin,
            prefix=same.prefix,
            rpki=RpkiStatus.parse(o.rpki_validation),
            visible_peers=o.total_visible,
            total_peers=o.total_peers,
            visibility=min(max(visibility, 0.0), 1.0),
        )
        seen = merged.get(o.origin)
        merged[o.origin] = view if seen is None else _merged(seen, view)
    return tuple(merged.values())


def _merged(a: OriginView, b: OriginView) -> OriginView:
    """One origin listed twice, counted the way Radar counts an origin: once.

    A peer that sees the prefix through this origin is one peer however often the answer
    repeats the origin, so each count is the largest any copy reports, never their sum (three
    copies at 38% once summed to 100%, and low visibility never fired). Copies that disagree
    on RPKI keep the worst status: a repeated entry must not hide an invalid origin.
    """
    return OriginView(
        origin=a.origin,
        prefix=a.prefix,
        rpki=max(a.rpki, b.rpki, key=_RPKI_SEVERITY.__getitem__),
        visible_peers=max(a.visible_peers, b.visible_peers),
        total_peers=max(a.total_peers, b.total_peers),
        visibility=max(a.visibility, b.visibility),
    )


def _routes(wire: tuple[_WireRoute, ...], same: _SamePrefix, *, lax: bool) -> tuple[RouteView, ...]:
    """The routes as views; `lax` when their communities still need cutting."""
    # The hot loop of decoding (thousands of routes): names and prefixes are checked once per
    # distinct text, and a place is only spelt out for an error.
    names = {raw: _collector_name(raw) for raw in {r.collector for r in wire}}
    routes = []
    for i, r in enumerate(wire):
        if r.prefix not in same.same:
            same.check(r.prefix, f"result.routes[{i}].prefix")
        communities = r.communities or ()
        if lax and communities:
            communities = tuple(clip(c, MAX_LABEL) for c in communities)
        try:
            timestamp = parse_utc(r.timestamp) if r.timestamp else None
        except ValueError:
            raise DecodeError(
                bad_timestamp(r.timestamp or "", f"result.routes[{i}].timestamp")
            ) from None
        routes.append(
            RouteView(
                as_path=r.as_path,
                collector=names[r.collector],
                communities=communities,
                prefix=same.prefix,
                timestamp=timestamp,
            )
        )
    return tuple(routes)


def _collector(i: int, c: _WireCollector) -> CollectorView:
    """Collector `i` of the answer's meta as a view."""
    where = f"result.meta.collectors[{i}]"
    return _shared(
        CollectorView(
            name=_collector_name(c.collector),
            realtime_ts=wire_timestamp(c.latest_realtime_ts, f"{where}.latest_realtime_ts"),
            rib_ts=wire_timestamp(c.latest_rib_ts, f"{where}.latest_rib_ts"),
            updates_ts=wire_timestamp(c.latest_updates_ts, f"{where}.latest_updates_ts"),
            peers=c.peers_count,
            peers_v4=c.peers_v4_count,
            peers_v6=c.peers_v6_count,
        )
    )


@functools.lru_cache(maxsize=1024)
def _shared(view: CollectorView) -> CollectorView:
    """One object for each distinct collector view. Every prefix keeps its last view with its
    collectors (50: 500,000 objects for 10,000 prefixes), and each full pass of the garbage
    collector scanned them all, the loop stalled meanwhile; answers of the same minutes list
    the same collectors."""
    return view


@functools.lru_cache(maxsize=256)
def _shared_list(views: tuple[CollectorView, ...]) -> tuple[CollectorView, ...]:
    """One tuple for each distinct list of collector views: 10,000 prefixes kept 10,000 copies
    of the same ~50 pointers (4.5 MiB) when answers of the same minutes list the same ones."""
    return views


def _collector_name(raw: str) -> str:
    """The normalised name, at most MAX_LABEL characters.

    Cut before normalising as well: the normaliser's cache must not keep a huge name alive.
    """
    return clip(normalise_collector(raw.strip()[: 2 * MAX_LABEL]), MAX_LABEL)
