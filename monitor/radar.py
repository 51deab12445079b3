"""The Cloudflare Radar client: budgeted, bounded, retrying, and careful with the token."""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import aiohttp

from monitor import __version__
from monitor.model import DecodeError, NotJsonError, RadarAnswer, WireError, decode_envelope
from monitor.secret import Secret
from monitor.systemd import credential_path

log = logging.getLogger(__name__)

USER_AGENT = f"radar-monitor/{__version__} (+https://github.com/radar-monitor/radar-monitor)"
CREDENTIAL_NAME = "cloudflare-api-token"
TOKEN_ENV = "CLOUDFLARE_API_TOKEN"  # noqa: S105 - the variable name, not a token
#: Cloudflare codes meaning "your credentials are wrong", whatever the HTTP status.
AUTH_CODES = frozenset({6003, 6111, 10000, 10001})
TOKEN_HELP = (
    "provide a Cloudflare API token with Radar read permission via source.token_file, "
    f"the systemd credential {CREDENTIAL_NAME}, or the environment variable {TOKEN_ENV}"
)


def load_token(token_file: Path | None) -> Secret | None:
    """The token from `token_file`, the systemd credential, or `$CLOUDFLARE_API_TOKEN`."""
    for path in (token_file, credential_path(CREDENTIAL_NAME)):
        if path is not None:
            try:
                text = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise RadarAuthError(f"cannot read token file {path}: {exc.strerror}") from None
            if text:
                return Secret(text)
    env = os.environ.get(TOKEN_ENV, "").strip()
    return Secret(env) if env else None


class RadarError(Exception):
    """A fetch that produced no answer; `kind` is a short label for metrics and logs."""

    kind = "error"
    retryable = False


class RadarAuthError(RadarError):
    """The token is missing, malformed or lacks permission: retrying cannot help."""

    kind = "auth"


class RadarRateLimitedError(RadarError):
    """HTTP 429: Cloudflare asks us to wait `retry_after` seconds."""

    kind = "rate_limited"
    retryable = True

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RadarTransientError(RadarError):
    """5xx, timeouts, connection errors and non-JSON bodies: worth another try."""

    kind = "transient"
    retryable = True


class RadarApiError(RadarError):
    """Radar refused the request (`success: false`, 4xx): the codes and messages say why."""

    kind = "api"


class RadarBadAnswerError(RadarError):
    """A JSON answer that does not fit the documented schema."""

    kind = "bad_answer"


class RadarTooLargeError(RadarError):
    """A body above the size cap, refused before it could fill memory."""

    kind = "too_large"


def describe_errors(errors: Iterable[WireError]) -> str:
    """`6003: Invalid request headers (6111: Invalid format for Authorization header)`."""
    parts = []
    for e in errors:
        text = f"{e.code}: {e.message}" if e.code is not None else e.message
        if e.error_chain:
            text += f" ({describe_errors(e.error_chain)})"
        parts.append(text)
    return "; ".join(parts) or "no error detail"


def _codes(errors: Iterable[WireError]) -> set[int]:
    found: set[int] = set()
    for e in errors:
        if e.code is not None:
            found.add(e.code)
        found |= _codes(e.error_chain or ())
    return found


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


@dataclass(frozen=True)
class ClientSettings:
    """How the client talks to Radar."""

    base_url: str
    timeout: float = 20.0
    concurrency: int = 4
    budget: int = 1000
    budget_window: float = 300.0
    retries: int = 3
    max_body_bytes: int = 32 * 1024 * 1024
    backoff_base: float = 1.0
    backoff_max: float = 30.0
    max_retry_after: float = 300.0


#: Called after every HTTP attempt with (outcome, seconds): feeds the request metrics.
Observer = Callable[[str, float], None]


