"""Local notification endpoints for tests: a JSON webhook receiver and an SMTP mailbox.

Both run on 127.0.0.1 only. `LoopThread` runs them on a loop of their own in a background
thread, for tests whose daemon is a subprocess.
"""

from __future__ import annotations

import asyncio
import email
import email.message
import email.policy
import socket
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

T = TypeVar("T")


@dataclass
class Post:
    """One request a receiver got."""

    path: str
    doc: dict[str, Any]
    at: float


class Receiver:
    """A JSON webhook endpoint on 127.0.0.1 that records POSTs and answers as told."""

    def __init__(self) -> None:
        self.posts: list[Post] = []
        #: Status codes for the next requests to each path, in order; 200 once used up.
        self.statuses: dict[str, list[int]] = {}
        #: Paths whose requests never get an answer (until the test ends).
        self.hang: set[str] = set()
        self.release = asyncio.Event()
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application()
        app.router.add_post("/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Answer the hanging requests, then shut down."""
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str, credentials: str = "") -> str:
        """The Apprise json:// URL that posts to `path` here."""
        auth = f"{credentials}@" if credentials else ""
        return f"json://{auth}127.0.0.1:{self.port}/{path}"

    def at(self, path: str) -> list[Post]:
        """The requests to `path`."""
        return [p for p in self.posts if p.path == path]

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        self.posts.append(Post(path, await request.json(), time.monotonic()))
        if path in self.hang:
            await self.release.wait()
        statuses = self.statuses.get(path)
        return web.Response(status=statuses.pop(0) if statuses else 200)


class Mailbox:
    """aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        self.messages.append(message)
        return "250 OK"


class SmtpServer:
    """A plain SMTP server on a fixed loopback port that can go down and come back."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox
        self.port = free_port()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen (again) on the same port."""
        self._server = await asyncio.get_running_loop().create_server(
            lambda: SMTP(self.mailbox), "127.0.0.1", self.port
        )

    async def stop(self) -> None:
        """Stop listening: senders get connection refused."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def url(self) -> str:
        """The Apprise URL (mailto:// is plain SMTP: no TLS, no login)."""
        return f"mailto://127.0.0.1:{self.port}?from=monitor@example.org&to=noc@example.org"


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LoopThread:
    """An event loop in a daemon thread; `run()` executes a coroutine there and waits."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run `coro` on the thread's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        """Stop the loop and the thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
