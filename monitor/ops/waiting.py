"""Waiting for an event with a timeout, without losing a cancellation.

Python 3.11's `asyncio.wait_for` returns the result instead of raising `CancelledError`
when the awaited thing completes in the same loop step as the cancellation (gh-86296,
fixed in 3.12). A worker that loops around it then never stops: a cancelled notifier
worker did exactly that and hung shutdown, about once in 30 test runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def until_set(event: asyncio.Event, timeout: float) -> bool:  # noqa: ASYNC109 - the point
    """Wait until `event` is set or `timeout` seconds pass; True if it was set."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        done, _ = await asyncio.wait({waiter}, timeout=timeout)
    finally:
        waiter.cancel()
    return bool(done)


async def rounds(
    one_round: Callable[[], Awaitable[None]],
    interval: Callable[[], float],
    wake: asyncio.Event,
    what: str,
) -> None:
    """`one_round` at once, then again every `interval()` seconds or as soon as `wake` is set,
    until cancelled; a round that fails unexpectedly is logged, and the next one still comes."""
    while True:
        wake.clear()
        try:
            await one_round()
        except Exception:  # a bug in one round must not end every later one
            log.exception("%s failed unexpectedly", what)
        await until_set(wake, interval())
