"""Radar's prefix-to-origin answers (`GET /radar/bgp/routes/pfx2as` and `moas`, by origin AS)
→ `AsPrefixes` and `MoasPrefix`, checked, normalised and capped.

Both come from RIB snapshots (hours old). Cloudflare's API reference documents no `page` or
`per_page` for either, so one request answers for a whole AS; the answer's size is bounded by
the client's `max_body_bytes`, and the prefixes kept by `max_prefixes`.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, TypeVar

import msgspec

from monitor.core.measures import clip
from monitor.core.observation import MAX_LABEL, RpkiStatus
from monitor.core.origins import MAX_PREFIXES, AsPrefixes, MoasPrefix, OriginatedPrefix
from monitor.sources.base import ClosingSource
from monitor.sources.radar_client import RadarClient
from monitor.sources.radar_routes import Asn, RadarRoutes
from monitor.sources.radar_wire import (
    DecodeError,
    Envelope,
    WireError,
    decode_wire,
    wire_timestamp,
)

PFX2AS_PATH = "/radar/bgp/routes/pfx2as"
MOAS_PATH = "/radar/bgp/routes/moas"
#: `ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128` and some room: no prefix is longer.
_Prefix = Annotated[str, msgspec.Meta(max_length=64)]
_Count = Annotated[int, msgspec.Meta(ge=0)]
_RPKI_SEVERITY = {RpkiStatus.VALID: 0, RpkiStatus.UNKNOWN: 1, RpkiStatus.INVALID: 2}
W = TypeVar("W", bound=msgspec.Struct)


# The documented schemas, fields optional where a missing one is harmless, so that missing and
# extra fields are tolerated while wrong types are still reported with their JSON path.
class _WireMeta(msgspec.Struct):
    data_time: str | None = None
    query_time: str | None = None
    total_peers: _Count = 0


class _WirePrefixOrigin(msgspec.Struct, gc=False):
    origin: Asn
    prefix: _Prefix
    peer_count: _Count = 0
    rpki_validation: str | None = None


class _WirePfx2asResult(msgspec.Struct):
    meta: _WireMeta = msgspec.field(default_factory=_WireMeta)
    prefix_origins: list[_WirePrefixOrigin] | None = None


class _WirePfx2as(msgspec.Struct):
    success: bool
    errors: list[WireError] | None = None
    result: _WirePfx2asResult | None = None


class _WireMoasOrigin(msgspec.Struct, gc=False):
    origin: Asn
    peer_count: _Count = 0
    rpki_validation: str | None = None


class _WireMoas(msgspec.Struct):
    prefix: _Prefix
    origins: list[_WireMoasOrigin] = msgspec.field(default_factory=list)


class _WireMoasResult(msgspec.Struct):
    meta: _WireMeta = msgspec.field(default_factory=_WireMeta)
    moas: list[_WireMoas] | None = None


class _WireMoasEnvelope(msgspec.Struct):
    success: bool
    errors: list[WireError] | None = None
    result: _WireMoasResult | None = None


_PFX2AS = msgspec.json.Decoder(_WirePfx2as)
_MOAS = msgspec.json.Decoder(_WireMoasEnvelope)


def decode_pfx2as(body: bytes, asn: int, cap: int = MAX_PREFIXES) -> Envelope[AsPrefixes]:
    """Decode a pfx2as answer for `origin=asn`, keeping its first `cap` distinct prefixes."""
    wire = decode_wire(_PFX2AS.decode, body, "pfx2as answer")
    errors = tuple(wire.errors or ())
    if not wire.success or wire.result is None:
        return Envelope(success=wire.success, errors=errors, result=None)
    return Envelope(success=True, errors=errors, result=_as_prefixes(wire.result, asn, cap))


def decode_moas(body: bytes, asn: int, cap: int = MAX_PREFIXES) -> Envelope[tuple[MoasPrefix, ...]]:
    """Decode a moas answer for `origin=asn` (at most `cap` prefixes, each naming `asn`)."""
    wire = decode_wire(_MOAS.decode, body, "moas answer")
    errors = tuple(wire.errors or ())
    if not wire.success or wire.result is None:
        return Envelope(success=wire.success, errors=errors, result=None)
    found = []
    for i, m in enumerate((wire.result.moas or [])[:cap]):
        prefix = _canonical(m.prefix, f"result.moas[{i}].prefix")
        origins = tuple(
            OriginatedPrefix(prefix, o.origin, o.peer_count, RpkiStatus.parse(o.rpki_validation))
            for o in m.origins
        )
        if all(o.origin != asn for o in origins):
            raise DecodeError(f"result.moas[{i}]: the answer is about other ASes, not AS{asn}")
        found.append(MoasPrefix(prefix, origins))
    return Envelope(success=True, errors=errors, result=tuple(found))


def _as_prefixes(result: _WirePfx2asResult, asn: int, cap: int) -> AsPrefixes:
    """The wire result as the core's snapshot of `asn`: checked, merged, at most `cap`."""
    data_time = wire_timestamp(result.meta.data_time, "result.meta.data_time")
    kept: dict[str, OriginatedPrefix] = {}
    left_out: set[str] = set()
    for i, o in enumerate(result.prefix_origins or ()):
        where = f"result.prefix_origins[{i}]"
        if o.origin != asn:
            raise DecodeError(f"{where}.origin: the answer is for AS{o.origin}, not for AS{asn}")
        prefix = _canonical(o.prefix, f"{where}.prefix")
        seen = kept.get(prefix)
        if seen is None and len(kept) >= cap:
            left_out.add(prefix)
            continue
        entry = OriginatedPrefix(prefix, asn, o.peer_count, RpkiStatus.parse(o.rpki_validation))
        kept[prefix] = entry if seen is None else _merged(seen, entry)
    return AsPrefixes(
        asn=asn,
        prefixes=tuple(kept.values()),
        total_peers=result.meta.total_peers,
        data_time=data_time,
        left_out=len(left_out),
    )


