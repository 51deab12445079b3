"""Basic auth for the HTTP listener: bcrypt checks bounded, fair between clients, remembered.

A bcrypt check costs tens of milliseconds of CPU by design. 400 wrong passwords sent at once
used to queue in front of the first right one, which took 10.4 s. Now two checks run at once
in threads of their own; clients waiting for one are served in turn, one check per client
address (IPv6: per /64) each round, so a guessing client delays another's first login by
about one check; when too many wait, the client with the most waiting is answered 429; and a
verified password is remembered for a few minutes, so later requests skip bcrypt entirely.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import ipaddress
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

import bcrypt
from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

REALM = "radar-monitor"
#: A verified password skips bcrypt this long: more than usual scrape intervals (15 s to 1 m).
CACHE_SECONDS = 300.0
#: bcrypt checks at once: wrong passwords sent in bulk cannot take more than these threads.
MAX_CONCURRENT_CHECKS = 2
#: Requests waiting for a check; each holds a connection, which the listener has few of.
MAX_WAITING_CHECKS = 64
#: bcrypt reads only this many bytes; longer passwords are refused rather than truncated.
MAX_PASSWORD_BYTES = 72


class Busy(Exception):
    """No turn for this check: too many wait, and this client has the most of them."""


class FairTurns:
    """At most `slots` holders at once; waiting clients take turns, one waiter per turn."""

    def __init__(self, slots: int, max_waiting: int) -> None:
        self._free = slots
        self._max_waiting = max_waiting
        #: Per client its waiters, oldest first; the client first in line is served next.
        self._queues: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """How many wait for a turn."""
        return self._waiting

    @contextlib.asynccontextmanager
    async def turn(self, client: str) -> AsyncIterator[None]:
        """Hold one slot for `client`; Busy if it has the most waiting when too many wait."""
        await self._acquire(client)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, client: str) -> None:
        if self._free and not self._waiting:
            self._free -= 1
            return
        busiest = self._turn_away(client) if self._waiting >= self._max_waiting else None
        future = asyncio.get_running_loop().create_future()
        self._queues.setdefault(client, deque()).append(future)
        self._waiting += 1
        if busiest is not None and busiest in self._queues:  # it also loses its place in line
            self._queues.move_to_end(busiest)
        try:
            await future
        except asyncio.CancelledError:
            if future.cancelled():
                self._forget(client, future)
            elif future.exception() is None:  # the turn came as the request was cancelled
                self._release()
            raise

    def _turn_away(self, client: str) -> str:
        """Refuse the oldest waiter of the client with the most, or this request if that is it."""
        mine = len(self._queues.get(client, ())) + 1
        busiest = max(self._queues, key=lambda c: len(self._queues[c]))
        if mine >= len(self._queues[busiest]):
            raise Busy
        oldest = self._queues[busiest].popleft()
        self._waiting -= 1
        if not self._queues[busiest]:
            del self._queues[busiest]
        if not oldest.done():  # one cancelled meanwhile is gone anyway
            oldest.set_exception(Busy())
        return busiest

    def _forget(self, client: str, future: asyncio.Future[None]) -> None:
        queue = self._queues.get(client)
        if queue is not None and future in queue:
            queue.remove(future)
            self._waiting -= 1
            if not queue:
                del self._queues[client]

    def _release(self) -> None:
        self._free += 1
        while self._free and self._queues:
            client, queue = self._queues.popitem(last=False)
            future = queue.popleft()
            self._waiting -= 1
            if queue:
                self._queues[client] = queue  # to the back of the line: round robin
            if not future.done():
                self._free -= 1
                future.set_result(None)


class PasswordChecker:
    """bcrypt verification in its own threads, in fair turns, remembering recent successes."""

    def __init__(self, users: Mapping[str, str]) -> None:
        if not users:
            raise ValueError("basic auth needs at least one user")
        self._users = dict(users)
        # Unknown users are checked against a real hash too, so timing does not tell names apart.
        self._decoy = next(iter(self._users.values()))
        # Keyed digests: the cache is no fast offline oracle for the passwords it vouches for.
        self._key = secrets.token_bytes(32)
        self._verified: dict[str, tuple[bytes, float]] = {}
        self._turns = FairTurns(MAX_CONCURRENT_CHECKS, MAX_WAITING_CHECKS)
        self._threads = ThreadPoolExecutor(MAX_CONCURRENT_CHECKS, thread_name_prefix="bcrypt")

    async def allows(self, header: str | None, client: str) -> bool:
        """Whether the Authorization header names a user and that user's password.

        Raises Busy when too many checks wait and `client` has the most of them.
        """
        credentials = _credentials(header) if header is not None else None
        if credentials is None:
            return False
        user, password = credentials
        if len(password) > MAX_PASSWORD_BYTES:
            return False
        digest = hmac.new(self._key, password, hashlib.sha256).digest()
        cached = self._verified.get(user)
        if cached and time.monotonic() < cached[1] and hmac.compare_digest(cached[0], digest):
            return True
        known = user in self._users
        hashed = self._users.get(user, self._decoy).encode()
        async with self._turns.turn(client):
            loop = asyncio.get_running_loop()
            try:
                # bcrypt.checkpw looked up at each call, so tests can count the checks.
                check = bcrypt.checkpw
                matches = await loop.run_in_executor(self._threads, check, password, hashed)
            except ValueError:  # a password bcrypt refuses (a NUL byte, say) is just wrong
                return False
        if not (known and matches):
            return False
        self._verified[user] = (digest, time.monotonic() + CACHE_SECONDS)
        return True

    def close(self) -> None:
        """Let the threads go (a check under way finishes unheard)."""
        self._threads.shutdown(wait=False, cancel_futures=True)


def basic_auth(
    users: Mapping[str, str], on_busy: Callable[[], None]
) -> tuple[Middleware, Callable[[], None]]:
    """A middleware answering 401 unless the request carries a user's password, and its close.

    A request turned away by `Busy` is answered 429 and counted with `on_busy`.
    """
    checker = PasswordChecker(users)
    challenge = {hdrs.WWW_AUTHENTICATE: f'Basic realm="{REALM}"'}

    @web.middleware
    async def check_password(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            allowed = await checker.allows(
                request.headers.get(hdrs.AUTHORIZATION), client_of(request.remote)
            )
        except Busy:
            on_busy()
            return web.Response(
                status=429,
                text="429: too many password checks at once; try again\n",
                headers={hdrs.RETRY_AFTER: "1"},
            )
        if allowed:
            return await handler(request)
        return web.Response(status=401, text="401: Unauthorized\n", headers=challenge)

    return check_password, checker.close


def client_of(remote: str | None) -> str:
    """Whose turn a request takes: its address, or its /64 for IPv6 (one host, many addresses)."""
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return remote or ""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _credentials(header: str) -> tuple[str, bytes] | None:
    """User and password of a `Basic` Authorization header, or None when it is something else."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, colon, password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
        return (user.decode("utf-8"), password) if colon else None
    except ValueError:  # not base64, or a user name that is not UTF-8
        return None
