"""The fake RIS Live plays incident timelines: each step at its offset, phase by phase, and
each incident as the frames a subscriber of the watched prefix receives."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from monitor.core.stream import StreamUpdate
from monitor.sources.rislive_wire import decode_frame
from testkit.fakerislive import FakeRisLive
from testkit.rislive_timelines import (
    Timeline,
    exact_prefix_hijack,
    peer_addresses,
    phase,
    play,
    sub_prefix_hijack,
    upstream_leak,
    withdrawal_storm,
)
from testkit.waiting import until

WATCHED = "198.51.100.0/24"
PEERS = peer_addresses(4)


async def received(ris: FakeRisLive, timeline: Timeline) -> tuple[list[str], dict[str, float]]:
    """What a subscriber of WATCHED receives while `timeline` plays: `+prefix path by peer`
    or `-prefix by peer`, in order; and when each phase began."""
    async with aiohttp.ClientSession() as session, session.ws_connect(ris.url) as ws:
        data = {"prefix": WATCHED, "moreSpecific": True}
        await ws.send_json({"type": "ris_subscribe", "data": data})
        await until(lambda: WATCHED in ris.subscriptions())
        began = await asyncio.to_thread(play, ris, timeline)
        seen: list[str] = []
        while len(seen) < len(timeline):
            update = decode_frame(await ws.receive_str(timeout=5))
            assert isinstance(update, StreamUpdate)
            seen += [
                f"+{r.prefix} {' '.join(map(str, r.as_path))} by {r.peer.address}"
                for r in update.routes
            ]
            seen += [f"-{w.prefix} by {w.peer.address}" for w in update.withdrawals]
    return seen, began


async def test_a_withdrawal_storm_routes_then_withdraws_every_peer_in_time(
    ris: FakeRisLive,
) -> None:
    storm = withdrawal_storm(WATCHED, 64501, PEERS, within=0.2, after=0.3)
    seen, began = await received(ris, storm)
    assert seen == [f"+{WATCHED} 64496 174 64501 by {p}" for p in PEERS] + [
        f"-{WATCHED} by {p}" for p in PEERS
    ]
    assert began["storm"] - began["routes"] >= 0.3
    assert [s.at for s in phase(storm, "storm")] == pytest.approx([0.0, 0.05, 0.1, 0.15])


async def test_hijacks_start_and_end(ris: FakeRisLive) -> None:
    hijack = exact_prefix_hijack(WATCHED, 666, PEERS[:2], lasting=0.2)
    seen, began = await received(ris, hijack)
    assert seen == [
        f"+{WATCHED} 3356 666 by 192.0.2.1",
        f"+{WATCHED} 3356 666 by 192.0.2.2",
        f"-{WATCHED} by 192.0.2.1",
        f"-{WATCHED} by 192.0.2.2",
    ]
    assert began["end"] - began["onset"] >= 0.2
    seen, _ = await received(ris, phase(sub_prefix_hijack(WATCHED, 666, PEERS[:1]), "onset"))
    assert seen == ["+198.51.100.0/25 3356 666 by 192.0.2.1"]


async def test_a_leak_moves_some_peers_to_the_leaker_and_back(ris: FakeRisLive) -> None:
    leak = upstream_leak(WATCHED, 64501, 64999, PEERS[:3], leaking=2, lasting=0.1)
    seen, _ = await received(ris, leak)
    assert seen == [
        f"+{WATCHED} 64496 174 64501 by 192.0.2.1",  # upstreams in turn
        f"+{WATCHED} 64496 3356 64501 by 192.0.2.2",
        f"+{WATCHED} 64496 174 64501 by 192.0.2.3",
        f"+{WATCHED} 64496 64999 64501 by 192.0.2.1",
        f"+{WATCHED} 64496 64999 64501 by 192.0.2.2",
        f"+{WATCHED} 64496 174 64501 by 192.0.2.1",
        f"+{WATCHED} 64496 3356 64501 by 192.0.2.2",
    ]


def test_a_phase_must_exist_and_peers_must_fit_their_range() -> None:
    with pytest.raises(ValueError, match="no phase 'storm'"):
        phase(exact_prefix_hijack(WATCHED, 666, PEERS), "storm")
    with pytest.raises(ValueError):
        peer_addresses(255)
