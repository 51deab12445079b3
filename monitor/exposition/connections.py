"""The listener's connections: a cap below the file descriptor limit, and who goes at the cap.

Every accepted socket is counted from `accept()` to `close()`, TLS handshakes included, so the
count is what the listener holds in descriptors. At the cap the connection idle the longest
(waiting for its request, never one being answered) is shut down to make room; a burst faster
than the loop closes those waits in the kernel's queue meanwhile. A newcomer is refused only
when every connection is answering a request. A client holding many silent sockets can then
neither lock out a scraper that sends its request at once nor take the descriptors that
polling, channels and the state database need.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import errno
import logging
import resource
import socket
import ssl
import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from monitor.exposition.listener_metrics import ListenerMetrics
from monitor.ops.throttle import ThrottledWarning

log = logging.getLogger(__name__)

#: Descriptors left to everything but the listener: Radar connections, channels, the state
#: database, logs, the resolver, reading config and certificates on reload.
RESERVED_FDS = 128
#: Plenty for scrapers, probes and browsers; a higher cap only gives a flood more to hold.
MAX_CONNECTIONS = 512
#: Connections shut down to make room whose descriptors the loop has not closed yet; beyond
#: this many, newcomers wait until it has.
MAX_CLOSING = 32
#: A shut down connection normally closes within a loop step or two; one taking longer than
#: this no longer makes newcomers wait: they are refused.
CLOSE_GRACE_SECONDS = 1.0


def connection_limit(soft: int | None = None) -> int:
    """How many connections the listener may hold under a soft RLIMIT_NOFILE (default: ours)."""
    if soft is None:
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return min(MAX_CONNECTIONS, max(soft - RESERVED_FDS - MAX_CLOSING, soft // 4))


class Room(enum.Enum):
    """What the guard can do for one more connection."""

    #: Below the limit.
    FREE = enum.auto()
    #: At the limit, with an idle connection to shut down for it.
    EVICT = enum.auto()
    #: At the limit with as many shut down as may be: the loop closes them within a step or
    #: two, and until then newcomers wait in the kernel's queue instead of being refused.
    SOON = enum.auto()
    #: At the limit, every connection answering a request: the newcomer is refused.
    FULL = enum.auto()


class ConnectionGuard:
    """Admits accepted sockets up to `limit`, evicting the least recently active idle one."""

    def __init__(self, limit: int, metrics: ListenerMetrics) -> None:
        self.limit = limit
        self._metrics = metrics
        metrics.limit(limit)
        #: By descriptor, least recently active first (accepted, or started or ended a request).
        self._open: OrderedDict[int, socket.socket] = OrderedDict()
        self._busy: set[int] = set()
        #: Shut down, not closed yet by the loop: descriptor → when (monotonic).
        self._closing: dict[int, float] = {}
        self._warnings = {
            "evicted": ThrottledWarning(log, self._describe_evicted),
            "refused": ThrottledWarning(log, self._describe_refused),
        }

    def room(self) -> Room:
        """Whether one more connection can be served now, after an eviction, soon, or not."""
        if len(self._open) - len(self._closing) < self.limit:
            return Room.FREE
        if len(self._closing) >= MAX_CLOSING:
            # One that does not close (its reading paused) must not hold up every newcomer.
            stuck = time.monotonic() - min(self._closing.values()) > CLOSE_GRACE_SECONDS
            return Room.FULL if stuck else Room.SOON
        return Room.EVICT if self._idlest() is not None else Room.FULL

    def admit(self, conn: socket.socket, room: Room) -> bool:
        """Serve `conn` (evicting the idlest for EVICT), or count it refused (FULL)."""
        if room is Room.EVICT:
            self._evict()
        elif room is not Room.FREE:
            self._drop("refused")
            return False
        self._open[conn.fileno()] = conn
        self._metrics.connections(1)
        return True

    def release(self, conn: socket.socket) -> None:
        """`conn` is being closed: its descriptor is free again."""
        fd = conn.fileno()
        if self._open.get(fd) is conn:
            del self._open[fd]
            self._busy.discard(fd)
            self._closing.pop(fd, None)
            self._metrics.connections(-1)

    @contextlib.contextmanager
    def answering(self, fd: int) -> Iterator[None]:
        """While a request of the connection on `fd` is answered, it is never evicted."""
        conn = self._open.get(fd)
        if conn is not None:
            self._busy.add(fd)
            self._open.move_to_end(fd)
        try:
            yield
        finally:
            # The descriptor may be another connection's by now, if this one was lost.
            if conn is not None and self._open.get(fd) is conn:
                self._busy.discard(fd)
                self._open.move_to_end(fd)

    def close(self) -> None:
        """Log what the throttled warnings counted but did not say yet."""
        for warning in self._warnings.values():
            warning.close()

    def _idlest(self) -> int | None:
        """The least recently active connection not answering and not shut down."""
        for fd in self._open:
            if fd not in self._busy and fd not in self._closing:
                return fd
        return None

    def _evict(self) -> None:
        """Shut down the idlest connection: the loop sees end of file and closes it."""
        fd = self._idlest()
        if fd is None:
            return
        # Closing the descriptor here would pull it from under the loop, which could then
        # mistake the next connection given that number for this one.
        with contextlib.suppress(OSError):  # the peer may have reset it already
            self._open[fd].shutdown(socket.SHUT_RDWR)
        self._closing[fd] = time.monotonic()
        self._drop("evicted")

    def _drop(self, reason: str) -> None:
        self._metrics.dropped(reason)
        self._warnings[reason].note()

    def _describe_evicted(self, count: int) -> str:
        return (
            f"HTTP listener at its limit of {self.limit} connections: closed {count} idle"
            " connection(s) in the last minute to make room"
        )

    def _describe_refused(self, count: int) -> str:
        return (
            f"HTTP listener at its limit of {self.limit} connections: refused {count} new"
            " connection(s) in the last minute, none being idle (or the idle ones still closing)"
        )


GUARD = web.AppKey("connection_guard", ConnectionGuard)


@web.middleware
async def mark_answering(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost middleware: the connection counts as busy while its request is answered."""
    guard = request.app.get(GUARD)
    sock = request.transport.get_extra_info("socket") if request.transport else None
    if guard is None or sock is None:
        return await handler(request)
    with guard.answering(sock.fileno()):
        return await handler(request)


