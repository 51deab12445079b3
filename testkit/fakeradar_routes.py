"""The fake Radar's prefix-to-origin endpoints, `pfx2as` and `moas`, with every fault of the fake.

EVERY ANSWER THEY SERVE IS SYNTHETIC: origins, prefixes, peer counts and times are what a test
set, in the documented shapes. `GET /radar/bgp/routes/pfx2as` (by `origin=ASN` or `prefix=P`)
answers `result {meta {data_time, query_time, total_peers}, prefix_origins[] {origin,
peer_count, prefix, rpki_validation}}` (radar-api-notes.md, "Other Radar BGP endpoints");
`GET /radar/bgp/routes/moas` (by `origin=ASN` or `prefix=P`) answers `result {meta {data_time,
query_time, total_peers}, moas[] {origins[] {origin, peer_count, rpki_validation}, prefix}}`, as
Cloudflare's API reference gives it ("Get Multi-Origin AS (MOAS) prefixes",
https://developers.cloudflare.com/api/resources/radar/subresources/bgp/subresources/routes/methods/moas).
Neither endpoint documents `page`/`per_page`, so neither answer is paged.

Faults are the fake's own (`FakeRadar.set_fault`), keyed by `AS64500` for an origin query and by
the prefix for a prefix query; the bad-answer faults get bodies of these shapes.
"""

from __future__ import annotations

import copy
import ipaddress
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from aiohttp import web

from testkit.answers import encode
from testkit.error_bodies import (
    INVALID_PREFIX_BODY,
    error_body,
)
from testkit.faults import OVERFLOWING_TIME, Fault, bad_answer, json_response

if TYPE_CHECKING:
    from testkit.fakeradar import FakeRadar

PFX2AS_PATH = "/client/v4/radar/bgp/routes/pfx2as"
MOAS_PATH = "/client/v4/radar/bgp/routes/moas"
Endpoint = Literal["pfx2as", "moas"]
#: What `other_prefix` answers about instead: another documentation AS.
_OTHER_ASN = 64511
_OTHER_PREFIX = "203.0.113.0/24"
INVALID_ORIGIN_BODY = error_body(2001, "Input validation error: origin must be an ASN")
MISSING_QUERY_BODY = error_body(2001, "Input validation error: give origin or prefix")


class RoutesRequest(NamedTuple):
    """One request to these endpoints: when (`time.monotonic()`), which, for what key."""

    at: float
    endpoint: Endpoint
    key: str


@dataclass(frozen=True)
class Announcement:
    """One origin AS announcing one prefix, as the RIB snapshot counts it."""

    prefix: str
    origin: int
    peer_count: int = 1800
    rpki: str = "VALID"


@dataclass
class _Raw:
    status: int
    body: bytes


