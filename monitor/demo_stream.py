"""The demo's RIS Live: a loopback WebSocket server that speaks RIS Live and plays a story.

`radar-monitor demo` points its `stream.url` at one, so the real client, RIB, judge and
notifications run offline. Like RIS Live it answers `ping` with `pong`, acknowledges a
subscription that asks for it with `ris_subscribe_ok` (echoing it), answers WebSocket pings,
sends a `ris_message` only to a connection that subscribed its prefix (or a less-specific of
it, with `moreSpecific`, the default), answers anything else with `ris_error`, and closes a
connection too slow to keep up. Frames have the shape of the captures in
`shared/radar-samples/rislive/` and carry the time they are sent.

The story (`monitor.demo_story`) starts with the first subscription, so that a client sees
all of it, plays `speed` times faster than it happened, and starts over at its end. Each
event that has something to say is handed to `on_event` as it plays.

Bounds: 127.0.0.1 only; at most `MAX_CONNECTIONS` connections (more get HTTP 503), messages
from a client of at most `MAX_MESSAGE_BYTES`, `MAX_SUBSCRIPTIONS` per connection, and
`MAX_QUEUED` frames waiting for one connection (beyond: it is closed, as RIS Live does).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import json
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from monitor.demo_story import Event, Frame, Story

log = logging.getLogger(__name__)

WS_PATH = "/v1/ws/"
MAX_CONNECTIONS = 8
MAX_MESSAGE_BYTES = 64 * 1024
MAX_SUBSCRIPTIONS = 20_000
MAX_QUEUED = 10_000
CLOSE_TIMEOUT = 1.0

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def wants(subscriptions: dict[Network, bool], prefix: Network) -> bool:
    """Whether a frame about `prefix` passes `subscriptions` (prefix → with more-specifics):
    one lookup per length, whatever the number of subscriptions."""
    if prefix in subscriptions:
        return True
    for length in range(prefix.prefixlen - 1, -1, -1):
        if subscriptions.get(prefix.supernet(new_prefix=length)):
            return True
    return False


@dataclass(eq=False)
class _Connection:
    ws: web.WebSocketResponse
    subscriptions: dict[Network, bool] = field(default_factory=dict)
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(MAX_QUEUED))


class RisLivePlayer:
    """Plays `story` as RIS Live on `ws://127.0.0.1:PORT/v1/ws/` (`async with` or start/aclose).

    `speed` overrides the story's own (tests play it faster).
    """

    def __init__(
        self,
        story: Story,
        *,
        on_event: Callable[[Event], None] = lambda event: None,
        speed: float | None = None,
    ) -> None:
        self.story = story
        self.speed = speed or story.speed
        self._on_event = on_event
        self._connections: set[_Connection] = set()
        self._subscribed = asyncio.Event()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        """`ws://127.0.0.1:PORT/v1/ws/?client=radar-monitor-demo`."""
        if self._port is None:
            raise RuntimeError("the RIS Live player is not running")
        return f"ws://127.0.0.1:{self._port}{WS_PATH}?client=radar-monitor-demo"

    async def start(self) -> None:
        """Listen on an ephemeral loopback port and wait for the first subscription."""
        app = web.Application()
        app.router.add_get(WS_PATH, self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=CLOSE_TIMEOUT)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(runner, sock).start()
        self._runner, self._port = runner, sock.getsockname()[1]
        self._spawn(self._play())

    async def aclose(self) -> None:
        """Stop playing, close every connection and stop listening."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for conn in list(self._connections):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(), CLOSE_TIMEOUT)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = self._port = None

    async def __aenter__(self) -> RisLivePlayer:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        """Forget a finished task; a failure is logged, not left for the garbage collector."""
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("demo RIS Live: %s failed: %r", task.get_coro(), task.exception())

    # -- the story ---------------------------------------------------------------------------

    async def _play(self) -> None:
        """Every event and frame at its time, round after round, from the first subscription."""
        await self._subscribed.wait()
        loop = asyncio.get_running_loop()
        started = loop.time()
        story = self.story
        for round_ in itertools.count():
            base = started + round_ * story.length / self.speed
            for event in story.events:
                await asyncio.sleep(max(0.0, base + event.offset / self.speed - loop.time()))
                if event.say:
                    self._on_event(event)
                for frame in event.frames:
                    await asyncio.sleep(max(0.0, base + frame.offset / self.speed - loop.time()))
                    self._broadcast(frame)
            await asyncio.sleep(max(0.0, base + story.length / self.speed - loop.time()))

    def _broadcast(self, frame: Frame) -> None:
        networks = [ipaddress.ip_network(p) for p in frame.prefixes]
        text = json.dumps(self._message(frame), separators=(",", ":"))
        for conn in list(self._connections):
            if any(wants(conn.subscriptions, n) for n in networks):
                self._offer(conn, text)

    def _message(self, frame: Frame) -> dict[str, Any]:
        """The `ris_message` of `frame`, shaped like the real captures, stamped now."""
        peer, number = frame.peer, next(self._ids)
        data: dict[str, Any] = {
            "timestamp": round(time.time(), 2),
            "peer": peer.address,
            "peer_asn": str(peer.asn),
        }
        if frame.path is None:  # the newer withdrawal format (rrc25.ripe.net in the captures)
            data |= {
                "id": f"{peer.address}-{number:016x}",
                "host": f"{peer.collector}.ripe.net",
                "type": "UPDATE",
                "path": [],
                "community": [],
                "announcements": [],
                "withdrawals": list(frame.prefixes),
            }
        else:
            data |= {
                "id": f"{peer.collector.removeprefix('rrc')}-{number}",
                "host": peer.collector,
                "type": "UPDATE",
                "path": list(frame.path),
                "community": [],
                "origin": "igp",
                "announcements": [{"next_hop": peer.address, "prefixes": list(frame.prefixes)}],
            }
        return {"type": "ris_message", "data": data}

    # -- connections ------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if len(self._connections) >= MAX_CONNECTIONS:
            return web.Response(status=503, text="too many connections to the demo's RIS Live")
        ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES)
        await ws.prepare(request)
        conn = _Connection(ws)
        self._connections.add(conn)
        sender = asyncio.create_task(self._send(conn))
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    self._from_client(conn, msg.data)
                else:
                    self._error(conn, "only text messages are understood")
        finally:
            sender.cancel()
            self._connections.discard(conn)
        return ws

    async def _send(self, conn: _Connection) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while True:
                await conn.ws.send_str(await conn.queue.get())

    def _offer(self, conn: _Connection, text: str) -> None:
        try:
            conn.queue.put_nowait(text)
        except asyncio.QueueFull:
            log.warning("demo RIS Live: a client fell %d frames behind; closing it", MAX_QUEUED)
            self._connections.discard(conn)
            self._spawn(conn.ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow"))

    def _error(self, conn: _Connection, message: str) -> None:
        self._offer(conn, json.dumps({"type": "ris_error", "data": {"message": message}}))

    def _from_client(self, conn: _Connection, text: str) -> None:
        try:
            doc = json.loads(text)
        except ValueError:
            self._error(conn, "could not parse message as JSON")
            return
        kind = doc.get("type") if isinstance(doc, dict) else None
        data = doc.get("data") if isinstance(doc, dict) else None
        if kind == "ping":
            self._offer(conn, '{"type":"pong","data":null}')
        elif kind in ("ris_subscribe", "ris_unsubscribe") and isinstance(data, dict):
            self._subscription(conn, kind, data)
        else:
            self._error(conn, f"unknown message type {str(kind)[:40]!r}")

    def _subscription(self, conn: _Connection, kind: str, data: dict[str, Any]) -> None:
        raw = data.get("prefix")
        listed: list[Any] = raw if isinstance(raw, list) else [raw]
        try:
            if not listed or not all(isinstance(p, str) for p in listed):
                raise ValueError
            networks = [ipaddress.ip_network(p, strict=False) for p in listed]
        except ValueError:
            self._error(conn, f"invalid prefix {str(raw)[:60]!r}")
            return
        if kind == "ris_unsubscribe":
            for network in networks:
                conn.subscriptions.pop(network, None)
            return
        if len(conn.subscriptions) + len(networks) > MAX_SUBSCRIPTIONS:
            self._error(conn, f"more than {MAX_SUBSCRIPTIONS} subscriptions")
            return
        more = bool(data.get("moreSpecific", True))
        for network in networks:
            conn.subscriptions[network] = more
        options = data.get("socketOptions")
        if isinstance(options, dict) and options.get("acknowledge"):
            echoed = {k: v for k, v in data.items() if k != "socketOptions"}
            reply = {"subscription": echoed, "socketOptions": options}
            self._offer(conn, json.dumps({"type": "ris_subscribe_ok", "data": reply}))
        self._subscribed.set()
