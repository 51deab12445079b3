"""Logging an event that can repeat thousands of times a second, at most one line a minute.

A stream that turns bad (a server sending garbage, a library bug in a callback) must not
flood the journal: the first occurrence is logged at once, later ones are counted and the
count rides on the next line logged once the interval has passed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class Throttled:
    """Logs `text` at `level` on `logger`, at most once per `every` seconds, with a count."""

    def __init__(
        self,
        logger: logging.Logger,
        level: int,
        every: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._level = level
        self._every = every
        self._clock = clock
        self._last: float | None = None
        self._held = 0

    def __call__(self, text: str) -> None:
        """Log `text` now if the last line is old enough, else count it for the next line."""
        now = self._clock()
        if self._last is not None and now - self._last < self._every:
            self._held += 1
            return
        if self._held:
            text += f" (and {self._held} more like it since the last such line)"
        self._logger.log(self._level, "%s", text)
        self._last, self._held = now, 0
