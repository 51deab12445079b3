"""Cloudflare's v4 envelope as Radar sends it: `success`, `errors` (with chains) and `result`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

import msgspec

T = TypeVar("T")


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


def describe_errors(errors: Iterable[WireError]) -> str:
    """`6003: Invalid request headers (6111: Invalid format for Authorization header)`."""
    parts = []
    for e in errors:
        text = f"{e.code}: {e.message}" if e.code is not None else e.message
        if e.error_chain:
            text += f" ({describe_errors(e.error_chain)})"
        parts.append(text)
    return "; ".join(parts) or "no error detail"


def error_codes(errors: Iterable[WireError]) -> set[int]:
    """Every code in `errors`, chains included."""
    found: set[int] = set()
    for e in errors:
        if e.code is not None:
            found.add(e.code)
        found |= error_codes(e.error_chain or ())
    return found
