"""Cloudflare's v4 envelope as Radar sends it: `success`, `errors` (with chains) and `result`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

import msgspec

from monitor.core.measures import clip, parse_utc

T = TypeVar("T")
#: How much of an error list a message shows: errors, levels of `error_chain`, characters.
MAX_ERRORS = 5
MAX_CHAIN = 3
MAX_MESSAGE = 256


class DecodeError(ValueError):
    """A Radar body that does not fit the documented schema; the message names the place."""


class NotJsonError(DecodeError):
    """A body that is not JSON at all (an HTML error page, a truncated answer)."""


class WireError(msgspec.Struct):
    """One entry of the envelope's `errors` list."""

    code: int | None = None
    message: str = ""
    error_chain: list[WireError] | None = None


@dataclass(frozen=True, slots=True)
class Envelope(Generic[T]):
    """The envelope around one answer, its `result` already decoded (None unless success)."""

    success: bool
    errors: tuple[WireError, ...]
    result: T | None


def describe_errors(errors: Iterable[WireError], depth: int = 0) -> str:
    """`6003: Invalid request headers (6111: Invalid format for Authorization header)`.

    Bounded like any text from outside: the first few errors, chains a few levels deep, each
    message cut; the rest is counted, not shown.
    """
    listed = list(errors)
    parts = []
    for e in listed[:MAX_ERRORS]:
        message = clip(e.message, MAX_MESSAGE)
        text = f"{e.code}: {message}" if e.code is not None else message
        if e.error_chain and depth < MAX_CHAIN:
            text += f" ({describe_errors(e.error_chain, depth + 1)})"
        parts.append(text)
    if len(listed) > MAX_ERRORS:
        parts.append(f"{len(listed) - MAX_ERRORS} more")
    return "; ".join(parts) or "no error detail"


def error_codes(errors: Iterable[WireError], depth: int = 0) -> set[int]:
    """Every code in `errors`, chains included down to MAX_CHAIN levels."""
    found: set[int] = set()
    for e in errors:
        if e.code is not None:
            found.add(e.code)
        if depth < MAX_CHAIN:
            found |= error_codes(e.error_chain or (), depth + 1)
    return found


W = TypeVar("W")


def decode_wire(decode: Callable[[bytes], W], body: bytes, what: str) -> W:
    """`body` through `decode`; DecodeError (NotJsonError if not JSON) naming the misfit."""
    try:
        return decode(body)
    except msgspec.ValidationError as exc:
        raise DecodeError(f"unexpected shape: {exc}") from None
    except msgspec.DecodeError as exc:
        raise NotJsonError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise DecodeError(f"unexpected shape: JSON nested deeper than any {what}") from None


def wire_timestamp(raw: str | None, where: str) -> datetime | None:
    """A Radar timestamp (naive = UTC, `Z`, `+00:00`, 0-9 fraction digits) as aware UTC.

    Empty or null means no data (a collector without that stream, say), which is not an error.
    """
    if not raw:
        return None
    try:
        return parse_utc(raw)
    except ValueError:
        raise DecodeError(bad_timestamp(raw, where)) from None


def bad_timestamp(raw: str, where: str) -> str:
    """The message for an unusable timestamp: where, and its first 64 characters."""
    return f"{where}: not an ISO 8601 timestamp in the years 1 to 9999: {raw[:64]!r}"
