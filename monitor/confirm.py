"""Confirming Radar fetches asked for by the stream: debounced per prefix, never unbounded.

An update for a prefix asks for a fetch of that exact prefix at once; more updates within
`confirm_interval` are folded into one more fetch when the window ends, so none is lost
and a flapping prefix costs one request per window. Confirmations may use a tenth of the
request budget (the regular cycle keeps the rest); beyond that they are dropped and counted,
never queued.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from monitor.budget import CONFIRM_SHARE
from monitor.settings import SourceConfig


class ConfirmScheduler:
    """Decides when the stream's wish to confirm a prefix becomes a fetch."""

    def __init__(
        self,
        fetch: Callable[[str], bool],
        interval: float,
        source: SourceConfig,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self.interval = interval
        self._limit = max(1, int(source.budget * CONFIRM_SHARE))
        self._window = source.budget_window
        self._clock = clock
        self._last: dict[str, float] = {}
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._starts: deque[float] = deque()
        #: Fetches started and dropped (budget share spent), for the metrics.
        self.done = 0
        self.dropped = 0

    def request(self, prefix: str) -> None:
        """The stream saw `prefix` change: fetch it now, or once when its window ends."""
        now = self._clock()
        last = self._last.get(prefix)
        if last is None or now - last >= self.interval:
            self._start(prefix, now)
        elif prefix not in self._pending:
            delay = last + self.interval - now
            loop = asyncio.get_running_loop()
            self._pending[prefix] = loop.call_later(delay, self._trailing, prefix)

    def _trailing(self, prefix: str) -> None:
        self._pending.pop(prefix, None)
        self._start(prefix, self._clock())

    def _start(self, prefix: str, now: float) -> None:
        while self._starts and now - self._starts[0] >= self._window:
            self._starts.popleft()
        if len(self._starts) >= self._limit:
            self.dropped += 1
            return
        self._last[prefix] = now
        if self._fetch(prefix):
            self._starts.append(now)
            self.done += 1

    def close(self) -> None:
        """Cancel the trailing fetches still waiting."""
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
