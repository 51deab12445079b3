"""RIS Live: a WebSocket client streaming the BGP updates RIS peers see for the watched prefixes.

Each watched prefix is subscribed with its more-specifics (so a hijacker's /25 inside a
watched /24 arrives too), plus `BEACONS`, RIS prefixes announced and withdrawn on a fixed
schedule, as a canary: while they move, the feed works. Subscriptions are paced as
`rislive_subscriptions` explains; `rislive_wire` decodes what arrives into the core's types.

Keeping the socket alive: RIS Live's `{"type": "ping"}` every `Timing.ping_interval` (15 s),
which it answers with `pong`, and WebSocket pings at the same interval (aiohttp closes the
socket when one goes unanswered for half an interval). A socket on which nothing at all
arrived for `Timing.dead_after` (45 s, three pings) is dead, even if TCP says otherwise: it
is closed and another one opened. Reconnecting waits with exponential backoff and full
jitter (uniform between 0 and 1 s, 2 s, 4 s … 60 s), counted afresh once a connection has
stayed up `Timing.stable_after` (60 s); every new socket subscribes everything again.
Updates missed meanwhile are lost: RIS Live streams changes only.

Bounds: inbound frames above 1 MiB close the socket (aiohttp's `max_msg_size`), the
handshake must finish within `Timing.connect_timeout` (30 s), `ris_error` and malformed
frames are logged at most once a minute (with a count) and never end the stream.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import aiohttp

from monitor import __version__
from monitor.core.measures import normalise_prefix
from monitor.core.stream import (
    MESSAGE_KINDS,
    StreamCounts,
    StreamStatus,
    StreamUpdate,
)
from monitor.ops.backoff import Backoff
from monitor.ops.proxy import proxy_for
from monitor.ops.throttle import Throttled
from monitor.ops.waiting import until_set
from monitor.sources.rislive_origins import OnOrigination, OriginTap
from monitor.sources.rislive_subscriptions import Pace, Subscriptions
from monitor.sources.rislive_wire import (
    MAX_FRAME_BYTES,
    FrameError,
    Ignored,
    Pong,
    SubscribeOk,
    decode_frame,
)

log = logging.getLogger(__name__)

DEFAULT_URL = "wss://ris-live.ripe.net/v1/ws/?client=radar-monitor"
#: Three IPv4 and three IPv6 RIS beacons (of rrc00, rrc01 and rrc03), the first of each family
#: in BGPalerter's list: announced and withdrawn every two hours, each from its own collector.
BEACONS = (
    "84.205.64.0/24",
    "84.205.65.0/24",
    "84.205.67.0/24",
    "2001:7fb:fe00::/48",
    "2001:7fb:fe01::/48",
    "2001:7fb:fe03::/48",
)
_PING = '{"type": "ping", "data": null}'
USER_AGENT = f"radar-monitor/{__version__}"


@dataclass(frozen=True)
class Timing:
    """Keepalive, dead-socket and reconnect timing in seconds (tests shrink them)."""

    ping_interval: float = 15.0
    dead_after: float = 45.0
    connect_timeout: float = 30.0
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    stable_after: float = 60.0
    close_timeout: float = 2.0


class RisLiveSource:
    """Streams RIS Live for `prefixes` until `close()`, reconnecting on its own.

    Callbacks (plain functions, called on the loop): `on_update(update, received)` with the
    `time.monotonic()` of the frame's arrival; `on_status` when the socket comes up or goes
    down (the first failed attempt counts as going down); `on_canary(seen_at)` when a beacon
    moved; `on_error(message)` for each `ris_error`, `on_malformed(reason)` for each frame that
    did not decode (both also logged here, throttled), `on_origination` for a route an AS of
    `origins` originates for a prefix not watched. A callback that raises is logged, throttled,
    and the stream goes on. Updates arrive as RIS Live filtered them: just after
    `update_prefixes`, one for a prefix that was removed may still be in flight.
    """

    def __init__(
        self,
        prefixes: Iterable[str],
        *,
        on_update: Callable[[StreamUpdate, float], None],
        on_status: Callable[[StreamStatus], None],
        on_canary: Callable[[datetime], None],
        on_error: Callable[[str], None],
        on_malformed: Callable[[str], None],
        url: str = DEFAULT_URL,
        timing: Timing | None = None,
        pace: Pace | None = None,
        draw: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        beacons: Iterable[str] = BEACONS,
        origins: Iterable[int] = (),
        on_origination: OnOrigination = lambda seen: None,
    ) -> None:
        self.url = url
        self.timing = timing or Timing()
        self._on_update, self._on_status, self._on_canary = on_update, on_status, on_canary
        self._on_error, self._on_malformed = on_error, on_malformed
        self._sleep = sleep
        self.backoff = Backoff(self.timing.backoff_base, self.timing.backoff_max, draw)
        beacon_list = tuple(dict.fromkeys(map(normalise_prefix, beacons)))
        self._beacons = frozenset(beacon_list)
        self.subscriptions = Subscriptions(
            map(normalise_prefix, prefixes), beacon_list, pace or Pace(), origins=origins
        )
        self._tap = OriginTap(self.subscriptions, on_origination)
        self._canary_only = self._beacons - self.subscriptions.watched
        self._wake = asyncio.Event()
        self._closing = False
        self._inner: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()
        self._connected: bool | None = None
        self._connected_at: float | None = None
        #: When the open socket last delivered a frame (`time.monotonic()`).
        self._heard = 0.0
        self._messages = dict.fromkeys(MESSAGE_KINDS, 0)
        self._malformed_log = Throttled(log, logging.WARNING)
        self._error_log = Throttled(log, logging.WARNING)
        self._callback_log = Throttled(log, logging.ERROR)
        self._warn_left_out()

    def __repr__(self) -> str:
        return f"RisLiveSource(url={self.url!r}, watched={len(self.subscriptions.watched)})"

    @property
    def connected(self) -> bool:
        """Whether a socket is open now."""
        return bool(self._connected)

    def counts(self) -> StreamCounts:
        """Messages by kind since start and subscriptions by state now."""
        return StreamCounts(dict(self._messages), self.subscriptions.counts())

    def update_prefixes(self, prefixes: Iterable[str], origins: Iterable[int] = ()) -> None:
        """Watch `prefixes` and follow `origins` from now on, on the open socket (no reconnect)."""
        subs, before = self.subscriptions, self.subscriptions.watched
        subs.want(map(normalise_prefix, prefixes), origins)
        new, gone = len(subs.watched - before), len(before - subs.watched)
        log.info("RIS Live: watch list now %d prefixes (+%d, -%d)", len(subs.watched), new, gone)
        self._canary_only = self._beacons - subs.watched
        self._warn_left_out()
        self._wake.set()

    async def run(self) -> None:
        """Stream until `close()`; never raises but `CancelledError`."""
        self._stopped.clear()
        try:
            async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None), headers={"User-Agent": USER_AGENT}
            ) as session:
                while not self._closing:
                    self._inner = asyncio.create_task(self._cycle(session))
                    try:
                        await self._inner
                    except asyncio.CancelledError:
                        current = asyncio.current_task()
                        if not self._closing or (current is not None and current.cancelling()):
                            raise
        finally:
            self._inner = None
            self._down("stopped")
            self._stopped.set()

    async def close(self) -> None:
        """Stop streaming: close the socket and let `run()` return."""
        self._closing = True
        if self._inner is not None:
            self._inner.cancel()
            await until_set(self._stopped, self.timing.close_timeout + 1.0)

    async def _cycle(self, session: aiohttp.ClientSession) -> None:
        """One connection, from the handshake until it ends, then the wait before the next."""
        self._connected_at = None
        try:
            reason = await self._connection(session)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the stream must outlive any bug of ours
            reason = f"internal error: {type(exc).__name__}: {exc}"
            log.error("RIS Live: %s", reason)
        up_since = self._connected_at
        up_for = time.monotonic() - up_since if up_since is not None else 0.0
        if up_since is not None and not self.subscriptions.settled:
            self.subscriptions.slow_down()
            log.warning(
                "RIS Live socket ended while still subscribing (maybe too fast for it): "
                "at most %g subscriptions a second from now on",
                self.subscriptions.rate,
            )
        self._down(reason)
        if up_for >= self.timing.stable_after:
            self.backoff.reset()
        delay = self.backoff.next()
        log.warning("RIS Live stream down: %s; reconnecting in %.1fs", reason, delay)
        await self._sleep(delay)

    async def _connection(self, session: aiohttp.ClientSession) -> str:
        """Connect, subscribe, read until the socket ends; returns why it ended."""
        try:
            async with asyncio.timeout(self.timing.connect_timeout):
                ws = await session.ws_connect(
                    self.url,
                    decode_text=False,  # the decoder checks UTF-8 itself, in the same pass
                    heartbeat=self.timing.ping_interval,
                    max_msg_size=MAX_FRAME_BYTES,
                    timeout=aiohttp.ClientWSTimeout(ws_close=self.timing.close_timeout),
                    proxy=proxy_for(self.url.replace("wss://", "https://", 1)),
                )
        except TimeoutError:
            return f"no connection within {self.timing.connect_timeout:g}s"
        except aiohttp.WSServerHandshakeError as exc:
            return f"RIS Live refused the WebSocket (HTTP {exc.status})"
        except (aiohttp.ClientError, OSError) as exc:
            return f"cannot connect: {type(exc).__name__}: {exc}"
        try:
            self.subscriptions.restart()
            self._up()
            return await self._serve(ws)
        finally:
            await ws.close()

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse[Literal[False]]) -> str:
        """Read, write and watch until one of them ends; the reason of the first to end."""
        self._heard = time.monotonic()
        tasks = {
            asyncio.create_task(self._read(ws)),
            asyncio.create_task(self._write(ws)),
            asyncio.create_task(self._watch()),
        }
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            return next(iter(done)).result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse[Literal[False]]) -> str:
        """Hand on every frame until the socket ends."""
        text, binary = aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY
        while True:
            msg = await ws.receive()
            kind = msg.type
            if kind is text or kind is binary:
                self._heard = heard = time.monotonic()
                self._handle(msg.data, heard)
            elif kind is aiohttp.WSMsgType.ERROR:
                error = msg.data if isinstance(msg.data, BaseException) else ws.exception()
                return f"socket error: {error or 'unknown'}"
            elif kind in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING):
                return f"RIS Live closed the socket (code {ws.close_code})"
            elif kind is aiohttp.WSMsgType.CLOSED:
                return f"socket closed: {ws.exception() or 'by the server'}"

    async def _watch(self) -> str:
        """Return once no frame came for `dead_after`: the socket is dead.

        WebSocket pongs do not count: a proxy in front of a hung server still sends them. A
        timer of its own, not a timeout around each read: at 50,000 frames a second, one timer
        per frame cost more than decoding it.
        """
        # A deadline that every frame pushes on: no event to wait for.
        while (left := self._heard + self.timing.dead_after - time.monotonic()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(left)
        return f"no message for {self.timing.dead_after:g}s, not even a pong"

    async def _write(self, ws: aiohttp.ClientWebSocketResponse[Literal[False]]) -> str:
        """Send RIS pings on time and subscriptions at their pace; returns if a send fails."""
        started = time.monotonic()
        next_ping = started + self.timing.ping_interval
        reported = self.subscriptions.settled
        try:
            while True:
                self._wake.clear()
                if time.monotonic() >= next_ping:
                    await ws.send_str(_PING)
                    next_ping = time.monotonic() + self.timing.ping_interval
                while (command := self.subscriptions.next_command()) is not None:
                    await ws.send_str(command.frame())
                if self.subscriptions.settled and not reported:
                    reported = True
                    self._report_subscribed(time.monotonic() - started)
                wait = self.subscriptions.wait_time()
                timeout = next_ping - time.monotonic()
                if wait is not None:
                    timeout = min(timeout, wait)
                await until_set(self._wake, max(0.0, timeout))
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
            return f"cannot send: {type(exc).__name__}: {exc}"

    def _handle(self, frame: str | bytes, received: float) -> None:
        try:
            message = decode_frame(frame)
        except FrameError as exc:
            self._messages["malformed"] += 1
            self._malformed_log(f"RIS Live sent a malformed frame: {exc}")
            self._call(self._on_malformed, str(exc))
            return
        kinds = self._messages
        if isinstance(message, StreamUpdate):
            kinds["update"] += 1
            self._update(message, received)
        elif isinstance(message, Pong):
            kinds["pong"] += 1
        elif isinstance(message, SubscribeOk):
            kinds["subscribe_ok"] += 1
            self.subscriptions.acknowledged(message.targets)
            self._wake.set()
        elif isinstance(message, Ignored):
            kinds["ignored"] += 1
        else:  # RisError, the last kind of `Message`
            kinds["error"] += 1
            self._error_log(f"RIS Live reported an error: {message.message}")
            self._call(self._on_error, message.message)

    def _update(self, update: StreamUpdate, received: float) -> None:
        """Beacons go to the canary (and on, only if watched too); the rest to `on_update`."""
        beacons = self._beacons
        # Nearly every update is about no beacon: two plain loops, nothing built to look.
        moved = False
        for route in update.routes:
            moved = moved or route.prefix in beacons
        for withdrawal in update.withdrawals:
            moved = moved or withdrawal.prefix in beacons
        if moved:
            update = self._canary(update)
        if self.subscriptions.origins:  # the origin paths' routes of prefixes not watched
            self._call(self._tap.routes, update.routes)
        if update.routes or update.withdrawals:
            try:
                self._on_update(update, received)
            except Exception as exc:  # as in `_call`, spelt out: this runs for every frame
                self._callback_failed(exc)

    def _canary(self, update: StreamUpdate) -> StreamUpdate:
        """Tell the canary that beacons moved; the update without the beacons not watched."""
        beacons, only = self._beacons, self._canary_only
        moved = [r.seen_at for r in update.routes if r.prefix in beacons]
        moved += [w.seen_at for w in update.withdrawals if w.prefix in beacons]
        self._call(self._on_canary, max(moved))
        return StreamUpdate(
            tuple(r for r in update.routes if r.prefix not in only),
            tuple(w for w in update.withdrawals if w.prefix not in only),
        )

    def _call(self, callback: Callable[..., None], *args: Any) -> None:
        try:
            callback(*args)
        except Exception as exc:  # a bug past the source must not end the stream
            self._callback_failed(exc)

    def _callback_failed(self, exc: Exception) -> None:
        self._callback_log(f"RIS Live: a stream callback failed: {type(exc).__name__}: {exc}")

    def _up(self) -> None:
        self._connected, self._connected_at = True, time.monotonic()
        log.info("RIS Live connected to %s", self.url)
        self._call(self._on_status, StreamStatus(connected=True, at=datetime.now(UTC)))

    def _down(self, reason: str) -> None:
        """Report the socket down, once per outage (the first failed attempt included)."""
        if self._connected is False:
            return
        self._connected = False
        status = StreamStatus(connected=False, at=datetime.now(UTC), reason=reason)
        self._call(self._on_status, status)

    def _report_subscribed(self, seconds: float) -> None:
        subs = self.subscriptions
        missing = f", {subs.unacknowledged} never acknowledged" if subs.unacknowledged else ""
        log.info("RIS Live: %d subscriptions in %.1fs%s", len(subs.wanted), seconds, missing)

    def _warn_left_out(self) -> None:
        if left := self.subscriptions.left_out:
            limit = len(self.subscriptions.watched)
            log.error("RIS Live: %d watched prefixes left unsubscribed, above %d", left, limit)
