"""The end-to-end lane: every test here is marked `e2e`; notification endpoints on a loop of
their own and daemon processes, for tests whose daemon is a subprocess."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.daemon import DaemonProcess
from testkit.receivers import LoopThread, Mailbox, Receiver, SmtpServer

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test below tests/e2e/ `e2e`, so that `-m "not e2e"` leaves them out."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.e2e)


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
