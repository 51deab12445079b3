"""The listener's connection cap over real sockets: who makes room at the limit, who is refused,
and TLS handshakes counted and timed out like any other connection."""

from __future__ import annotations

import asyncio
import resource
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from monitor.exposition.connections import (
    GUARD,
    MAX_CLOSING,
    MAX_CONNECTIONS,
    RESERVED_FDS,
    ConnectionGuard,
    GuardedSite,
    Room,
    connection_limit,
    listening_sockets,
    mark_answering,
)
from monitor.exposition.listener_metrics import ListenerMetrics
from testkit.waiting import until

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Listener:
    """A guarded listener with a handler that answers once `release` is set."""

    def __init__(self, limit: int) -> None:
        self.registry = CollectorRegistry()
        self.guard = ConnectionGuard(limit, ListenerMetrics(self.registry))
        self.release = asyncio.Event()
        self.port = 0
        self.clients: list[Streams] = []

    def sample(self, name: str) -> float:
        """A sample of the listener's metrics (0 when absent)."""
        return self.registry.get_sample_value(name) or 0.0

    def dropped(self, reason: str) -> float:
        """Connections dropped for `reason`."""
        name = "radar_monitor_http_connections_dropped_total"
        return self.registry.get_sample_value(name, {"reason": reason}) or 0.0

    async def handler(self, request: web.Request) -> web.Response:
        await self.release.wait()
        return web.Response(text="ok")

    def accepted(self) -> float:
        """Connections accepted so far, while none closes by itself (here: every test)."""
        held = self.sample("radar_monitor_http_connections")
        return held + self.dropped("evicted") + self.dropped("refused")

    async def connect(self) -> Streams:
        """A client connection, once the listener has accepted it."""
        before = self.accepted()
        streams = await asyncio.open_connection("127.0.0.1", self.port)
        self.clients.append(streams)
        await until(lambda: self.accepted() > before)
        return streams


def closed(streams: Streams) -> bool:
    """Whether the server closed this client's connection (all it sent has been read)."""
    return streams[0].at_eof()


async def served_without_answer(streams: Streams) -> bool:
    """Whether the server closed the connection before answering anything."""
    try:
        return await asyncio.wait_for(streams[0].read(), 5) == b""
    except ConnectionResetError:
        return True


@asynccontextmanager
async def listening(
    limit: int, tls: ssl.SSLContext | None = None, handshake: float = 15.0
) -> AsyncIterator[Listener]:
    listener = Listener(limit)
    app = web.Application(middlewares=[mark_answering])
    app[GUARD] = listener.guard
    app.router.add_get("/", listener.handler)
    runner = web.AppRunner(app)
    await runner.setup()
    (sock,) = await listening_sockets("127.0.0.1", 0, listener.guard)
    await GuardedSite(runner, sock, tls, handshake).start()
    listener.port = sock.getsockname()[1]
    try:
        yield listener
    finally:
        listener.release.set()
        for _, writer in listener.clients:
            writer.close()
        await runner.cleanup()


async def request(streams: Streams) -> None:
    streams[1].write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await streams[1].drain()


@pytest.mark.parametrize(
    ("soft", "limit"),
    [(200, 50), (256, 96), (1024, 512), (8192, MAX_CONNECTIONS), (resource.RLIM_INFINITY, 512)],
)
def test_the_limit_leaves_descriptors_for_everything_else(soft: int, limit: int) -> None:
    assert connection_limit(soft) == limit
    if soft != resource.RLIM_INFINITY:
        # Beyond the connections and those being closed: descriptors for everything else.
        assert soft - (limit + MAX_CLOSING) >= min(RESERVED_FDS, soft // 2)


async def test_at_the_limit_the_longest_idle_connection_makes_room() -> None:
    async with listening(3) as listener:
        a, b, c = [await listener.connect() for _ in range(3)]
        d = await listener.connect()
        assert await served_without_answer(a)
        # b answers a request, so it is now more recently active than c.
        await request(b)
        listener.release.set()
        assert (await b[0].readline()).startswith(b"HTTP/1.1 200")
        listener.release.clear()
        e = await listener.connect()
        assert await served_without_answer(c)
        assert not any(map(closed, (b, d, e)))
        assert listener.dropped("evicted") == 2
        assert listener.sample("radar_monitor_http_connections") == 3
        assert listener.sample("radar_monitor_http_connections_limit") == 3


async def test_connections_answering_are_kept_and_newcomers_refused_when_all_are() -> None:
    async with listening(2) as listener:
        a, b = [await listener.connect() for _ in range(2)]
        await request(a)
        await request(b)
        await until(lambda: listener.guard.room() is Room.FULL)
        c = await listener.connect()
        assert await served_without_answer(c)
        assert listener.dropped("refused") == 1
        listener.release.set()
        for streams in (a, b):
            assert (await streams[0].readline()).startswith(b"HTTP/1.1 200")
        assert listener.dropped("evicted") == 0


async def test_a_tls_handshake_is_counted_and_given_up_on(pki: Path) -> None:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(pki / "server.pem", pki / "server.key")
    async with listening(1, tls, handshake=0.5) as listener:
        silent = await listener.connect()  # never says hello
        assert listener.sample("radar_monitor_http_connections") == 1
        assert await served_without_answer(silent)
        await until(lambda: listener.sample("radar_monitor_http_connections") == 0)


async def test_a_port_in_use_is_an_os_error() -> None:
    async with listening(1) as listener:
        guard = ConnectionGuard(1, ListenerMetrics(CollectorRegistry()))
        with pytest.raises(OSError, match="in use"):
            await listening_sockets("127.0.0.1", listener.port, guard)
