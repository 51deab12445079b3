"""RIS Live's origin-path subscriptions against the fake server on loopback: a followed AS is
subscribed by `64500$`, what it originates outside the watch list reaches `on_origination`
(watched prefixes, other origins and withdrawals do not), and the paths follow watch-list
changes on the open socket and are subscribed again after a reconnect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from monitor.core.origins import StreamOrigination
from monitor.sources.rislive import BEACONS, RisLiveSource, Timing
from monitor.sources.rislive_subscriptions import Pace
from testkit.fakerislive import FakeRisLive
from testkit.rislive_frames import withdrawal
from testkit.waiting import until

WATCHED = ["192.0.2.0/24"]
FAST = Timing(ping_interval=0.5, dead_after=2.0, backoff_base=0.01, backoff_max=0.05)


@asynccontextmanager
async def following(
    fake: FakeRisLive, origins: list[int]
) -> AsyncIterator[tuple[RisLiveSource, list[StreamOrigination]]]:
    """A running source watching `WATCHED` and following `origins`, closed on the way out."""
    seen: list[StreamOrigination] = []
    source = RisLiveSource(
        WATCHED,
        on_update=lambda update, at: None,
        on_status=lambda status: None,
        on_canary=lambda at: None,
        on_error=lambda message: None,
        on_malformed=lambda reason: None,
        url=fake.url,
        timing=FAST,
        pace=Pace(window=4, rate=1000.0),
        origins=origins,
        on_origination=seen.append,
    )
    task = asyncio.create_task(source.run())
    try:
        yield source, seen
    finally:
        await source.close()
        await asyncio.wait_for(task, 5)


def wanted(*paths: str) -> dict[str, bool]:
    return {**dict.fromkeys(BEACONS, False), **dict.fromkeys(paths, False), WATCHED[0]: True}


async def test_what_a_followed_as_originates_outside_the_watch_list_is_handed_on(
    ris: FakeRisLive,
) -> None:
    async with following(ris, [64500]) as (source, seen):
        await until(
            lambda: ris.subscriptions() == wanted("64500$") and source.subscriptions.settled
        )
        assert source.subscriptions.unacknowledged == 0  # the path's ack freed its slot
        assert source.counts().subscriptions["active"] == len(BEACONS) + 2
        ris.announce("192.0.2.0/24", [64496, 64500])  # watched: judged from its own subscription
        ris.announce("203.0.113.0/24", [64496, 64501])  # another origin: not subscribed
        ris.send(withdrawal("198.18.0.0/24"))  # to everyone; it says nothing of who originates
        ris.announce("198.18.0.0/24", [64496, 64496, 64500], collector="rrc21")
        await until(lambda: seen)
        await asyncio.sleep(0.1)
    assert seen == [
        StreamOrigination(64500, "198.18.0.0/24", (64496, 64496, 64500), "rrc21", seen[0].seen_at)
    ]


async def test_followed_ases_change_on_the_open_socket_and_come_back_after_a_reconnect(
    ris: FakeRisLive,
) -> None:
    async with following(ris, [64500]) as (source, seen):
        await until(lambda: ris.subscriptions() == wanted("64500$"))
        source.update_prefixes(WATCHED, [64501])
        await until(lambda: ris.subscriptions() == wanted("64501$"))
        assert len(ris.connections) == 1  # no reconnect
        ris.drop()
        await until(lambda: len(ris.connections) == 2 and ris.subscriptions(1) == wanted("64501$"))
        ris.announce("198.18.0.0/24", [64496, 64501])
        await until(lambda: seen)
    assert [(s.asn, s.prefix) for s in seen] == [(64501, "198.18.0.0/24")]