class RadarClient:
    """Fetches realtime routes for one prefix at a time, within budget and concurrency."""

    def __init__(
        self,
        settings: ClientSettings,
        token: Secret | None,
        observer: Observer | None = None,
    ) -> None:
        self.settings = settings
        self._token = token
        self._observer = observer
        self.budget = RequestBudget(settings.budget, settings.budget_window)
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"RadarClient(base_url={self.settings.base_url!r}, token={self._token!r})"

    async def __aenter__(self) -> RadarClient:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

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

    async def fetch(self, prefix: str) -> RadarAnswer:
        """Radar's realtime answer for `prefix`, retrying what is worth retrying."""
        if self._token is None:
            raise RadarAuthError(f"no API token: {TOKEN_HELP}")
        attempt = 0
        while True:
            try:
                return await self._attempt(prefix)
            except RadarError as exc:
                if not exc.retryable or attempt >= self.settings.retries:
                    raise
                delay = self._delay(exc, attempt)
                attempt += 1
                log.info(
                    "retrying %s in %.1fs (attempt %d of %d): %s",
                    prefix,
                    delay,
                    attempt + 1,
                    self.settings.retries + 1,
                    exc,
                )
                await asyncio.sleep(delay)

    def _delay(self, exc: RadarError, attempt: int) -> float:
        if isinstance(exc, RadarRateLimitedError):
            # Every request shares the token's limit, so all of them wait, not just this one.
            self.budget.pause_until(time.monotonic() + exc.retry_after)
            return exc.retry_after
        ceiling = min(self.settings.backoff_max, self.settings.backoff_base * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not crypto

    async def _attempt(self, prefix: str) -> RadarAnswer:
        url = f"{self.settings.base_url}/radar/bgp/routes/realtime"
        params = {"prefix": prefix, "format": "JSON"}
        await self.budget.acquire()
        async with self._slots:
            started = time.monotonic()
            outcome = "error"
            try:
                answer = await self._request(url, params, prefix)
                outcome = "success"
                return answer
            except RadarError as exc:
                outcome = exc.kind
                raise
            finally:
                if self._observer is not None:
                    self._observer(outcome, time.monotonic() - started)

    async def _request(self, url: str, params: dict[str, str], prefix: str) -> RadarAnswer:
        try:
            async with self._http().get(url, params=params, allow_redirects=False) as resp:
                body = await self._read_capped(resp)
                status = resp.status
                retry_after = resp.headers.get("Retry-After")
                content_type = resp.headers.get("Content-Type", "")
        except TimeoutError:
            raise RadarTransientError(
                f"no complete answer within {self.settings.timeout:g}s"
            ) from None
        except aiohttp.ClientError as exc:
            raise RadarTransientError(f"connection failed: {type(exc).__name__}: {exc}") from None
        return self._interpret(status, body, retry_after, content_type, prefix)

    async def _read_capped(self, resp: aiohttp.ClientResponse) -> bytes:
        cap = self.settings.max_body_bytes
        if resp.content_length is not None and resp.content_length > cap:
            raise RadarTooLargeError(
                f"answer of {resp.content_length} bytes is above the {cap}-byte cap"
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(256 * 1024):
            size += len(chunk)
            if size > cap:
                raise RadarTooLargeError(f"answer grew above the {cap}-byte cap")
            chunks.append(chunk)
        return b"".join(chunks)

    def _interpret(
        self, status: int, body: bytes, retry_after: str | None, content_type: str, prefix: str
    ) -> RadarAnswer:
        if status == 429:
            wait = _retry_after_seconds(retry_after, self.settings.max_retry_after)
            raise RadarRateLimitedError(f"rate limited (HTTP 429), retry after {wait:g}s", wait)
        if status >= 500:
            what = "an HTML error page" if "html" in content_type else "an error"
            raise RadarTransientError(f"HTTP {status}: Radar answered with {what}")
        try:
            envelope = decode_envelope(body, prefix)
        except DecodeError as exc:
            if status in (401, 403):
                raise RadarAuthError(
                    f"authentication failed (HTTP {status}): {TOKEN_HELP}"
                ) from None
            if isinstance(exc, NotJsonError):
                raise RadarTransientError(f"HTTP {status} with a body that is not JSON") from None
            if status != 200:
                raise RadarApiError(f"HTTP {status} with an unexpected body: {exc}") from None
            raise RadarBadAnswerError(str(exc)) from None
        errors = envelope.errors
        if status in (401, 403) or (status == 400 and _codes(errors) & AUTH_CODES):
            raise RadarAuthError(
                f"authentication failed (HTTP {status}, {describe_errors(errors)}): {TOKEN_HELP}"
            )
        if status != 200 or not envelope.success or envelope.answer is None:
            raise RadarApiError(
                f"Radar refused the request (HTTP {status}): {describe_errors(errors)}"
            )
        return envelope.answer


def _retry_after_seconds(header: str | None, ceiling: float) -> float:
    """`Retry-After` in seconds (an HTTP date or garbage counts as a minute), at most `ceiling`."""
    try:
        seconds = float(header) if header is not None else 60.0
    except ValueError:
        seconds = 60.0
    return min(max(seconds, 1.0), ceiling)
