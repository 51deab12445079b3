"""A fake Cloudflare Radar API for tests and benchmarks.

EVERY REALTIME ANSWER THIS MODULE PRODUCES IS SYNTHETIC. No recorded response of
`GET /radar/bgp/routes/realtime` is public, so `make_answer` builds answers from the documented
schema (`/work/shared/seed/radar-bgp-routes-realtime.txt`, `radar-api-notes.md`): the collector
names, ASNs, AS paths, communities, peer counts and timestamps are plausible inventions, not data.
Only the two authentication error bodies are real (copied verbatim from
`radar-samples/cloudflare-api/`); the other error bodies and the HTML 502 page follow the
documented Cloudflare v4 envelope and Cloudflare's usual edge pages but are synthetic too.

`FakeRadar` serves these answers over real HTTP on 127.0.0.1 (random port), either inside the
test's event loop (`async with FakeRadar() as fake`) or on its own loop in a background thread
(`fake.start_in_thread()` / `fake.stop()`, or `with FakeRadar() as fake`) for tests that run the
CLI or daemon as subprocesses. Faults (rate limiting, 5xx, HTML pages, timeouts, trickling,
truncated or wrongly typed JSON, huge bodies, auth errors, dropped connections) can be switched
on per prefix or globally, for a number of requests or until cleared, or drawn at random for
a share of requests (`fault_rate`, for load runs).
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import json
import math
import random
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal, NamedTuple, get_args

from aiohttp import web

# --- synthetic answers ----------------------------------------------------------------------

#: RIPE RIS collectors in service (rrc02, rrc08, rrc09 and rrc17 are retired).
RIS_COLLECTORS: tuple[str, ...] = tuple(f"rrc{n:02d}" for n in range(27) if n not in (2, 8, 9, 17))
#: RouteViews collectors, named as the RouteViews archive names them.
ROUTEVIEWS_COLLECTORS: tuple[str, ...] = (
    "route-views2",
    "route-views3",
    "route-views4",
    "route-views5",
    "route-views6",
    "route-views.amsix",
    "route-views.chicago",
    "route-views.chile",
    "route-views.eqix",
    "route-views.flix",
    "route-views.gorex",
    "route-views.isc",
    "route-views.kixp",
    "route-views.jinx",
    "route-views.linx",
    "route-views.napafrica",
    "route-views.nwax",
    "route-views.phoix",
    "route-views.telxatl",
    "route-views.wide",
    "route-views.sydney",
    "route-views.saopaulo",
    "route-views.sg",
    "route-views.perth",
    "route-views.sfmix",
    "route-views.mwix",
    "route-views.rio",
    "route-views.bdix",
    "route-views.uaeix",
    "route-views.ny",
)
COLLECTORS: tuple[str, ...] = RIS_COLLECTORS + ROUTEVIEWS_COLLECTORS
#: RouteViews' own AS, which some RouteViews AS paths start with.
ROUTEVIEWS_ASN = 6447
#: Transit networks used as upstreams and in the middle of paths.
_TRANSIT = (174, 1299, 2914, 3257, 3356, 3491, 6453, 6461, 6762, 6939, 7018, 9002)
#: Networks that peer with route collectors.
_PEERS = (
    *_TRANSIT,
    293, 1221, 2497, 3130, 4637, 5511, 7660, 8220, 11537, 12956, 20912, 24482,
    34549, 37100, 47692, 49788, 57695, 61218, 211398, 398465,
)  # fmt: skip
_COMMUNITY_VALUES = (100, 200, 666, 1000, 2000, 3000, 10000, 20000, 30000)
_KNOWN_ASNS: dict[int, tuple[str, str, str, str]] = {
    13335: ("CLOUDFLARENET", "US", "CLOUD14-ARIN", "Cloudflare, Inc."),
    15169: ("GOOGLE", "US", "GOGL-ARIN", "Google LLC"),
    16509: ("AMAZON-02", "US", "AMAZON-4-ARIN", "Amazon.com, Inc."),
    3333: ("RIPE-NCC-AS", "NL", "ORG-RIEN1-RIPE", "Reseaux IP Europeens Network Coordination"),
}
#: Default share of peers that see an origin when `OriginSpec` gives no count.
DEFAULT_RATIO = 0.95

TsStyle = Literal["naive", "z", "offset", "fraction"]


@dataclass(frozen=True)
class OriginSpec:
    """One origin AS of a synthetic answer.

    `visible` and `total` are peer counts; left out, `total` is the answer's peer total and
    `visible` is `ratio` of `total`. Routes are shared among origins in proportion to `visible`.
    """

    asn: int
    rpki: str = "valid"
    visible: int | None = None
    total: int | None = None
    ratio: float = DEFAULT_RATIO


def make_answer(
    prefix: str,
    origins: Sequence[OriginSpec] | None = None,
    *,
    n_collectors: int = 50,
    n_routes: int = 600,
    data_time: datetime | None = None,
    seed: int = 0,
    collector_age: dict[str, timedelta] | None = None,
    ts_style: str = "naive",
) -> dict[str, Any]:
    """A SYNTHETIC realtime-routes envelope for `prefix`, deterministic for a given seed.

    `origins` defaults to AS13335 alone; an empty list means nobody sees the prefix.
    `n_routes` routes are spread over the origins and over `n_collectors` collectors whose peer
    counts add up to the answer's peer total (about `n_routes / 0.95`). `data_time` (naive
    means UTC) defaults to half a minute ago, the only non-deterministic input.
    `collector_age` sets how far behind `data_time` the named collectors' realtime feed is
    (their update and RIB files date from that same moment); named collectors are always listed.
    `ts_style` formats every timestamp: naive, z (`Z`), offset (`+00:00`) or fraction (`.ffffffZ`).
    """
    if ts_style not in get_args(TsStyle):
        raise ValueError(f"ts_style must be one of {get_args(TsStyle)}, not {ts_style!r}")
    ages = dict(collector_age or {})
    low, high = max(1, len(ages)), len(set(COLLECTORS) | set(ages))
    if not low <= n_collectors <= high:
        raise ValueError(f"n_collectors must be between {low} and {high}")
    if n_routes < 0:
        raise ValueError("n_routes must not be negative")
    rng = random.Random(seed)
    specs = (OriginSpec(13335),) if origins is None else tuple(origins)
    if data_time is None:
        data_time = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    data_time = _as_utc(data_time)
    v6 = ipaddress.ip_network(prefix, strict=False).version == 6

    def ts(value: datetime) -> str:
        return _format_ts(value, ts_style)

    total_peers = max(n_collectors, round(n_routes / DEFAULT_RATIO))
    names = sorted(
        [*ages, *rng.sample([c for c in COLLECTORS if c not in ages], n_collectors - len(ages))]
    )
    af_peers = [
        n + 1 for n in _split(total_peers - len(names), [rng.lognormvariate(0, 0.7) for _ in names])
    ]
    freshest = rng.randrange(len(names))
    collectors: list[dict[str, Any]] = []
    realtime: dict[str, datetime] = {}
    for i, (name, peers) in enumerate(zip(names, af_peers, strict=True)):
        lag = timedelta(seconds=0 if i == freshest else rng.uniform(1, 150))
        seen = data_time - ages.get(name, lag)
        realtime[name] = seen
        updates_every, rib_every = (300, 8 * 3600) if name.startswith("rrc") else (900, 2 * 3600)
        other_af = round(peers * rng.uniform(0.4, 0.9))
        v4, v6_count = (other_af, peers) if v6 else (peers, other_af)
        collectors.append(
            {
                "collector": name,
                "latest_realtime_ts": ts(seen),
                "latest_updates_ts": ts(_floor(seen - _minutes(rng, 5, 10), updates_every)),
                "latest_rib_ts": ts(_floor(seen - _minutes(rng, 20, 90), rib_every)),
                "peers_count": max(v4, v6_count) + rng.randint(0, min(v4, v6_count) // 4),
                "peers_v4_count": v4,
                "peers_v6_count": v6_count,
            }
        )

    prefix_origins: list[dict[str, Any]] = []
    visibles: list[int] = []
    for spec in specs:
        total = total_peers if spec.total is None else spec.total
        visible = round(spec.ratio * total) if spec.visible is None else spec.visible
        visibles.append(visible)
        prefix_origins.append(
            {
                "origin": spec.asn,
                "prefix": prefix,
                "rpki_validation": spec.rpki,
                "total_peers": total,
                "total_visible": visible,
                "visibility": round(visible / total, 6) if total else 0.0,
            }
        )

    slots = [name for name, peers in zip(names, af_peers, strict=True) for _ in range(peers)]
    rng.shuffle(slots)
    origin_asns = {s.asn for s in specs}
    routes: list[dict[str, Any]] = []
    for spec, count in zip(specs, _split(n_routes, visibles), strict=True):
        upstreams = rng.sample([a for a in _TRANSIT if a not in origin_asns], rng.randint(1, 3))
        for _ in range(count):
            collector = slots[len(routes) % len(slots)]
            path = _as_path(rng, collector, spec.asn, upstreams, origin_asns)
            age = timedelta(seconds=rng.randint(30, 14 * 86400), microseconds=rng.randrange(10**6))
            routes.append(
                {
                    "as_path": path,
                    "collector": collector,
                    "communities": _communities(rng, path),
                    "prefix": prefix,
                    "timestamp": ts(realtime[collector] - age),
                }
            )

    return {
        "success": True,
        "errors": [],
        "messages": [],
        "result": {
            "meta": {
                "asn_info": [_asn_info(asn) for asn in dict.fromkeys(s.asn for s in specs)],
                "collectors": collectors,
                "data_time": ts(data_time),
                "prefix_origins": prefix_origins,
                "query_time": ts(data_time + timedelta(seconds=rng.uniform(1, 25))),
                # Unknown fields: the decoder must ignore what it does not know.
                "synthetic": True,
                "confidence_info": {"level": 5, "annotations": []},
            },
            "routes": routes,
        },
    }


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _format_ts(value: datetime, style: str) -> str:
    if style == "fraction":
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    suffix = {"naive": "", "z": "Z", "offset": "+00:00"}[style]
    return value.strftime("%Y-%m-%dT%H:%M:%S") + suffix


def _minutes(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(seconds=rng.uniform(low * 60, high * 60))


def _floor(value: datetime, every: int) -> datetime:
    """`value` rounded down to a multiple of `every` seconds (MRT files start on the grid)."""
    epoch = int(value.timestamp())
    return datetime.fromtimestamp(epoch - epoch % every, UTC)


def _split(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split in proportion to `weights` (largest remainder; all zero if weights are)."""
    weight_sum = sum(weights)
    if total <= 0 or weight_sum <= 0:
        return [0] * len(weights)
    exact = [total * w / weight_sum for w in weights]
    parts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(parts)), key=lambda i: parts[i] - exact[i])
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _as_path(
    rng: random.Random, collector: str, origin: int, upstreams: list[int], origins: set[int]
) -> list[int]:
    """A loop-free path of 2-8 ASes from the collector's peer to `origin`, maybe prepended."""
    peer = rng.choice([a for a in _PEERS if a not in origins])
    upstream = rng.choice(upstreams)
    middle: list[int] = []
    if peer != upstream:
        candidates = [a for a in _TRANSIT if a not in (peer, upstream) and a not in origins]
        middle = rng.sample(candidates, rng.choice((0, 0, 1, 1, 2)))
    head = [peer, *middle, upstream] if peer != upstream else [peer]
    if collector.startswith("route-views") and rng.random() < 0.3:
        head.insert(0, ROUTEVIEWS_ASN)
    return [*head, *[origin] * rng.choice((1, 1, 1, 1, 1, 1, 2, 2, 3))]


