"""Waiting for a wake-up never swallows a cancellation (the notifier hang at shutdown)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable

import pytest

from monitor.ops.waiting import until_set


async def wait_for_based(event: asyncio.Event, timeout: float) -> bool:  # noqa: ASYNC109
    """What the notifier and the poller did before: Python 3.11's wait_for."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)
        return True
    return False


async def cancel_while_woken(
    wait: Callable[[asyncio.Event, float], Awaitable[bool]],
) -> asyncio.Task[bool]:
    """Set the event and cancel the waiter in the same loop step, as a shutdown can."""
    event = asyncio.Event()
    task = asyncio.ensure_future(wait(event, 10.0))
    await asyncio.sleep(0.01)
    event.set()
    await asyncio.sleep(0)  # the inner wait completes in this step...
    task.cancel()  # ...and the cancellation arrives before the waiter resumes
    await asyncio.gather(task, return_exceptions=True)
    return task


async def test_a_cancellation_that_races_a_wake_up_still_cancels() -> None:
    assert (await cancel_while_woken(until_set)).cancelled()


@pytest.mark.skipif(
    sys.version_info >= (3, 12),
    reason="the wait_for bug (gh-86296) is fixed from Python 3.12",
)
async def test_wait_for_loses_that_cancellation_on_python_3_11() -> None:
    # Why until_set exists: this is the race that left a worker looping after cancel().
    assert not (await cancel_while_woken(wait_for_based)).cancelled()


async def test_until_set_reports_a_timeout_and_a_wake_up() -> None:
    event = asyncio.Event()
    assert await until_set(event, 0.01) is False
    event.set()
    assert await until_set(event, 10.0) is True