def _merged(a: OriginatedPrefix, b: OriginatedPrefix) -> OriginatedPrefix:
    """A prefix listed twice, counted once: the larger peer count, the worse RPKI status."""
    rpki = max(a.rpki, b.rpki, key=_RPKI_SEVERITY.__getitem__)
    return OriginatedPrefix(a.prefix, a.origin, max(a.peer_count, b.peer_count), rpki)


def _canonical(text: str, where: str) -> str:
    """The canonical text of the prefix `text` (host bits cleared), or DecodeError at `where`."""
    try:
        return str(ipaddress.ip_network(text.strip(), strict=False))
    except ValueError:
        raise DecodeError(f"{where}: not a prefix: {clip(text, MAX_LABEL)!r}") from None


class RadarOrigins(ClosingSource):
    """An `OriginSource`: what an AS originates per Radar's RIB snapshots, and the AS's name."""

    def __init__(self, client: RadarClient, max_prefixes: int = MAX_PREFIXES) -> None:
        self.client = client
        self.max_prefixes = max_prefixes

    def __repr__(self) -> str:
        return f"RadarOrigins({self.client!r}, max_prefixes={self.max_prefixes})"

    async def originated(self, asn: int) -> AsPrefixes:
        """Every prefix `asn` originates (at most `max_prefixes`), one request."""
        params = {"origin": str(asn), "format": "JSON"}
        return await self.client.get(
            PFX2AS_PATH, params, lambda body: decode_pfx2as(body, asn, self.max_prefixes)
        )

    async def moas(self, asn: int) -> tuple[MoasPrefix, ...]:
        """The prefixes of `asn` that other ASes originate too, one request."""
        params = {"origin": str(asn), "format": "JSON"}
        return await self.client.get(
            MOAS_PATH, params, lambda body: decode_moas(body, asn, self.max_prefixes)
        )

    async def as_name(self, asn: int, prefix: str) -> str:
        """The name of `asn` from `meta.asn_info` of the realtime answer for one of its
        prefixes (pfx2as and moas name no AS), one request; empty if unnamed."""
        view = await RadarRoutes(self.client).fetch(prefix)
        return view.as_name(asn)

    async def close(self) -> None:
        """Close the client's connections."""
        await self.client.close()
