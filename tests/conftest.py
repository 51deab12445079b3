"""Fixtures shared by the end-to-end tests: notification endpoints and daemon processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.daemon_harness import DaemonProcess
from tests.receivers import LoopThread, Mailbox, Receiver, SmtpServer


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
