"""What every source offers, and the errors a source raises when it has nothing to say."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import TracebackType
from typing import ClassVar, Protocol, Self

from monitor.core.observation import ErrorKind, Observation, PrefixView
from monitor.core.origins import AsPrefixes, MoasPrefix
from monitor.core.stream import StreamCounts


class SourceError(Exception):
    """A fetch that produced no view; `kind` labels it for metrics, logs and alerts."""

    kind: ClassVar[ErrorKind] = ErrorKind.INTERNAL
    #: Whether another attempt may succeed (the client retries these with backoff).
    retryable: ClassVar[bool] = False


class AuthError(SourceError):
    """The credentials are missing, malformed or lack permission: retrying cannot help."""

    kind = ErrorKind.AUTH


class TokenFileError(AuthError):
    """The token's file (or variable) cannot serve: `setting` names where it was configured."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem


class RateLimitedError(SourceError):
    """The source asks us to wait `retry_after` seconds."""

    kind = ErrorKind.RATE_LIMITED
    retryable = True

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientError(SourceError):
    """5xx, timeouts, connection errors and non-JSON bodies: worth another try."""

    kind = ErrorKind.TRANSIENT
    retryable = True


class ApiError(SourceError):
    """The source refused the request; the message says why."""

    kind = ErrorKind.API


class BadAnswerError(SourceError):
    """An answer that does not fit the documented schema."""

    kind = ErrorKind.BAD_ANSWER


class TooLargeError(SourceError):
    """A body above the size cap, refused before it could fill memory."""

    kind = ErrorKind.TOO_LARGE


class ClosingSource:
    """`async with` for a source: closes it on the way out (one-shot commands and tests)."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Release connections (nothing, unless a source holds some)."""


class PrefixSource(Protocol):
    """A source asked about one prefix at a time (Radar's realtime routes, a replay)."""

    async def fetch(self, prefix: str) -> PrefixView:
        """What the source sees for `prefix` now; raises SourceError when it cannot say."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class OriginSource(Protocol):
    """A source asked what an AS originates (Radar's pfx2as and moas), for `generate`."""

    async def originated(self, asn: int) -> AsPrefixes:
        """Every prefix `asn` originates, up to the source's cap; raises SourceError."""
        ...

    async def moas(self, asn: int) -> tuple[MoasPrefix, ...]:
        """The prefixes of `asn` that other ASes originate too; raises SourceError."""
        ...

    async def as_name(self, asn: int, prefix: str) -> str:
        """The registry name of `asn`, learnt through one of its prefixes ("" if unnamed)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class StreamSource(Protocol):
    """A source that pushes what it sees (RIS Live) to the callbacks it was built with."""

    async def run(self) -> None:
        """Stream until `close()`, reconnecting on its own; never raises but CancelledError."""
        ...

    def update_prefixes(self, prefixes: Iterable[str], origins: Iterable[int] = ()) -> None:
        """Follow `prefixes`, and the routes `origins` originate, from now on, on the open
        connection."""
        ...

    async def close(self) -> None:
        """Stop streaming."""
        ...

    def counts(self) -> StreamCounts:
        """Messages by kind since start and subscriptions by state now."""
        ...


#: Where a source hands its observations: the pipeline's `observe`.
Emit = Callable[[Observation], None]
#: Called after every request attempt with (error kind or None for success, seconds).
RequestObserver = Callable[[ErrorKind | None, float], None]
