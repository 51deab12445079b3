"""The Cloudflare Radar HTTP client: budgeted, bounded, retrying, and careful with the token."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import aiohttp

from monitor import __version__
from monitor.core.observation import ErrorKind
from monitor.ops.files import FileProblem, read_small_text
from monitor.ops.proxy import proxy_for
from monitor.ops.secret import Secret
from monitor.ops.systemd import credential_path
from monitor.settings import SourceConfig
from monitor.sources.base import (
    ApiError,
    AuthError,
    BadAnswerError,
    RateLimitedError,
    RequestObserver,
    SourceError,
    TokenFileError,
    TooLargeError,
    TransientError,
)
from monitor.sources.radar_wire import (
    DecodeError,
    Envelope,
    NotJsonError,
    describe_errors,
    error_codes,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

USER_AGENT = f"radar-monitor/{__version__} (+https://github.com/radar-monitor/radar-monitor)"
CREDENTIAL_NAME = "cloudflare-api-token"
TOKEN_ENV = "CLOUDFLARE_API_TOKEN"  # noqa: S105 - the variable name, not a token
CREDENTIAL_SETTING = f"the systemd credential {CREDENTIAL_NAME}"
#: Cloudflare tokens are 40 characters; anything past this is not a token file.
TOKEN_FILE_LIMIT = 4096
#: Cloudflare codes meaning "your credentials are wrong", whatever the HTTP status.
AUTH_CODES = frozenset({6003, 6111, 10000, 10001})
#: The permission a Radar token needs, as Cloudflare's token editor names it.
PERMISSION = "Account → Radar → Read"
TOKEN_HELP = (
    f"provide a Cloudflare API token with the {PERMISSION} permission via source.token_file, "
    f"the systemd credential {CREDENTIAL_NAME}, or the environment variable {TOKEN_ENV}"
)
REJECTED_HELP = f"check that the token is current and has the {PERMISSION} permission"
#: Bodies above this are decoded in a thread (a typical answer is 40 to 90 KiB).
THREAD_DECODE_BYTES = 256 * 1024
#: The wait after a 429 whose `Retry-After` is missing or unusable, in seconds.
ABSENT_RETRY_AFTER = 60.0
#: Longer than any number of seconds worth reading (a day is 5 digits).
_LONGEST_RETRY_AFTER = 32


def load_token(token_file: Path | None) -> Secret | None:
    """The token from `token_file`, the systemd credential, or `$CLOUDFLARE_API_TOKEN`.

    Read the same way by `check`, `run` and a reload; a file that cannot serve is a
    TokenFileError naming the setting, never the path or the content.
    """
    credential = credential_path(CREDENTIAL_NAME)
    for where, path in (("source.token_file", token_file), (CREDENTIAL_SETTING, credential)):
        if path is None:
            continue
        try:
            text = read_small_text(path, TOKEN_FILE_LIMIT).strip()
        except FileProblem as exc:
            raise TokenFileError(where, f"cannot read the token file: {exc}") from None
        if not text:
            raise TokenFileError(where, f"the token file is empty; {TOKEN_HELP}")
        return _checked(where, text)
    env = os.environ.get(TOKEN_ENV, "").strip()
    return _checked(f"${TOKEN_ENV}", env) if env else None


def _checked(where: str, text: str) -> Secret:
    """`text` as the token, refused if it cannot travel in an HTTP header.

    aiohttp refuses such a header on every request, with a traceback each time; a clear
    refusal at the start says what to fix. The message never shows the token.
    """
    if len(text.splitlines()) > 1:
        raise TokenFileError(where, "the token contains a line break; give it alone on one line")
    if not text.isprintable() or any(c.isspace() for c in text):
        raise TokenFileError(
            where, "the token contains control characters or spaces; no API token has any"
        )
    return Secret(text)


class RequestBudget:
    """At most `limit` request starts per sliding `window` seconds, plus pauses after a 429.

    Cloudflare blocks a token for five minutes once it exceeds 1,200 requests per five
    minutes, so the client holds itself below a lower, configurable budget.
    """

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._starts: collections.deque[float] = collections.deque()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause_until(self, when: float) -> None:
        """Let no request start before monotonic time `when`."""
        self._paused_until = max(self._paused_until, when)

    @property
    def used(self) -> int:
        """Requests started within the current window."""
        self._expire(self._clock())
        return len(self._starts)

    def _expire(self, now: float) -> None:
        while self._starts and self._starts[0] <= now - self.window:
            self._starts.popleft()

    async def acquire(self) -> None:
        """Wait (first come, first served) until a request may start, and count it."""
        async with self._lock:
            while True:
                now = self._clock()
                self._expire(now)
                wait = self._paused_until - now
                if wait <= 0 and len(self._starts) < self.limit:
                    self._starts.append(now)
                    return
                if wait <= 0:
                    wait = self._starts[0] + self.window - now
                # Re-check at least twice a second: a 429 may extend the pause meanwhile.
                await asyncio.sleep(min(max(wait, 0.001), 0.5))


class RadarClient:
    """GETs Radar API paths within budget and concurrency; each caller decodes its own result."""

    def __init__(
        self,
        settings: SourceConfig,
        token: Secret | None,
        observer: RequestObserver | None = None,
    ) -> None:
        self.settings = settings
        self._token = token
        self._observer = observer
        self.budget = RequestBudget(settings.budget, settings.budget_window)
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"RadarClient(base_url={self.settings.base_url!r}, token={self._token!r})"

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
            if self._token is not None:
                headers["Authorization"] = f"Bearer {self._token.reveal()}"
            self._session = aiohttp.ClientSession(
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout),
                connector=aiohttp.TCPConnector(limit=self.settings.concurrency),
            )
        return self._session

    async def get(
        self, path: str, params: dict[str, str], decode: Callable[[bytes], Envelope[T]]
    ) -> T:
        """The decoded result of GET `path`, retrying what is worth retrying."""
        if self._token is None:
            raise AuthError(f"no API token found; {TOKEN_HELP}")
        attempt = 0
        while True:
            try:
                return await self._attempt(path, params, decode)
            except SourceError as exc:
                if not exc.retryable or attempt >= self.settings.retries:
                    raise
                delay = self._delay(exc, attempt)
                attempt += 1
                log.info(
                    "retrying %s in %.1fs (attempt %d of %d): %s",
                    params.get("prefix", path),
                    delay,
                    attempt + 1,
                    self.settings.retries + 1,
                    exc,
                )
                await asyncio.sleep(delay)

    def _delay(self, exc: SourceError, attempt: int) -> float:
        if isinstance(exc, RateLimitedError):
            # Every request shares the token's limit, so all of them wait, not just this one.
            self.budget.pause_until(time.monotonic() + exc.retry_after)
            return exc.retry_after
        ceiling = min(self.settings.backoff_max, self.settings.backoff_base * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not crypto

    async def _attempt(
        self, path: str, params: dict[str, str], decode: Callable[[bytes], Envelope[T]]
    ) -> T:
        await self.budget.acquire()
        async with self._slots:
            started = time.monotonic()
            outcome: ErrorKind | None = ErrorKind.INTERNAL
            try:
                status, body, retry_after, content_type = await self._request(path, params)
                if len(body) > THREAD_DECODE_BYTES:
                    # Decoding 15 MiB took 0.4 s on the loop, stalling every poll and probe;
                    # in a thread the loop keeps running between its Python steps.
                    result = await asyncio.to_thread(
                        self._interpret, status, body, retry_after, content_type, decode
                    )
                else:
                    result = self._interpret(status, body, retry_after, content_type, decode)
                outcome = None
                return result
            except SourceError as exc:
                outcome = exc.kind
                raise
            finally:
                if self._observer is not None:
                    self._observer(outcome, time.monotonic() - started)

    async def _request(
        self, path: str, params: dict[str, str]
    ) -> tuple[int, bytes, str | None, str]:
        url = f"{self.settings.base_url}{path}"
        try:
            async with self._http().get(
                url, params=params, allow_redirects=False, proxy=proxy_for(url)
            ) as resp:
                body = await self._read_capped(resp)
                return (
                    resp.status,
                    body,
                    resp.headers.get("Retry-After"),
                    resp.headers.get("Content-Type", ""),
                )
        except TimeoutError:
            raise TransientError(f"no complete answer within {self.settings.timeout:g}s") from None
        except aiohttp.ClientError as exc:
            raise TransientError(f"connection failed: {type(exc).__name__}: {exc}") from None

    async def _read_capped(self, resp: aiohttp.ClientResponse) -> bytes:
        cap = self.settings.max_body_bytes
        if resp.content_length is not None and resp.content_length > cap:
            raise TooLargeError(
                f"answer of {resp.content_length} bytes is above the {cap}-byte cap"
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(256 * 1024):
            size += len(chunk)
            if size > cap:
                raise TooLargeError(f"answer grew above the {cap}-byte cap")
            chunks.append(chunk)
        return b"".join(chunks)

    def _interpret(
        self,
        status: int,
        body: bytes,
        retry_after: str | None,
        content_type: str,
        decode: Callable[[bytes], Envelope[T]],
    ) -> T:
        if status == 429:
            wait = retry_after_seconds(retry_after, self.settings.max_retry_after)
            raise RateLimitedError(f"rate limited (HTTP 429), retry after {wait:g}s", wait)
        if status >= 500:
            what = "an HTML error page" if "html" in content_type else "an error"
            raise TransientError(f"HTTP {status}: Radar answered with {what}")
        try:
            envelope = decode(body)
        except DecodeError as exc:
            if status in (401, 403):
                raise AuthError(
                    f"Radar rejected the API token (HTTP {status}); {REJECTED_HELP}"
                ) from None
            if isinstance(exc, NotJsonError):
                raise TransientError(f"HTTP {status} with a body that is not JSON") from None
            if status != 200:
                raise ApiError(f"HTTP {status} with an unexpected body: {exc}") from None
            raise BadAnswerError(str(exc)) from None
        errors = envelope.errors
        if status in (401, 403) or (status == 400 and error_codes(errors) & AUTH_CODES):
            raise AuthError(
                f"Radar rejected the API token (HTTP {status}, {describe_errors(errors)}); "
                f"{REJECTED_HELP}"
            )
        if status != 200 or not envelope.success or envelope.result is None:
            raise ApiError(f"Radar refused the request (HTTP {status}): {describe_errors(errors)}")
        return envelope.result


def retry_after_seconds(header: str | None, ceiling: float) -> float:
    """`Retry-After` in seconds, from 1 to `ceiling`.

    A value that is not a finite, non-negative number of seconds (an HTTP date, `nan`, `inf`,
    `-1`, `1e309`, a 400-digit number, garbage) counts as absent: ABSENT_RETRY_AFTER. A `nan`
    once reached `asyncio.sleep`, which then never returned and disordered the loop's timers,
    so that no prefix was polled.
    """
    seconds = ABSENT_RETRY_AFTER
    if header is not None and len(header) <= _LONGEST_RETRY_AFTER:
        with contextlib.suppress(ValueError):
            given = float(header)
            if math.isfinite(given) and given >= 0:
                seconds = given
    return min(max(seconds, 1.0), ceiling)
