"""Fixtures shared by the end-to-end tests: notification endpoints and daemon processes."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from testkit.daemon import DaemonProcess
from testkit.receivers import LoopThread, Mailbox, Receiver, SmtpServer


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


@pytest.fixture(scope="module")
def loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.stop()


@pytest.fixture
def receiver(loop: LoopThread) -> Iterator[Receiver]:
    r = Receiver()
    loop.run(r.start())
    yield r
    loop.run(r.stop())


@pytest.fixture
def smtp(loop: LoopThread) -> Iterator[SmtpServer]:
    server = SmtpServer(Mailbox())
    yield server
    loop.run(server.stop())


@pytest.fixture
def daemons() -> Iterator[list[DaemonProcess]]:
    started: list[DaemonProcess] = []
    yield started
    for d in started:
        d.close()
