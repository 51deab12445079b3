"""Fixtures of the unit lane: the fake Radar and a webhook receiver on the test's own loop, and
test certificates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from testkit.fakeradar import FakeRadar
from testkit.fakerislive import FakeRisLive
from testkit.receivers import Receiver
from tests.webconfig_files import make_pki


@pytest.fixture
async def fake() -> AsyncIterator[FakeRadar]:
    """A running fake on the test's loop (every prefix seen by nobody until set)."""
    async with FakeRadar() as server:
        yield server


@pytest.fixture
async def ris() -> AsyncIterator[FakeRisLive]:
    """A running fake RIS Live on the test's loop (acknowledging subscriptions at once)."""
    async with FakeRisLive() as server:
        yield server


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver on the test's loop."""
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, server and client certificates it signed, and the server key encrypted."""
    return make_pki(tmp_path_factory.mktemp("pki"))
