"""A wrapper for tokens and credential-bearing URLs that never prints its value."""

from __future__ import annotations

import re


class Secret:
    """A string that never shows itself in `repr`, `str`, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


_URL_CREDENTIALS = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*)://.*$", re.IGNORECASE)


def redact_url(url: str) -> str:
    """`slack://T00/B00/XXX` → `slack://…`: only the scheme of a notification URL is safe to show.

    Apprise URLs carry tokens in the user part, the path and the query alike, so nothing
    after the scheme can be shown without knowing every plugin's layout.
    """
    match = _URL_CREDENTIALS.match(url.strip())
    return f"{match.group('scheme')}://…" if match else "…"
