"""Waiting for an event with a timeout, without losing a cancellation.

Python 3.11's `asyncio.wait_for` returns the result instead of raising `CancelledError`
when the awaited thing completes in the same loop step as the cancellation (gh-86296,
fixed in 3.12). A worker that loops around it then never stops: a cancelled notifier
worker did exactly that and hung shutdown, about once in 30 test runs.
"""

from __future__ import annotations

import asyncio


async def until_set(event: asyncio.Event, timeout: float) -> bool:  # noqa: ASYNC109 - the point
    """Wait until `event` is set or `timeout` seconds pass; True if it was set."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        done, _ = await asyncio.wait({waiter}, timeout=timeout)
    finally:
        waiter.cancel()
    return bool(done)
