"""A warning for an event that may repeat thousands of times a second: one line per interval.

The first occurrence is logged at once; later ones within the interval are only counted and
reported in one line when the interval ends, so a flood of bad input costs one log line a
minute instead of megabytes, and an operator still learns how many there were.
"""

from __future__ import annotations

import asyncio
import logging
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