@dataclass
class FakeRoutes:
    """What the fake's `pfx2as` and `moas` endpoints know, and their handlers.

    `set_origin` says what an AS originates (replacing what it said before); a prefix two ASes
    originate is a MOAS prefix. `set_body` replaces one answer by raw bytes. `total_peers` and
    `data_time` (default: two hours ago, a RIB snapshot's age) go into every `meta`.
    """

    fake: FakeRadar
    total_peers: int = 2000
    data_time: datetime | None = None
    requests: list[RoutesRequest] = field(default_factory=list)
    _by_origin: dict[int, list[Announcement]] = field(default_factory=dict)
    _raw: dict[tuple[Endpoint, str], _Raw] = field(default_factory=dict)

    def set_origin(
        self, asn: int, *prefixes: str, peer_count: int = 1800, rpki: str = "VALID"
    ) -> None:
        """AS `asn` originates `prefixes` (none: nothing), each seen by `peer_count` peers."""
        self._by_origin[asn] = [Announcement(p, asn, peer_count, rpki) for p in prefixes]

    def announce(self, *announcements: Announcement) -> None:
        """Add announcements one by one (different peer counts or RPKI states per prefix)."""
        for a in announcements:
            self._by_origin.setdefault(a.origin, []).append(a)

    def set_body(self, endpoint: Endpoint, key: str, body: bytes, status: int = 200) -> None:
        """Answer `endpoint` for `key` (`AS64500` or a prefix) with raw `body` and `status`."""
        self._raw[(endpoint, key)] = _Raw(status, body)

    def add_to(self, app: web.Application) -> None:
        """Route both endpoints of `app` here."""
        app.router.add_get(PFX2AS_PATH, self._pfx2as)
        app.router.add_get(MOAS_PATH, self._moas)

    # -- answers --

    def pfx2as_answer(self, *, origin: int | None = None, prefix: str | None = None) -> Any:
        """The SYNTHETIC pfx2as envelope for `origin` or for `prefix`."""
        if origin is not None:
            found = self._by_origin.get(origin, [])
        else:
            found = [a for a in self._all() if _same(a.prefix, prefix or "")]
        return self._envelope(
            prefix_origins=[
                {
                    "origin": a.origin,
                    "peer_count": a.peer_count,
                    "prefix": a.prefix,
                    "rpki_validation": a.rpki,
                }
                for a in found
            ]
        )

    def moas_answer(self, *, origin: int | None = None, prefix: str | None = None) -> Any:
        """The SYNTHETIC moas envelope: the prefixes of `origin` (or `prefix` itself) that more
        than one AS originates."""
        by_prefix: dict[str, list[Announcement]] = {}
        for a in self._all():
            by_prefix.setdefault(_canonical(a.prefix), []).append(a)
        moas = [
            {
                "origins": [
                    {"origin": a.origin, "peer_count": a.peer_count, "rpki_validation": a.rpki}
                    for a in group
                ],
                "prefix": group[0].prefix,
            }
            for group in by_prefix.values()
            if len({a.origin for a in group}) > 1
            and (any(a.origin == origin for a in group) or _same(group[0].prefix, prefix or ""))
        ]
        return self._envelope(moas=moas)

    def _all(self) -> list[Announcement]:
        return [a for listed in self._by_origin.values() for a in listed]

    def _envelope(self, **listed: Any) -> Any:
        now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
        data_time = self.data_time or now - timedelta(hours=2)
        if data_time.tzinfo is not None:  # naive UTC, as Radar writes its times
            data_time = data_time.astimezone(UTC).replace(tzinfo=None)
        meta = {
            "data_time": data_time.isoformat(),
            "query_time": now.isoformat(),
            "total_peers": self.total_peers,
        }
        return {"success": True, "errors": [], "messages": [], "result": {"meta": meta, **listed}}

    # -- serving --

    async def _pfx2as(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "pfx2as")

    async def _moas(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "moas")

    async def _serve(self, request: web.Request, endpoint: Endpoint) -> web.StreamResponse:
        fake = self.fake
        origin_text, prefix = request.query.get("origin"), request.query.get("prefix")
        key = f"AS{origin_text}" if origin_text is not None else _canonical(prefix or "")
        self.requests.append(RoutesRequest(time.monotonic(), endpoint, key))
        denied = await fake.refuse(request.headers.get("Authorization"))
        if denied is not None:
            return denied
        answer = self._answer(endpoint, origin_text, prefix)
        if answer is None:
            body = MISSING_QUERY_BODY if origin_text is None else INVALID_ORIGIN_BODY
            return json_response(400, body if prefix is None else INVALID_PREFIX_BODY)
        raw = self._raw.get((endpoint, key))
        scenario = raw or _Raw(200, encode(answer))
        fault = fake._take_fault(key)
        if fault is None:
            return json_response(scenario.status, scenario.body, fake._rate_headers())
        return await fake.play_fault(
            fault,
            request,
            key,
            scenario.body,
            answer,
            lambda f: _broken(f, answer),
            scenario.status,
        )

    def _answer(self, endpoint: Endpoint, origin: str | None, prefix: str | None) -> Any:
        """The answer for the query, None if the query is invalid."""
        if origin is not None:
            if not origin.isdigit() or int(origin) >= 2**32:
                return None
            asn = int(origin)
            if endpoint == "pfx2as":
                return self.pfx2as_answer(origin=asn)
            return self.moas_answer(origin=asn)
        if prefix is None or not _valid(prefix):
            return None
        if endpoint == "pfx2as":
            return self.pfx2as_answer(prefix=prefix)
        return self.moas_answer(prefix=prefix)


def _broken(fault: Fault, answer: Any) -> bytes | None:
    """The body of a bad-answer fault in these endpoints' shape, None for other faults."""
    if fault in ("wrong_types", "other_prefix", "bad_timestamp"):
        return encode(_bad(fault, answer))
    return bad_answer(fault, "", None) if fault == "deep_json" else None


def _bad(fault: Fault, answer: Any) -> Any:
    """`answer` broken the way `fault` says: wrong types, another AS, an overflowing time."""
    broken = copy.deepcopy(answer)
    result = broken["result"]
    if fault == "bad_timestamp":
        result["meta"]["data_time"] = OVERFLOWING_TIME
    elif fault == "wrong_types":
        result["meta"]["total_peers"] = str(result["meta"]["total_peers"])
        for e in result.get("prefix_origins") or [
            o for m in result.get("moas", []) for o in m["origins"]
        ]:
            e["origin"], e["peer_count"] = f"AS{e['origin']}", [e["peer_count"]]
    else:  # other_prefix: an answer about another AS and another prefix
        other = {"origin": _OTHER_ASN, "peer_count": 1, "rpki_validation": "UNKNOWN"}
        if "moas" in result:
            second = {**other, "origin": _OTHER_ASN + 1}
            result["moas"] = [{"origins": [other, second], "prefix": _OTHER_PREFIX}]
        else:
            result["prefix_origins"] = [{**other, "prefix": _OTHER_PREFIX}]
    return broken


def _valid(prefix: str) -> bool:
    try:
        ipaddress.ip_network(prefix.strip(), strict=False)
    except ValueError:
        return False
    return True


def _canonical(prefix: str) -> str:
    """Canonical text of a prefix, or the text itself if it is none."""
    try:
        return str(ipaddress.ip_network(prefix.strip(), strict=False))
    except ValueError:
        return prefix


def _same(a: str, b: str) -> bool:
    return _canonical(a) == _canonical(b)
