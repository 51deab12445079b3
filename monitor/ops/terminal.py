"""Text from outside made harmless for a terminal: no escape sequence, bidi override or CR.

An AS name is chosen by whoever registers the AS. Written raw to a terminal, ESC, OSC, BEL,
CR or a right-to-left override can rewrite what the operator sees (a fake "ok", a hidden
line). Every human output (logs, `once`, `query`, `check`) goes through `printable`.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

#: Kept as they are: line structure and alignment.
_KEPT = frozenset("\n\t")


def _unsafe(char: str) -> bool:
    return char not in _KEPT and unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs")


def printable(text: str) -> str:
    """`text` with every control, format and separator character written as `\\uXXXX`.

    The escape is also valid inside a JSON string, so JSON output stays the same JSON.
    """
    if text.isascii() and text.isprintable():
        return text  # the common case, fast
    return "".join(_escaped(c) if _unsafe(c) else c for c in text)


def _escaped(char: str) -> str:
    """`\\uXXXX`, as a UTF-16 surrogate pair beyond the BMP (so JSON reads it back)."""
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


class _Printable:
    """A text stream that writes `printable` text to the stream it wraps."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(printable(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def printable_output() -> Iterator[None]:
    """Route `sys.stdout` and `sys.stderr` through `printable` while the block runs."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Printable(saved[0]), _Printable(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
