"""Exponential backoff with full jitter, for reconnecting to a stream."""

from __future__ import annotations

from collections.abc import Callable


class Backoff:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base·2ⁿ))."""

    def __init__(self, base: float, cap: float, draw: Callable[[], float]) -> None:
        self.base, self.cap, self._draw = base, cap, draw
        self.attempt = 0

    def next(self) -> float:
        """The delay before the next attempt (and one more attempt counted)."""
        ceiling = min(self.cap, self.base * (1 << min(self.attempt, 60)))
        self.attempt += 1
        return self._draw() * ceiling

    def reset(self) -> None:
        """Start from the base again (a connection stayed up)."""
        self.attempt = 0
