"""The RIS Live client against the fake server on loopback: paced, acknowledged subscriptions,
updates and the canary, reconnects that resubscribe, watch-list changes on the open socket,
dead sockets, malformed frames and errors that are not fatal, and its backoff."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.core.stream import Peer, PeerRoute, StreamStatus, StreamUpdate
from monitor.sources.rislive import BEACONS, RisLiveSource, Timing
from monitor.sources.rislive_subscriptions import Pace
from testkit.fakerislive import FakeRisLive
from testkit.rislive_frames import ris_error
from testkit.waiting import until

WATCHED = ["192.0.2.0/24", "198.51.100.0/23", "2001:db8::/32"]
FAST = Timing(
    ping_interval=0.5,
    dead_after=2.0,
    connect_timeout=2.0,
    backoff_base=0.01,
    backoff_max=0.05,
    close_timeout=0.5,
)
QUICK = Pace(window=4, rate=1000.0)


@dataclass
class Seen:
    """Everything the source handed to its callbacks."""

    updates: list[tuple[StreamUpdate, float]] = field(default_factory=list)
    statuses: list[StreamStatus] = field(default_factory=list)
    canaries: list[datetime] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)

    @property
    def routes(self) -> list[PeerRoute]:
        return [r for u, _ in self.updates for r in u.routes]


@asynccontextmanager
async def streaming(
    fake: FakeRisLive, prefixes: list[str] = WATCHED, **options: Any
) -> AsyncIterator[tuple[RisLiveSource, Seen]]:
    """A running source for `prefixes`, closed (and its run checked) on the way out."""
    seen = Seen()
    options.setdefault("timing", FAST)
    options.setdefault("pace", QUICK)
    options.setdefault("url", fake.url)
    source = RisLiveSource(
        prefixes,
        on_update=lambda u, at: seen.updates.append((u, at)),
        on_status=seen.statuses.append,
        on_canary=seen.canaries.append,
        on_error=seen.errors.append,
        on_malformed=seen.malformed.append,
        **options,
    )
    task = asyncio.create_task(source.run())
    try:
        yield source, seen
    finally:
        await source.close()
        await asyncio.wait_for(task, 5)  # returns: run() never raises but CancelledError


def everything(prefixes: list[str] = WATCHED) -> dict[str, bool]:
    """What the fake should record: beacons alone, watched prefixes with more-specifics."""
    return {**dict.fromkeys(BEACONS, False), **dict.fromkeys(prefixes, True)}


async def subscribed(fake: FakeRisLive, connection: int, wanted: dict[str, bool]) -> None:
    await until(
        lambda: (
            len(fake.connections) > connection
            and fake.subscriptions(connection) == wanted
            and fake.connections[connection].closed_at is None
        )
    )


async def test_subscribes_beacons_then_prefixes_never_more_than_the_window_unacknowledged(
    ris: FakeRisLive,
) -> None:
    prefixes = [f"10.{i}.0.0/16" for i in range(40)]
    ris.ack_delay = 0.02
    async with streaming(ris, prefixes) as (source, _):
        await subscribed(ris, 0, everything(prefixes))
        await until(lambda: source.subscriptions.settled)
    (connection,) = ris.connections
    assert connection.client == "radar-monitor-test"
    assert [s.prefix for s in connection.log] == [*BEACONS, *prefixes]
    assert connection.max_unacknowledged == QUICK.window
    assert source.subscriptions.unacknowledged == 0


async def test_a_server_that_never_acknowledges_is_subscribed_all_the_same() -> None:
    async with (
        FakeRisLive(acknowledge=False) as fake,
        streaming(fake, pace=Pace(window=2, rate=1000.0, ack_timeout=0.05)) as (source, _),
    ):
        await subscribed(fake, 0, everything())
        await until(lambda: source.subscriptions.settled)
        assert source.subscriptions.unacknowledged == len(everything())


async def test_updates_of_watched_prefixes_and_their_more_specifics_reach_on_update(
    ris: FakeRisLive,
) -> None:
    async with streaming(ris) as (_, seen):
        await subscribed(ris, 0, everything())
        sent = time.monotonic()
        ris.announce("192.0.2.128/25", [64500, 64666], peer="192.0.2.9", collector="rrc05")
        ris.withdraw("2001:db8:ff::/48", collector="rrc25")
        await until(lambda: len(seen.updates) == 2)
    (hijack,), (withdrawal,) = seen.updates[0][0].routes, seen.updates[1][0].withdrawals
    assert (hijack.prefix, hijack.origin, hijack.as_path) == (
        "192.0.2.128/25",
        64666,
        (64500, 64666),
    )
    assert hijack.peer == Peer("rrc05", "192.0.2.9", 64500)
    assert (withdrawal.prefix, withdrawal.peer.collector) == ("2001:db8:ff::/48", "rrc25")
    assert all(sent <= received <= time.monotonic() for _, received in seen.updates)
    assert [s.connected for s in seen.statuses] == [True, False]


async def test_a_moving_beacon_feeds_the_canary_not_on_update(ris: FakeRisLive) -> None:
    async with streaming(ris) as (_, seen):
        await subscribed(ris, 0, everything())
        ris.beacon(timestamp=1_700_000_000.5)
        ris.beacon(BEACONS[3], announce=False, timestamp=1_700_000_100.0)
        ris.announce("192.0.2.0/24", [64496])
        await until(lambda: len(seen.canaries) == 2 and seen.updates)
    assert seen.canaries == [
        datetime.fromtimestamp(1_700_000_000.5, UTC),
        datetime.fromtimestamp(1_700_000_100.0, UTC),
    ]
    assert [r.prefix for r in seen.routes] == ["192.0.2.0/24"]


async def test_after_a_drop_it_reconnects_and_resubscribes_everything(ris: FakeRisLive) -> None:
    async with streaming(ris) as (_, seen):
        await subscribed(ris, 0, everything())
        ris.drop()
        await subscribed(ris, 1, everything())
        ris.announce("198.51.101.0/24", [64496, 64511])
        await until(lambda: seen.routes)
        ups_and_downs = [s.connected for s in seen.statuses]
    assert ups_and_downs == [True, False, True]
    assert seen.statuses[1].reason
    assert [r.prefix for r in seen.routes] == ["198.51.101.0/24"]


async def test_a_new_watch_list_changes_the_subscriptions_without_reconnecting(
    ris: FakeRisLive,
) -> None:
    async with streaming(ris) as (source, seen):
        await subscribed(ris, 0, everything())
        source.update_prefixes(["192.0.2.0/24", "2001:db8::/32", "203.0.113.0/24"])
        await subscribed(ris, 0, everything(["192.0.2.0/24", "2001:db8::/32", "203.0.113.0/24"]))
        ris.announce("198.51.100.0/24", [64496])  # no longer watched: not sent
        ris.announce("203.0.113.0/25", [64496])
        await until(lambda: seen.routes)
    (connection,) = ris.connections
    assert [(s.kind, s.prefix) for s in connection.log[len(everything()) :]] == [
        ("ris_unsubscribe", "198.51.100.0/23"),
        ("ris_subscribe", "203.0.113.0/24"),
    ]
    assert [r.prefix for r in seen.routes] == ["203.0.113.0/25"]


async def test_pings_keep_the_socket_alive(ris: FakeRisLive) -> None:
    timing = replace(FAST, ping_interval=0.1, dead_after=1.0)
    async with streaming(ris, timing=timing):
        await until(lambda: ris.connections and ris.connections[0].pings >= 3)
    assert len(ris.connections) == 1


@pytest.mark.parametrize("websocket_alive", [False, True])
async def test_a_stalled_socket_is_found_dead_and_replaced(
    ris: FakeRisLive, websocket_alive: bool
) -> None:
    timing = replace(FAST, ping_interval=0.2, dead_after=0.6)
    async with streaming(ris, timing=timing) as (_, seen):
        await subscribed(ris, 0, everything())
        ris.stall(websocket_alive=websocket_alive)
        await subscribed(ris, 1, everything())
        assert [s.connected for s in seen.statuses] == [True, False, True]
    if websocket_alive:  # only RIS Live's own ping can tell
        assert seen.statuses[1].reason == "no message for 0.6s, not even a pong"


async def test_malformed_frames_are_counted_logged_once_and_not_fatal(
    ris: FakeRisLive, caplog: pytest.LogCaptureFixture
) -> None:
    async with streaming(ris) as (_, seen):
        await subscribed(ris, 0, everything())
        with caplog.at_level(logging.WARNING, logger="monitor.sources.rislive"):
            ris.send_malformed(12)
            ris.announce("192.0.2.0/24", [64496])
            await until(lambda: seen.routes)
    assert len(seen.malformed) == 12
    lines = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert len(lines) == 1 and lines[0].startswith("RIS Live sent a malformed frame: not JSON")
    assert len(ris.connections) == 1


async def test_ris_errors_are_reported_and_logged(
    ris: FakeRisLive, caplog: pytest.LogCaptureFixture
) -> None:
    async with streaming(ris) as (_, seen):
        await subscribed(ris, 0, everything())
        with caplog.at_level(logging.WARNING, logger="monitor.sources.rislive"):
            ris.send(ris_error("Client is too slow"))
            await until(lambda: seen.errors)
    assert seen.errors == ["Client is too slow"]
    assert "RIS Live reported an error: Client is too slow" in caplog.messages
    assert len(ris.connections) == 1


async def test_every_message_is_counted_by_kind_and_subscriptions_by_state(
    ris: FakeRisLive,
) -> None:
    timing = replace(FAST, ping_interval=0.1)
    async with streaming(ris, timing=timing) as (source, seen):
        # Before the socket is open nothing is subscribed, nor queued for it.
        assert set(source.counts().subscriptions.values()) == {0}
        await subscribed(ris, 0, everything())
        await until(lambda: ris.connections[0].pings >= 2)
        ris.send_malformed(3)
        ris.send(ris_error("Client is too slow"))
        ris.send({"type": "ris_rrc_list", "data": ["rrc00"]})
        ris.announce("192.0.2.0/24", [64496])
        await until(lambda: seen.routes and source.counts().messages["ignored"] == 1)
        counts = source.counts()
    messages = counts.messages
    assert (messages["update"], messages["malformed"], messages["error"]) == (1, 3, 1)
    assert messages["subscribe_ok"] == 9 and messages["pong"] >= 2
    assert counts.subscriptions == {"active": 9, "waiting": 0, "queued": 0, "left_out": 0}


async def test_a_frame_above_one_mebibyte_closes_the_socket_and_it_reconnects(
    ris: FakeRisLive,
) -> None:
    async with streaming(ris) as (_, seen):
        await subscribed(ris, 0, everything())
        ris.send(" " * (1 << 20) + "{}")
        await subscribed(ris, 1, everything())
    assert "exceeds limit 1048576" in seen.statuses[1].reason


async def test_a_failing_callback_is_logged_and_the_stream_goes_on(
    ris: FakeRisLive, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[StreamUpdate] = []

    def broken(update: StreamUpdate, _: float) -> None:
        calls.append(update)
        raise RuntimeError("bug in the RIB")

    source = RisLiveSource(
        WATCHED,
        on_update=broken,
        on_status=lambda _: None,
        on_canary=lambda _: None,
        on_error=lambda _: None,
        on_malformed=lambda _: None,
        url=ris.url,
        timing=FAST,
        pace=QUICK,
    )
    with caplog.at_level(logging.ERROR, logger="monitor.sources.rislive"):
        task = asyncio.create_task(source.run())
        await subscribed(ris, 0, everything())
        for _ in range(3):
            ris.announce("192.0.2.0/24", [64496])
        await until(lambda: len(calls) == 3)
        await source.close()
        await asyncio.wait_for(task, 5)
    assert caplog.messages == ["RIS Live: a stream callback failed: RuntimeError: bug in the RIB"]
    assert len(ris.connections) == 1


async def test_close_stops_it_and_says_so(ris: FakeRisLive) -> None:
    async with streaming(ris) as (source, seen):
        await subscribed(ris, 0, everything())
    assert not source.connected
    assert seen.statuses[-1].connected is False and seen.statuses[-1].reason == "stopped"
    await until(lambda: ris.open_connections == 0)


class Sleeps:
    """Records the backoff delays chosen, without waiting them out."""

    def __init__(self, fake: FakeRisLive, accept_after: int | None = None) -> None:
        self.delays: list[float] = []
        self.fake, self.accept_after = fake, accept_after

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        if len(self.delays) == self.accept_after:
            self.fake.refuse(False)
        if len(self.delays) >= 12:
            await asyncio.Event().wait()  # enough: wait for close()
        await asyncio.sleep(0)


async def test_backoff_grows_to_a_minute_with_full_jitter(ris: FakeRisLive) -> None:
    ris.refuse()
    sleeps = Sleeps(ris)
    timing = replace(FAST, backoff_base=1.0, backoff_max=60.0)
    async with streaming(ris, timing=timing, draw=random.Random(7).random, sleep=sleeps) as (
        _,
        seen,
    ):
        await until(lambda: len(sleeps.delays) == 12)
    draws = random.Random(7)
    ceilings = [1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60, 60]
    assert sleeps.delays == [draws.random() * c for c in ceilings]
    assert len({round(d / c, 9) for d, c in zip(sleeps.delays, ceilings, strict=True)}) == 12
    assert seen.statuses == [
        StreamStatus(False, seen.statuses[0].at, "RIS Live refused the WebSocket (HTTP 503)")
    ]
    assert ris.refused == 12


async def test_backoff_starts_over_once_a_connection_stayed_up(ris: FakeRisLive) -> None:
    ris.refuse()
    sleeps = Sleeps(ris, accept_after=3)
    timing = replace(FAST, backoff_base=1.0, backoff_max=60.0, stable_after=0.3)
    async with streaming(ris, timing=timing, draw=lambda: 0.5, sleep=sleeps) as (source, _):
        await until(lambda: source.connected)
        ris.drop()  # up for a moment only: the backoff goes on growing
        await until(lambda: len(sleeps.delays) == 4 and source.connected)
        await asyncio.sleep(0.4)  # longer than stable_after
        ris.drop()
        await until(lambda: len(sleeps.delays) == 5)
    assert sleeps.delays == [0.5, 1.0, 2.0, 4.0, 0.5]


async def test_an_unreachable_server_is_a_down_stream_not_an_exception() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    seen = Seen()
    source = RisLiveSource(
        WATCHED,
        on_update=lambda u, at: None,
        on_status=seen.statuses.append,
        on_canary=lambda _: None,
        on_error=lambda _: None,
        on_malformed=lambda _: None,
        url=f"ws://127.0.0.1:{port}/v1/ws/",
        timing=FAST,
    )
    task = asyncio.create_task(source.run())
    await until(lambda: seen.statuses)
    await source.close()
    await asyncio.wait_for(task, 5)
    assert seen.statuses[0].reason.startswith("cannot connect: ClientConnectorError")