def _communities(rng: random.Random, path: list[int]) -> list[str]:
    """A few `asn:value` communities set by 16-bit ASes on the path."""
    small = [a for a in dict.fromkeys(path) if a <= 0xFFFF and a != ROUTEVIEWS_ASN]
    picked = rng.sample(small, min(len(small), rng.randint(0, 3)))
    return [f"{asn}:{rng.choice(_COMMUNITY_VALUES)}" for asn in picked]


def _asn_info(asn: int) -> dict[str, Any]:
    name, country, org_id, org_name = _KNOWN_ASNS.get(
        asn, (f"SYNTHETIC-AS{asn}", "ZZ", f"ORG-SYN{asn}-RIPE", f"Synthetic network AS{asn}")
    )
    return {
        "asn": asn,
        "as_name": name,
        "country_code": country,
        "org_id": org_id,
        "org_name": org_name,
    }


def encode(answer: dict[str, Any]) -> bytes:
    """Compact JSON bytes of an answer, as Cloudflare sends them."""
    return json.dumps(answer, separators=(",", ":")).encode()


# --- error bodies ---------------------------------------------------------------------------

#: Real: radar-samples/cloudflare-api/error_authentication-error_code10000.json (HTTP 403).
AUTH_ERROR_BODY = b'{"success":false,"errors":[{"code":10000,"message":"Authentication error"}]}\n'
#: Real: radar-samples/cloudflare-api/error_400_invalid-authorization-header.json (HTTP 400).
BAD_AUTH_HEADER_BODY = (
    b'{"success":false,"errors":[{"code":6003,"message":"Invalid request headers",'
    b'"error_chain":[{"code":6111,"message":"Invalid format for Authorization header"}]}],'
    b'"messages":[],"result":null}\n'
)


