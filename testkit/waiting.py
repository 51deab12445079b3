"""Waiting for a condition, from a plain test (`wait_for`) or from a coroutine (`until`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


def wait_for(
    predicate: Callable[[], object], within: float = 20.0, what: str = "condition"
) -> None:
    """Poll `predicate` until it is truthy; fail the test naming `what` otherwise."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {within:g}s waiting for {what}")


async def until(predicate: Callable[[], object], within: float = 5.0) -> None:
    """Wait on the running loop until `predicate()` holds, at most `within` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
