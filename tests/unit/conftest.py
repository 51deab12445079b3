"""Fixtures of the unit lane: the fake Radar (and a client of it) and a webhook receiver on the test's own loop,
test certificates, and notifiers under test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

import pytest

from monitor.ops.secret import Secret
from monitor.settings import ChannelConfig, SourceConfig
from monitor.sinks.notifier import Notifier
from monitor.sinks.outbox import Outbox, OutboxItem
from monitor.sources.radar_client import RadarClient
from testkit.fakeradar import DEFAULT_TOKEN, FakeRadar
from testkit.fakerislive import FakeRisLive
from testkit.receivers import Receiver
from tests.notifying import GROUP_WAIT, Harness
from tests.webconfig_files import make_pki


@pytest.fixture
async def fake() -> AsyncIterator[FakeRadar]:
    """A running fake on the test's loop (every prefix seen by nobody until set)."""
    async with FakeRadar() as server:
        yield server


@pytest.fixture
async def client(fake: FakeRadar) -> AsyncIterator[RadarClient]:
    """A Radar client of `fake` with the test token, no retries and a 3 s timeout."""
    radar = RadarClient(
        SourceConfig(base_url=fake.base_url, retries=0, timeout=3), Secret(DEFAULT_TOKEN)
    )
    yield radar
    await radar.close()


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


@pytest.fixture
async def make_harness() -> AsyncIterator[Callable[..., Harness]]:
    """Build notifiers whose on_change persists the outbox, as the daemon's store does."""
    made: list[Harness] = []

    def make(
        channels: Iterable[ChannelConfig],
        *,
        items: Iterable[OutboxItem] = (),
        group_wait: float = GROUP_WAIT,
        send_timeout: float = 5.0,
        persist: bool = True,
    ) -> Harness:
        outbox = Outbox(items)

        def on_change() -> None:
            if persist:
                outbox.persisted.update(outbox.items)
            h.errors += [i.last_error for i in outbox.items.values() if i.last_error]

        notifier = Notifier(
            list(channels),
            outbox,
            group_wait=group_wait,
            max_backoff=0.3,
            send_timeout=send_timeout,
            can_send_unpersisted=lambda: False,
            on_change=on_change,
            on_result=lambda name, outcome: h.results.append((name, outcome)),
        )
        h = Harness(outbox, notifier)
        made.append(h)
        return h

    yield make
    for h in made:
        if h.task is not None:
            h.task.cancel()
            await asyncio.gather(h.task, return_exceptions=True)