def error_body(code: int, message: str) -> bytes:
    """A synthetic Cloudflare v4 failure envelope with one error."""
    return encode(
        {
            "success": False,
            "errors": [{"code": code, "message": message}],
            "messages": [],
            "result": None,
        }
    )


RATE_LIMITED_BODY = error_body(1015, "You are being rate limited")
INTERNAL_ERROR_BODY = error_body(2000, "Internal Server Error")
INVALID_PREFIX_BODY = error_body(2001, "Invalid prefix")
#: Synthetic, in the style of Cloudflare's edge error pages.
BAD_GATEWAY_HTML = b"""<!DOCTYPE html>
<html lang="en-US">
<head>
<title>api.cloudflare.com | 502: Bad gateway</title>
<meta charset="UTF-8" />
<meta name="robots" content="noindex, nofollow" />
</head>
<body>
<div id="cf-wrapper">
<div id="cf-error-details" class="p-0">
<h1><span class="inline-block">Bad gateway</span>
<span class="code-label">Error code 502</span></h1>
<p>The web server reported a bad gateway error.</p>
<p>Please try again in a few minutes.</p>
<p>Cloudflare Ray ID: <strong>8c1f2e3d4a5b6c7d</strong> &bull; Performance &amp; security by
<a rel="noopener noreferrer" href="https://www.cloudflare.com/5xx-error-landing">Cloudflare</a></p>
</div>
</div>
</body>
</html>
"""

