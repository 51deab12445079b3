"""Fixtures for both lanes: global logging restored after every test, and stub notifiers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from testkit.receivers import Receiver
from tests.notifying import Stub


@pytest.fixture(autouse=True)
def isolated_logging() -> Iterator[None]:
    """Undo what `setup_logging` (run by in-process CLI calls) does to the global loggers."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quieted = {name: logging.getLogger(name).level for name in ("aiohttp.access", "asyncio")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in quieted.items():
        logging.getLogger(name).setLevel(old)


@pytest.fixture
async def stub() -> AsyncIterator[Callable[..., Stub]]:
    """Makes `Stub` notifiers (running) that post to one receiver on the test's loop."""
    receiver = Receiver()
    await receiver.start()
    made: list[Stub] = []

    def make(**kw: Any) -> Stub:
        made.append(Stub(receiver, **kw))
        made[-1].task = asyncio.create_task(made[-1].notifier.run())
        return made[-1]

    yield make
    for s in made:
        assert s.task is not None
        s.task.cancel()
        await asyncio.gather(s.task, return_exceptions=True)
    await receiver.stop()
