"""A fake Cloudflare Radar API for tests and benchmarks.

EVERY REALTIME ANSWER IT SERVES IS SYNTHETIC: no recorded response of
`GET /radar/bgp/routes/realtime` is public, so the answers come from `testkit.answers`, built
from the documented schema. Only the two authentication error bodies are real
(`testkit.error_bodies` says which); the other error bodies are synthetic too.

`FakeRadar` serves these answers over real HTTP on 127.0.0.1 (random port), either inside the
test's event loop (`async with FakeRadar() as fake`) or on its own loop in a background thread
(`fake.start_in_thread()` / `fake.stop()`, or `with FakeRadar() as fake`) for tests that run the
CLI or daemon as subprocesses. Faults (rate limiting, 5xx, HTML pages, timeouts, trickling,
truncated or wrongly typed JSON, answers about another prefix, JSON nested too deep, timestamps
out of range, huge bodies, auth errors, dropped connections; see `testkit.faults`) can be
switched on per prefix or globally, for a number of requests or until cleared, or drawn at
random for a share of requests (`fault_rate`, for load runs).

`fake.routes` (`testkit.fakeradar_routes`: `pfx2as`, `moas`; faults keyed `AS64500`) and
`fake.events` (`testkit.fakeradar_events`: `hijacks:AS64500`, `leaks:…`) serve synthetic too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import random
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NamedTuple

from aiohttp import web

from testkit.answers import OriginSpec, encode, make_answer
from testkit.error_bodies import (
    AUTH_ERROR_BODY,
    BAD_AUTH_HEADER_BODY,
    BAD_GATEWAY_HTML,
    INTERNAL_ERROR_BODY,
    INVALID_PREFIX_BODY,
    RATE_LIMITED_BODY,
    error_body,
)
from testkit.fakeradar_events import FakeEvents
from testkit.fakeradar_routes import FakeRoutes
from testkit.faults import (
    DEFAULT_RANDOM_FAULTS,
    FAULTS,
    Fault,
    RandomFault,
    bad_answer,
    drop,
    huge,
    json_response,
    trickle,
)
from testkit.threaded import ThreadedServer

API_PATH = "/client/v4/radar/bgp/routes/realtime"
#: Long and unique, so that a leak into any log or page is found by a plain substring search.
DEFAULT_TOKEN = "test-token-5f3a9c1e7b2d"


class RequestRecord(NamedTuple):
    """One request the fake received: when (`time.monotonic()`), for what, with a token?"""

    at: float
    prefix: str | None
    has_auth: bool
    user_agent: str = ""


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


class FakeRadar(ThreadedServer):
    """An HTTP fake of Radar's realtime-routes endpoint with switchable faults.

    `token` is the only accepted bearer token. Every answer waits `latency` seconds first, so
    that concurrent requests overlap and `in_flight_max` can show them. `retry_after` is the
    `Retry-After` header of "429" (seconds, or any text such as `nan`); `delay` the sleep of
    "timeout"; "trickle" sends a byte every `trickle_interval` seconds for at most
    `trickle_seconds`; "huge" streams `huge_bytes` bytes.
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
        retry_after: int | str = 1,
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
        self.routes = FakeRoutes(self)
        self._lock = threading.Lock()
        self._window_start = time.monotonic()
        self._window_count = 0
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: The hijack and leak detectors' event lists (`fake.events.add_hijack(...)`).
        self.events = FakeEvents(self)

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
        self.routes.add_to(app)
        self.events.routes(app)
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

    # -- serving --

    async def _not_found(self, request: web.Request) -> web.Response:
        message = f"Could not route to {request.path}, perhaps your object identifier is invalid?"
        return json_response(404, error_body(7003, message))

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
        refused = await self.refuse(auth)
        if refused is not None:
            return refused
        scenario = self._scenario(prefix)
        if prefix is None or scenario is None:
            return json_response(400, INVALID_PREFIX_BODY)
        fault = self._take_fault(prefix)
        if fault is None:
            return json_response(scenario.status, scenario.body, self._rate_headers())
        return await self._fault(fault, request, prefix, scenario)

    async def refuse(self, auth: str | None) -> web.Response | None:
        """Count the request, wait `latency`, and refuse a wrong token (None: accepted)."""
        self._count_rate()
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        if auth is not None and not auth.startswith("Bearer "):
            return json_response(400, BAD_AUTH_HEADER_BODY)
        if auth != f"Bearer {self.token}":
            return json_response(403, AUTH_ERROR_BODY)
        return None

    def record(self, key: str, request: web.Request) -> None:
        """Note a request of another endpoint (`testkit.fakeradar_events`) under `key`."""
        auth = request.headers.get("Authorization") is not None
        self.requests.append(
            RequestRecord(time.monotonic(), key, auth, request.headers.get("User-Agent", ""))
        )

    async def play_fault(
        self,
        fault: Fault,
        request: web.Request,
        key: str,
        body: bytes,
        answer: dict[str, Any],
        broken: Callable[[Fault], bytes | None] | None = None,
        status: int = 200,
    ) -> web.StreamResponse:
        """Answer with `fault` where another endpoint's answer is `body` (with `status`);
        `broken` makes its wrongly shaped answers (default: the realtime answer's)."""
        return await self._fault(fault, request, key, _Scenario(status, body, answer), broken)

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
        self,
        fault: Fault,
        request: web.Request,
        prefix: str,
        scenario: _Scenario,
        broken: Callable[[Fault], bytes | None] | None = None,
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
            return json_response(status, body, headers)
        if fault == "502_html":
            return web.Response(
                status=502, body=BAD_GATEWAY_HTML, content_type="text/html", charset="UTF-8"
            )
        answer = broken(fault) if broken else bad_answer(fault, prefix, scenario.answer)
        if answer is not None:
            return json_response(200, answer)
        if fault == "timeout":
            await asyncio.sleep(self.delay)
            return json_response(scenario.status, scenario.body, self._rate_headers())
        if fault == "trickle":
            return await trickle(
                request, scenario.body, self.trickle_interval, self.trickle_seconds
            )
        if fault in ("huge", "huge_chunked"):
            return await huge(request, self.huge_bytes, chunked=fault == "huge_chunked")
        return drop(request)

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