# --- the server -----------------------------------------------------------------------------

Fault = Literal[
    "429",
    "500",
    "502_html",
    "timeout",
    "trickle",
    "success_false",
    "success_false_200",
    "truncated",
    "wrong_types",
    "huge",
    "huge_chunked",
    "auth",
    "drop",
]
FAULTS: tuple[str, ...] = get_args(Fault)
#: What `FakeRadar.fault_rate` draws from unless told otherwise: failures a client retries.
DEFAULT_RANDOM_FAULTS: tuple[Fault, ...] = ("500", "502_html", "truncated", "timeout")
API_PATH = "/client/v4/radar/bgp/routes/realtime"
#: Long and unique, so that a leak into any log or page is found by a plain substring search.
DEFAULT_TOKEN = "test-token-5f3a9c1e7b2d"
_JSON = "application/json"
_HUGE_HEAD = b'{"success":true,"errors":[],"messages":[],"result":{"meta":{},"routes":['
_HUGE_UNIT = (
    b'{"as_path":[3356,1299,13335],"collector":"rrc00","communities":["3356:100"],'
    b'"prefix":"192.0.2.0/24","timestamp":"2024-06-03T14:00:00"},'
)
_HUGE_TAIL = b"{}]}}"
_HUGE_BLOCK = _HUGE_UNIT * (256 * 1024 // len(_HUGE_UNIT))


class RequestRecord(NamedTuple):
    """One request the fake received: when (`time.monotonic()`), for what, with a token?"""

    at: float
    prefix: str | None
    has_auth: bool
    user_agent: str = ""


class RandomFault(NamedTuple):
    """One fault drawn by `fault_rate`: when (`time.monotonic()`), for what prefix, which."""

    at: float
    prefix: str
    kind: Fault


@dataclass(frozen=True)
class _Scenario:
    status: int
    body: bytes
    answer: dict[str, Any] | None


@dataclass
class _ActiveFault:
    kind: Fault
    remaining: int | None


def _canonical(prefix: str) -> str | None:
    """Canonical text of a prefix (`2001:db8:0:0::/32` → `2001:db8::/32`), None if invalid."""
    try:
        return str(ipaddress.ip_network(prefix.strip(), strict=False))
    except ValueError:
        return None


def _key(prefix: str) -> str:
    """Where scenarios and faults of `prefix` are kept: its canonical text if it has one."""
    return _canonical(prefix) or prefix


class FakeRadar:
    """An HTTP fake of Radar's realtime-routes endpoint with switchable faults.

    `token` is the only accepted bearer token. Every answer waits `latency` seconds first, so
    that concurrent requests overlap and `in_flight_max` can show them. `retry_after` is the
    `Retry-After` header of "429"; `delay` the sleep of "timeout"; "trickle" sends a byte every
    `trickle_interval` seconds for at most `trickle_seconds`; "huge" streams `huge_bytes` bytes.
    All are plain attributes that tests may change at any time, as are `rate_quota` and
    `rate_window` (behind the `Ratelimit` headers; the fake never enforces them).

    `fault_rate` (default 0: off) is the chance that a request with no explicit fault (none set
    by `set_fault` for its prefix or globally) fails anyway, with a fault drawn uniformly from
    `random_faults`; draws come from a `random.Random(fault_seed)`, so a run is repeatable for a
    given order of requests. `random_fault_log` records each fault drawn, for whom and when.

    Bodies are encoded once, when a prefix is set (or first asked for, if never set), so the
    default `data_time` of an answer is that moment: set the prefix again to refresh it.
    Requests are checked in this order: bearer token, prefix (missing or invalid: 400 code
    2001), then faults. Note that aiohttp clients silently retry an idempotent request once
    when the server drops the connection, so "drop" with `count=1` looks like no fault to them.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        latency: float = 0.0,
        retry_after: int = 1,
        delay: float = 60.0,
        trickle_interval: float = 0.5,
        trickle_seconds: float = 120.0,
        huge_bytes: int = 1 << 30,
        port: int = 0,
        fault_rate: float = 0.0,
        random_faults: tuple[Fault, ...] = DEFAULT_RANDOM_FAULTS,
        fault_seed: int = 0,
    ) -> None:
        self.token = token
        #: 0 picks a free port; a fixed one lets a test start the API where a client already points.
        self.port = port
        self.latency = latency
        self.retry_after = retry_after
        self.delay = delay
        self.trickle_interval = trickle_interval
        self.trickle_seconds = trickle_seconds
        self.huge_bytes = huge_bytes
        self.rate_quota = 1200
        self.rate_window = 300.0
        #: Share (0..1) of requests without an explicit fault that get one of `random_faults`.
        self.fault_rate = fault_rate
        self.random_faults = random_faults
        self.random_fault_log: list[RandomFault] = []
        self._fault_rng = random.Random(fault_seed)
        self.requests: list[RequestRecord] = []
        self.in_flight_max = 0
        self._in_flight = 0
        self._scenarios: dict[str, _Scenario] = {}
        self._empty: dict[str, _Scenario] = {}
        self._faults: dict[str | None, _ActiveFault] = {}
        self._lock = threading.Lock()
        self._window_start = time.monotonic()
        self._window_count = 0
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- configuration (safe to call from any thread) --

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT/client/v4`, to use as the client's base URL."""
        if self._port is None:
            raise RuntimeError("FakeRadar is not running")
        return f"http://127.0.0.1:{self._port}/client/v4"

    def set_prefix(
        self,
        prefix: str,
        origins: Sequence[OriginSpec] | None = None,
        *,
        body: bytes | None = None,
        status: int = 200,
        **answer_kwargs: Any,
    ) -> bytes:
        """Answer `prefix` with `make_answer(prefix, origins, **answer_kwargs)`, or with the raw
        `body` and `status`; returns the bytes that will be served."""
        if body is not None and (origins is not None or answer_kwargs):
            raise TypeError("give either body or make_answer arguments, not both")
        answer = make_answer(prefix, origins, **answer_kwargs) if body is None else None
        scenario = _Scenario(status, encode(answer) if answer is not None else body or b"", answer)
        self._scenarios[_key(prefix)] = scenario
        return scenario.body

    def set_fault(self, fault: Fault, prefix: str | None = None, count: int | None = None) -> None:
        """Make the next `count` requests (None: all until cleared) for `prefix` (None: any
        prefix without a fault of its own) fail with `fault`."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        if count is not None and count < 1:
            raise ValueError("count must be at least 1 (or None)")
        with self._lock:
            self._faults[None if prefix is None else _key(prefix)] = _ActiveFault(fault, count)

    def clear_faults(self) -> None:
        """Remove every fault, global and per prefix."""
        with self._lock:
            self._faults.clear()

    # -- lifecycle --

    async def start(self) -> None:
        """Start serving on the running loop."""
        app = web.Application()
        app.router.add_get(API_PATH, self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        await web.SockSite(runner, sock).start()
        self._runner = runner
        self._port = sock.getsockname()[1]

    async def aclose(self) -> None:
        """Stop serving; handlers still sleeping or streaming are cancelled."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._port = None

    async def __aenter__(self) -> FakeRadar:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def start_in_thread(self) -> None:
        """Serve from a daemon thread with its own event loop (for subprocess tests)."""
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                started.set()
                loop.close()
                return
            self._loop = loop
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.aclose())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="fakeradar", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            raise failure[0]

    def stop(self) -> None:
        """Stop the server started by `start_in_thread` and wait for its thread."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop = self._thread = None

    def __enter__(self) -> FakeRadar:
        self.start_in_thread()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- serving --

    async def _not_found(self, request: web.Request) -> web.Response:
        message = f"Could not route to {request.path}, perhaps your object identifier is invalid?"
        return _json(404, error_body(7003, message))

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        prefix = request.query.get("prefix")
        auth = request.headers.get("Authorization")
        self.requests.append(
            RequestRecord(
                time.monotonic(), prefix, auth is not None, request.headers.get("User-Agent", "")
            )
        )
        self._in_flight += 1
        self.in_flight_max = max(self.in_flight_max, self._in_flight)
        try:
            return await self._respond(request, prefix, auth)
        finally:
            self._in_flight -= 1

    async def _respond(
        self, request: web.Request, prefix: str | None, auth: str | None
    ) -> web.StreamResponse:
        self._count_rate()
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        if auth is not None and not auth.startswith("Bearer "):
            return _json(400, BAD_AUTH_HEADER_BODY)
        if auth != f"Bearer {self.token}":
            return _json(403, AUTH_ERROR_BODY)
        scenario = self._scenario(prefix)
        if prefix is None or scenario is None:
            return _json(400, INVALID_PREFIX_BODY)
        fault = self._take_fault(prefix)
        if fault is None:
            return _json(scenario.status, scenario.body, self._rate_headers())
        return await self._fault(fault, request, prefix, scenario)

    def _scenario(self, prefix: str | None) -> _Scenario | None:
        """What to answer for `prefix`: its scenario, an empty answer, or None if invalid."""
        if prefix is None:
            return None
        key = _key(prefix)
        found = self._scenarios.get(key) or self._empty.get(key)
        if found is None and _canonical(prefix) is not None:  # a valid prefix nobody sees
            answer = make_answer(prefix, [])
            found = self._empty.setdefault(key, _Scenario(200, encode(answer), answer))
        return found

    def _take_fault(self, prefix: str) -> Fault | None:
        key = _key(prefix)
        with self._lock:
            slot: str | None = key if key in self._faults else None
            active = self._faults.get(slot)
            if active is None:
                return self._random_fault(key)
            if active.remaining is not None:
                active.remaining -= 1
                if active.remaining <= 0:
                    del self._faults[slot]
            return active.kind

    def _random_fault(self, prefix: str) -> Fault | None:
        """One of `random_faults` with probability `fault_rate`, else None (lock held)."""
        if self.fault_rate <= 0 or not self.random_faults:
            return None
        if self._fault_rng.random() >= self.fault_rate:
            return None
        kind = self._fault_rng.choice(self.random_faults)
        self.random_fault_log.append(RandomFault(time.monotonic(), prefix, kind))
        return kind

    async def _fault(
        self, fault: Fault, request: web.Request, prefix: str, scenario: _Scenario
    ) -> web.StreamResponse:
        simple = {
            "429": (429, RATE_LIMITED_BODY),
            "500": (500, INTERNAL_ERROR_BODY),
            "success_false": (400, INVALID_PREFIX_BODY),
            "success_false_200": (200, INVALID_PREFIX_BODY),
            "auth": (403, AUTH_ERROR_BODY),
            "truncated": (200, scenario.body[: len(scenario.body) // 2]),
        }
        if fault in simple:
            status, body = simple[fault]
            headers = {"Retry-After": str(self.retry_after)} if fault == "429" else {}
            return _json(status, body, headers)
        if fault == "502_html":
            return web.Response(
                status=502, body=BAD_GATEWAY_HTML, content_type="text/html", charset="UTF-8"
            )
        if fault == "wrong_types":
            return _json(200, encode(_wrong_types(prefix, scenario.answer)))
        if fault == "timeout":
            await asyncio.sleep(self.delay)
            return _json(scenario.status, scenario.body, self._rate_headers())
        if fault == "trickle":
            return await self._trickle(request, scenario.body)
        if fault in ("huge", "huge_chunked"):
            return await self._huge(request, chunked=fault == "huge_chunked")
        return _drop(request)

    async def _trickle(self, request: web.Request, body: bytes) -> web.StreamResponse:
        """Headers at once, then the body a byte at a time; drop it when time runs out."""
        resp = web.StreamResponse(headers={"Content-Type": _JSON})
        resp.content_length = len(body)
        await resp.prepare(request)
        deadline = time.monotonic() + self.trickle_seconds
        try:
            for i in range(len(body)):
                if time.monotonic() >= deadline:
                    return _drop(request, resp)
                await resp.write(body[i : i + 1])
                await asyncio.sleep(self.trickle_interval)
        except ConnectionError:  # the client gave up waiting, as it should
            return _drop(request, resp)
        return resp

    async def _huge(self, request: web.Request, *, chunked: bool) -> web.StreamResponse:
        """`huge_bytes` of (valid, if read to the end) JSON, made on the fly block by block."""
        resp = web.StreamResponse(headers={"Content-Type": _JSON})
        if chunked:
            resp.enable_chunked_encoding()
        else:
            resp.content_length = self.huge_bytes
        await resp.prepare(request)
        try:
            for chunk in _huge_chunks(self.huge_bytes):
                await resp.write(chunk)
        except ConnectionError:  # the client stopped reading at its size cap, as it should
            return _drop(request, resp)
        return resp

    def _count_rate(self) -> None:
        now = time.monotonic()
        if now - self._window_start >= self.rate_window:
            self._window_start, self._window_count = now, 0
        self._window_count += 1

    def _rate_headers(self) -> dict[str, str]:
        remaining = max(0, self.rate_quota - self._window_count)
        reset = math.ceil(self.rate_window - (time.monotonic() - self._window_start))
        return {
            "Ratelimit": f'"default";r={remaining};t={reset}',
            "Ratelimit-Policy": f'"burst";q={self.rate_quota};w={self.rate_window:g}',
        }


def _json(status: int, body: bytes, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=body, content_type=_JSON, headers=headers)


def _drop(request: web.Request, resp: web.StreamResponse | None = None) -> web.StreamResponse:
    """Close the connection without (finishing) an answer."""
    if request.transport is not None:
        request.transport.abort()
    return resp if resp is not None else web.Response()


def _huge_chunks(size: int) -> Iterator[bytes]:
    """`size` bytes: a JSON head, route objects, blank padding and a tail that closes it."""
    stream = _huge_parts(size - len(_HUGE_HEAD) - len(_HUGE_TAIL))
    sent = 0
    for part in stream:
        if sent + len(part) >= size:
            yield part[: size - sent]
            return
        sent += len(part)
        yield part


def _huge_parts(filler: int) -> Iterator[bytes]:
    yield _HUGE_HEAD
    for _ in range(max(0, filler) // len(_HUGE_BLOCK)):
        yield _HUGE_BLOCK
    rest = max(0, filler) % len(_HUGE_BLOCK)
    units = rest // len(_HUGE_UNIT)
    yield _HUGE_UNIT * units + b" " * (rest - units * len(_HUGE_UNIT))
    yield _HUGE_TAIL


def _wrong_types(prefix: str, answer: dict[str, Any] | None) -> dict[str, Any]:
    """The answer with the documented structure but wrong types: `"AS13335"`, `[1000]`."""
    if answer is None or not answer["result"]["meta"]["prefix_origins"]:
        answer = make_answer(prefix, n_collectors=5, n_routes=10)
    broken = copy.deepcopy(answer)
    for origin in broken["result"]["meta"]["prefix_origins"]:
        origin["origin"] = f"AS{origin['origin']}"
        origin["total_peers"] = [origin["total_peers"]]
    return broken
