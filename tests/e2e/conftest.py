"""The end-to-end lane: every test here is marked `e2e`. Its fixtures serve daemons that run as
subprocesses: the fake Radar, the fake RIS Live and notification endpoints on loops of their
own, and the daemon processes, closed (and checked for leaked secrets) after each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.daemon import DaemonProcess
from testkit.fakeradar import FakeRadar
from testkit.fakerislive import FakeRisLive
from testkit.receivers import LoopThread, Mailbox, Receiver, SmtpServer

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test below tests/e2e/ `e2e`, so that `-m "not e2e"` leaves them out."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def fake() -> Iterator[FakeRadar]:
    """A fresh fake Radar (every prefix seen by nobody until set) in a thread of its own."""
    with FakeRadar() as server:
        yield server


@pytest.fixture
def ris() -> Iterator[FakeRisLive]:
    """A fake RIS Live (nothing announced until a test plays it) in a thread of its own."""
    with FakeRisLive() as server:
        yield server


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
