"""A fake RIS Live WebSocket server for tests and benchmarks.

EVERY FRAME IT SENDS IS SYNTHETIC, built by `testkit.rislive_frames` in the shape of the real
captures in `shared/radar-samples/rislive/`.

`FakeRisLive` serves `ws://127.0.0.1:PORT/v1/ws/` (random port), inside the test's loop
(`async with FakeRisLive() as fake`) or on a loop of its own in a background thread
(`with FakeRisLive() as fake`), for daemons that run as subprocesses. Like the real service it
filters by subscription: a frame about prefix X goes to a connection (once) only if it
subscribed X, a less-specific of X with `moreSpecific` (the default) or, announced, the path of
its origin (`{"path": "64500$"}`). It answers `ping` with `pong`, acknowledges subscriptions
that ask for it (`ris_subscribe_ok` echoing the subscription, after `ack_delay` seconds), and
records every subscription per connection. Faults: `drop()` every connection, `stall()` them
(nothing sent or answered, WebSocket pings included unless told otherwise), `send_malformed()`,
`refuse()` new connections (HTTP 503 to the upgrade) until `refuse(False)`. For benchmarks,
`flood()` writes frames made in advance straight to the sockets, unfiltered, as fast as the
client reads them or at a given rate.

Every public method may be called from any thread: changes are handed to the server's loop,
in call order; records are read under a lock, as copies.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any

from aiohttp import WSMsgType, web

from monitor.sources.rislive import BEACONS
from testkit.rislive_filter import Key, SubscriptionFilter, canonical, key, origin_of
from testkit.rislive_frames import (
    DEFAULT_COLLECTOR,
    DEFAULT_PEER,
    DEFAULT_PEER_ASN,
    PONG,
    Path,
    announcement,
    beacon,
    encode,
    malformed_frames,
    ris_error,
    subscribe_ok,
    websocket_frame,
    withdrawal,
)
from testkit.threaded import ThreadedServer

WS_PATH = "/v1/ws/"
#: Bytes `flood` leaves unsent in a socket's buffer before it waits for the client.
FLOOD_BUFFER = 1 << 20


@dataclass
class Subscribed:
    """One `ris_subscribe` or `ris_unsubscribe` a connection sent, when (`time.monotonic()`)."""

    at: float
    kind: str
    prefix: str
    more_specific: bool


@dataclass
class ConnectionRecord:
    """What one connection did: when it opened and closed, its client name, what it sent."""

    index: int
    client: str
    opened_at: float
    closed_at: float | None = None
    pings: int = 0
    log: list[Subscribed] = field(default_factory=list)
    #: Current subscriptions: canonical prefix (or origin path, `64500$`) → with more-specifics.
    subscriptions: dict[str, bool] = field(default_factory=dict)
    #: The most subscriptions ever received and not yet acknowledged at once.
    max_unacknowledged: int = 0


@dataclass
class _Connection:
    record: ConnectionRecord
    ws: web.WebSocketResponse
    request: web.Request
    outbox: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    subs: SubscriptionFilter = field(default_factory=SubscriptionFilter)
    stalled: bool = False
    #: While stalled, whether WebSocket pings are still answered (a hung backend behind a
    #: live proxy): only RIS Live's own ping then shows that the stream is dead.
    websocket_alive: bool = False
    unacknowledged: int = 0


class FakeRisLive(ThreadedServer):
    """A RIS Live fake on 127.0.0.1 that filters by subscription and fails on request."""

    def __init__(self, *, acknowledge: bool = True, ack_delay: float = 0.0) -> None:
        #: Whether subscriptions asking for an acknowledgement get one.
        self.acknowledge = acknowledge
        self.ack_delay = ack_delay
        self._lock = threading.Lock()
        self._records: list[ConnectionRecord] = []
        self._open: dict[int, _Connection] = {}
        self._refusing = False
        self.refused = 0
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- what tests read (any thread) --

    @property
    def url(self) -> str:
        """`ws://127.0.0.1:PORT/v1/ws/?client=radar-monitor-test`."""
        if self._port is None:
            raise RuntimeError("FakeRisLive is not running")
        return f"ws://127.0.0.1:{self._port}{WS_PATH}?client=radar-monitor-test"

    @property
    def connections(self) -> list[ConnectionRecord]:
        """Every connection so far, oldest first (copies)."""
        with self._lock:
            return [
                replace(r, log=list(r.log), subscriptions=dict(r.subscriptions))
                for r in self._records
            ]

    @property
    def open_connections(self) -> int:
        """Connections open now."""
        with self._lock:
            return len(self._open)

    def subscriptions(self, index: int = -1) -> dict[str, bool]:
        """The current subscriptions of connection `index` (default the latest)."""
        with self._lock:
            return dict(self._records[index].subscriptions) if self._records else {}

    # -- frames and faults (any thread) --

    def announce(
        self,
        prefix: str,
        path: Path,
        *,
        peer: str = DEFAULT_PEER,
        peer_asn: int | None = None,
        collector: str = DEFAULT_COLLECTOR,
        timestamp: float | None = None,
    ) -> None:
        """`peer` at `collector` announces `prefix` over `path`, to who subscribed it or its AS."""
        frame = announcement(
            prefix, path, peer=peer, peer_asn=peer_asn, collector=collector, timestamp=timestamp
        )
        self.send(frame, prefix, path[-1] if path and isinstance(path[-1], int) else None)

    def withdraw(
        self,
        prefix: str,
        *,
        peer: str = DEFAULT_PEER,
        peer_asn: int = DEFAULT_PEER_ASN,
        collector: str = DEFAULT_COLLECTOR,
        timestamp: float | None = None,
    ) -> None:
        """`peer` at `collector` withdraws `prefix`, to whoever subscribed it."""
        frame = withdrawal(
            prefix, peer=peer, peer_asn=peer_asn, collector=collector, timestamp=timestamp
        )
        self.send(frame, prefix)

    def beacon(
        self, prefix: str = BEACONS[0], *, announce: bool = True, timestamp: float | None = None
    ) -> None:
        """The RIS beacon `prefix` is announced (or withdrawn), to whoever subscribed it."""
        self.send(beacon(prefix, announce=announce, timestamp=timestamp), prefix)

    def send(
        self, frame: dict[str, Any] | str, prefix: str | None = None, origin: int | None = None
    ) -> None:
        """Send `frame` (a dict, or raw text) to the connections subscribed to `prefix` (or
        `origin`'s path), or to every connection if `prefix` is None."""
        text = frame if isinstance(frame, str) else encode(frame)
        about = None if prefix is None else key(prefix)
        if prefix is not None and about is None:
            raise ValueError(f"not a prefix: {prefix!r}")
        self._later(lambda: self._deliver(text, about, origin))

    def flood(
        self,
        frames: Sequence[str],
        *,
        rate: float | None = None,
        repeat: int = 1,
        chunk: int = 500,
    ) -> concurrent.futures.Future[float]:
        """Write `frames`, `repeat` times over, to every open connection, `chunk` at a time, as
        fast as the client takes them or `rate` a second; the future gives the seconds it took.
        Nothing is filtered: `frames` should be about what the connections subscribed."""
        blobs = [
            b"".join(websocket_frame(f) for f in frames[i : i + chunk])
            for i in range(0, len(frames), chunk)
        ]
        if self._loop is None:
            raise RuntimeError("FakeRisLive is not running")
        flood = self._flood(blobs * repeat, chunk / rate if rate else 0.0)
        return asyncio.run_coroutine_threadsafe(flood, self._loop)

    def send_malformed(self, count: int = 1) -> None:
        """Send `count` malformed frames (each a different kind of wrong) to every connection."""
        kinds = malformed_frames()
        for i in range(count):
            self.send(kinds[i % len(kinds)])

    def drop(self) -> None:
        """Cut every open connection (no WebSocket close: the TCP connection just ends)."""
        self._later(self._drop)

    def stall(self, *, websocket_alive: bool = False) -> None:
        """The open connections go silent: nothing sent, no `pong`, and unless
        `websocket_alive` no answer to WebSocket pings either."""
        self._later(lambda: self._stall(websocket_alive))

    def refuse(self, refusing: bool = True) -> None:
        """Answer new connections with HTTP 503 (or accept them again)."""
        with self._lock:
            self._refusing = refusing

    # -- lifecycle --

    async def start(self) -> None:
        """Serve on the running loop."""
        app = web.Application()
        app.router.add_get(WS_PATH, self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(runner, sock).start()
        self._runner, self._port = runner, sock.getsockname()[1]
        self._loop = asyncio.get_running_loop()

    async def aclose(self) -> None:
        """Close every connection and stop serving."""
        for conn in list(self._open.values()):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(), 1.0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = self._port = None

    async def __aenter__(self) -> FakeRisLive:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- on the server's loop --

    def _later(self, action: Callable[[], None]) -> None:
        if self._loop is None:
            raise RuntimeError("FakeRisLive is not running")
        self._loop.call_soon_threadsafe(action)

    def _deliver(self, text: str, about: Key | None, origin: int | None) -> None:
        for conn in list(self._open.values()):
            if not conn.stalled and (about is None or conn.subs.wants(about, origin)):
                conn.outbox.put_nowait(text)

    async def _flood(self, blobs: list[bytes], every: float) -> float:
        started = time.monotonic()
        transports = [c.request.transport for c in self._open.values() if not c.stalled]
        for i, blob in enumerate(blobs):
            await asyncio.sleep(max(0.0, started + i * every - time.monotonic()))
            for transport in transports:
                if transport is not None and not transport.is_closing():
                    transport.write(blob)  # whole frames: nothing else writes mid-frame
                    # The client reads slower: wait for it (a bare transport has no drain).
                    while transport.get_write_buffer_size() > FLOOD_BUFFER:  # noqa: ASYNC110
                        await asyncio.sleep(0.001)
        return time.monotonic() - started

    def _drop(self) -> None:
        for conn in list(self._open.values()):
            if conn.request.transport is not None:
                conn.request.transport.abort()

    def _stall(self, websocket_alive: bool) -> None:
        for conn in self._open.values():
            conn.stalled, conn.websocket_alive = True, websocket_alive

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            if self._refusing:
                self.refused += 1
                return web.Response(status=503, text="refused (fake RIS Live fault)")
        ws = web.WebSocketResponse(autoping=False, max_msg_size=1 << 20)
        await ws.prepare(request)
        with self._lock:
            record = ConnectionRecord(
                len(self._records), request.query.get("client", ""), time.monotonic()
            )
            self._records.append(record)
            conn = _Connection(record, ws, request)
            self._open[record.index] = conn
        sender = asyncio.create_task(self._send_loop(conn))
        try:
            async for msg in ws:
                if msg.type is WSMsgType.PING and (conn.websocket_alive or not conn.stalled):
                    await ws.pong(msg.data)
                elif conn.stalled:
                    continue
                elif msg.type is WSMsgType.TEXT:
                    self._from_client(conn, msg.data)
        finally:
            sender.cancel()
            with self._lock:
                self._open.pop(record.index, None)
                record.closed_at = time.monotonic()
        return ws

    async def _send_loop(self, conn: _Connection) -> None:
        while True:
            text = await conn.outbox.get()
            if not conn.stalled:
                await conn.ws.send_str(text)

    def _from_client(self, conn: _Connection, text: str) -> None:
        try:
            doc = json.loads(text)
            kind, data = doc.get("type"), doc.get("data") or {}
        except (ValueError, AttributeError):
            conn.outbox.put_nowait(encode(ris_error("could not parse message as JSON")))
            return
        if kind == "ping":
            with self._lock:
                conn.record.pings += 1
            conn.outbox.put_nowait(encode(PONG))
        elif kind in ("ris_subscribe", "ris_unsubscribe") and isinstance(data, dict):
            self._subscription(conn, kind, data)
        else:
            conn.outbox.put_nowait(encode(ris_error(f"unknown message type {kind!r}")))

    def _subscription(self, conn: _Connection, kind: str, data: dict[str, Any]) -> None:
        raw, path = data.get("prefix"), data.get("path")
        prefixes: Sequence[Any] = raw if isinstance(raw, list) else [raw]
        texts = [canonical(p) if isinstance(p, str) else None for p in prefixes]
        if raw is None and path is not None:  # every route its origin AS announces
            texts = [path if origin_of(path) is not None else None]
        if not prefixes or None in texts:
            what = f"prefix {raw!r}" if path is None else f"path {path!r} (only ASN$ here)"
            conn.outbox.put_nowait(encode(ris_error(f"invalid {what}")))
            return
        more, now = bool(data.get("moreSpecific", True)) and raw is not None, time.monotonic()
        with self._lock:
            for target in texts:
                assert target is not None
                conn.record.log.append(Subscribed(now, kind, target, more))
                if kind == "ris_subscribe":
                    conn.record.subscriptions[target] = more
                    conn.subs.add(target, more)
                else:
                    conn.record.subscriptions.pop(target, None)
                    conn.subs.remove(target)
        options = data.get("socketOptions") or {}
        if kind == "ris_subscribe" and self.acknowledge and options.get("acknowledge"):
            self._acknowledge_later(conn, data)

    def _acknowledge_later(self, conn: _Connection, data: dict[str, Any]) -> None:
        with self._lock:
            conn.unacknowledged += 1
            conn.record.max_unacknowledged = max(
                conn.record.max_unacknowledged, conn.unacknowledged
            )

        def ack() -> None:
            with self._lock:
                conn.unacknowledged -= 1
            if not conn.stalled:
                conn.outbox.put_nowait(encode(subscribe_ok(data)))

        assert self._loop is not None
        if self.ack_delay > 0:
            self._loop.call_later(self.ack_delay, ack)
        else:
            ack()
