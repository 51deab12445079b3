"""Logging events that can repeat thousands of times a second: one line a minute, with a count.

`ThrottledWarning` counts one kind of event (a malformed request, an evicted connection) and
reports the count when the window ends, on the event loop. `Throttled` rate-limits lines
whose text differs (a stream's malformed frames, each with its reason), carrying the count
of those held back on the next line. Either way a flood costs one line a minute, and an
operator still learns how many there were.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

#: At most one line per minute for each kind of repeated event.
INTERVAL = 60.0


class ThrottledWarning:
    """Logs `describe(count)` at WARNING at most once per `interval` seconds."""

    def __init__(
        self, log: logging.Logger, describe: Callable[[int], str], interval: float = INTERVAL
    ) -> None:
        self._log = log
        self._describe = describe
        self._interval = interval
        self._unreported = 0
        #: Loop time before which nothing more is logged; the window of the last line.
        self._quiet_until = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def note(self) -> None:
        """Count one occurrence (on the event loop); log it now or when the window ends."""
        self._unreported += 1
        loop = asyncio.get_running_loop()
        if loop.time() >= self._quiet_until:
            self._report(loop)
        elif self._timer is None:
            self._timer = loop.call_at(self._quiet_until, self._report, loop)

    def close(self) -> None:
        """Report what was counted but not yet logged, and stop the timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._flush()

    def _report(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        if self._flush():
            self._quiet_until = loop.time() + self._interval

    def _flush(self) -> bool:
        """Log the count so far, if any; whether a line was written."""
        if not self._unreported:
            return False
        self._log.warning("%s", self._describe(self._unreported))
        self._unreported = 0
        return True


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
