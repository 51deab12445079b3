"""Polling a `PrefixSource`: slots spread over the planned interval (see `monitor/budget.py`)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from monitor.budget import Plan
from monitor.core.observation import ErrorKind, FetchFailure
from monitor.ops.waiting import until_set
from monitor.sources.base import Emit, PrefixSource, SourceError

log = logging.getLogger(__name__)


class Poller:
    """Fetches every watched prefix once per cycle, one slot after another, and emits the views.

    A prefix whose previous poll still runs skips its slot rather than piling up requests.
    `replan` (after a reload) starts a fresh cycle with the new watch list and plan at once.
    """

    def __init__(
        self,
        source: PrefixSource,
        prefixes: Sequence[str],
        schedule: Plan,
        emit: Emit,
        *,
        on_first_cycle: Callable[[], None],
        on_cycle: Callable[[], None],
    ) -> None:
        self.source = source
        self.plan = schedule
        self._prefixes = list(prefixes)
        self._emit = emit
        self._on_first_cycle = on_first_cycle
        self._on_cycle = on_cycle
        self._first_done = False
        #: More-specifics watched for a while: polled after the watched prefixes each cycle.
        self._extra: list[str] = []
        self._wake = asyncio.Event()
        self._polls: dict[str, asyncio.Task[None]] = {}

    def replan(self, source: PrefixSource, prefixes: Sequence[str], schedule: Plan) -> None:
        """Poll `prefixes` from `source` under `schedule` from now on, starting a fresh cycle.

        The extra prefixes of `follow` stay (the caller follows again if they changed)."""
        self.source, self._prefixes, self.plan = source, list(prefixes), schedule
        self._wake.set()

    def follow(self, extra: Sequence[str], schedule: Plan) -> None:
        """Poll `extra` prefixes too from the next cycle on, under `schedule` (no fresh cycle:
        temporary watches come and go with the stream, and must not restart the cycle)."""
        self._extra, self.plan = list(extra), schedule

    def confirm(self, prefix: str) -> bool:
        """Poll `prefix` now, outside the cycle (the stream saw it change); False if one runs.

        The view is emitted like any other. `prefix` may be outside the watch list (a
        more-specific the stream found); the pipeline decides what it means.
        """
        running = self._polls.get(prefix)
        if running is not None and not running.done():
            return False
        self._polls[prefix] = asyncio.create_task(self._poll(prefix), name=f"confirm {prefix}")
        return True

    async def run(self) -> None:
        """Start one poll per slot, cycle after cycle, until cancelled."""
        first_cycle: list[asyncio.Task[None]] = []
        cycle_start = time.monotonic()
        try:
            while True:
                slot = self.plan.slot
                for i, prefix in enumerate([*self._prefixes, *self._extra]):
                    await self._sleep_until(cycle_start + i * slot)
                    if self._wake.is_set():
                        break  # a reload changed the plan: start a fresh cycle now
                    task = self._start(prefix)
                    if task is not None and not self._first_done:
                        first_cycle.append(task)
                if not self._first_done and not self._wake.is_set():
                    await asyncio.gather(*first_cycle, return_exceptions=True)
                    self._first_done = True
                    self._on_first_cycle()
                self._wake.clear()
                self._on_cycle()
                cycle_start += self.plan.effective_interval
                await self._sleep_until(cycle_start)
                if time.monotonic() > cycle_start + self.plan.effective_interval:
                    cycle_start = time.monotonic()  # far behind (suspend, overload): no burst
        finally:
            polls = list(self._polls.values())
            for task in polls:
                task.cancel()
            await asyncio.gather(*polls, return_exceptions=True)

    async def _sleep_until(self, when: float) -> None:
        """Sleep until monotonic `when`, or until a replan wakes the scheduler."""
        remaining = when - time.monotonic()
        if remaining <= 0 or self._wake.is_set():
            # Yield even when the slot is already due: a scheduler that never awaits
            # starves the polls it starts (seen with 2,000 prefixes and 3,000 alerts).
            await asyncio.sleep(0)
            return
        await until_set(self._wake, remaining)

    def _start(self, prefix: str) -> asyncio.Task[None] | None:
        running = self._polls.get(prefix)
        if running is not None and not running.done():
            log.warning("%s: previous poll still running, skipping this slot", prefix)
            return None
        task = asyncio.create_task(self._poll(prefix), name=f"poll {prefix}")
        self._polls[prefix] = task
        return task

    async def _poll(self, prefix: str) -> None:
        try:
            view = await self.source.fetch(prefix)
        except SourceError as exc:
            self._emit(FetchFailure(prefix, exc.kind, str(exc)))
        except Exception:
            log.exception("%s: unexpected error while polling", prefix)
            self._emit(FetchFailure(prefix, ErrorKind.INTERNAL, "internal error (see log)"))
        else:
            self._emit(view)