class _Accepted(socket.socket):
    """An accepted connection that tells its guard when it is closed."""

    guard: ConnectionGuard | None = None

    def close(self) -> None:
        """Release the descriptor in the guard, then close it."""
        if self.guard is not None:
            self.guard.release(self)
            self.guard = None
        super().close()


class _Listening(socket.socket):
    """A listening socket whose `accept()` lets the guard admit or refuse each connection."""

    guard: ConnectionGuard

    def accept(self) -> tuple[socket.socket, Any]:
        """The next admitted connection; refused ones are closed at once (no request read)."""
        while True:
            room = self.guard.room()
            if room is Room.SOON:  # the loop tries again at its next step
                raise BlockingIOError(errno.EAGAIN, "shut down connections are still closing")
            # BlockingIOError once none are left: the loop then waits for the next one.
            plain, address = super().accept()
            conn = _Accepted(self.family, self.type, self.proto, fileno=plain.detach())
            if self.guard.admit(conn, room):
                conn.guard = self.guard
                return conn, address
            conn.close()


async def listening_sockets(host: str, port: int, guard: ConnectionGuard) -> list[socket.socket]:
    """Bound (not yet listening) sockets for every address of `host`, as asyncio would make."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = _Listening(family, kind, proto)
            sockets.append(sock)
            sock.guard = guard
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except BaseException:
        for made in sockets:
            made.close()
        raise
    return sockets


class GuardedSite(web.BaseSite):
    """Serves the runner on one listening socket; a TLS handshake gets `handshake_timeout`."""

    __slots__ = ("_handshake_timeout", "_sock")

    def __init__(
        self,
        runner: web.BaseRunner,
        sock: socket.socket,
        ssl_context: ssl.SSLContext | None,
        handshake_timeout: float,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context)
        self._sock = sock
        self._handshake_timeout = handshake_timeout

    @property
    def name(self) -> str:
        """The URL served, as aiohttp's own sites name themselves."""
        host, port = self._sock.getsockname()[:2]
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"

    async def start(self) -> None:
        """Listen: the loop accepts through the socket's guard from now on."""
        await super().start()
        server = self._runner.server
        assert server is not None  # the runner was set up before the site was made
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            server,
            sock=self._sock,
            ssl=self._ssl_context,
            ssl_handshake_timeout=self._handshake_timeout if self._ssl_context else None,
            backlog=self._backlog,
        )
