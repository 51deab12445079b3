"""The demo's RIS Live player on loopback: the real client receives the story as it was told,
filtered by subscription; the protocol's acknowledgements, pongs and errors; its bounds."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from monitor.bundled import bundled
from monitor.core.stream import StreamUpdate
from monitor.demo import STORY
from monitor.demo_story import Event, Frame, load_story
from monitor.demo_stream import MAX_CONNECTIONS, RisLivePlayer
from monitor.sources.rislive import BEACONS, RisLiveSource, Timing
from monitor.sources.rislive_subscriptions import Pace
from testkit.waiting import until

YOUTUBE = "208.65.152.0/22"
#: The whole story (3h43m) in about 0.7 s.
FAST = 20_000.0
TIMING = Timing(ping_interval=0.2, dead_after=2.0, connect_timeout=2.0, close_timeout=0.5)


@dataclass
class Heard:
    """What the real client handed on, and what the player told."""

    updates: list[StreamUpdate] = field(default_factory=list)
    canaries: list[datetime] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    told: list[Event] = field(default_factory=list)


@asynccontextmanager
async def playing(prefixes: list[str], speed: float = FAST) -> AsyncIterator[Heard]:
    """The bundled story on a player, streamed by the real RIS Live client for `prefixes`."""
    heard = Heard()
    async with RisLivePlayer(
        load_story(bundled(STORY)), on_event=heard.told.append, speed=speed
    ) as player:
        source = RisLiveSource(
            prefixes,
            on_update=lambda update, _: heard.updates.append(update),
            on_status=lambda status: None,
            on_canary=heard.canaries.append,
            on_error=heard.errors.append,
            on_malformed=lambda reason: pytest.fail(f"a malformed frame: {reason}"),
            url=player.url,
            timing=TIMING,
            pace=Pace(window=10, rate=1000.0),
        )
        task = asyncio.create_task(source.run())
        try:
            yield heard
        finally:
            await source.close()
            await asyncio.wait_for(task, 5)


def story_frames() -> list[Frame]:
    """Every frame of the bundled story but the beacons', in order."""
    story = load_story(bundled(STORY))
    frames = [f for e in story.events for f in e.frames]
    return [f for f in frames if not set(f.prefixes) & set(BEACONS)]


def as_told(update: StreamUpdate) -> tuple[str, str, tuple[str, ...], tuple[int, ...] | None]:
    """(collector, peer, prefixes, path or None for a withdrawal) of one decoded update."""
    if update.routes:
        r = update.routes[0]
        prefixes = tuple(x.prefix for x in update.routes)
        return r.peer.collector, r.peer.address, prefixes, r.as_path
    w = update.withdrawals[0]
    return w.peer.collector, w.peer.address, tuple(x.prefix for x in update.withdrawals), None


async def test_the_real_client_receives_the_story_frame_by_frame_stamped_as_sent() -> None:
    expected = [(f.peer.collector, f.peer.address, f.prefixes, f.path) for f in story_frames()]
    async with playing([YOUTUBE]) as heard:
        await until(lambda: len(heard.updates) >= len(expected))
    assert [as_told(u) for u in heard.updates[: len(expected)]] == expected
    first = heard.updates[0].routes[0]
    assert (first.prefix, first.origin) == ("208.65.153.0/24", 17557)
    assert abs(first.seen_at - datetime.now(UTC)) < timedelta(seconds=5)
    assert heard.canaries  # the beacons moved
    assert heard.errors == []


async def test_a_prefix_nobody_subscribed_gets_nothing_but_the_beacons_still_move() -> None:
    async with playing(["192.0.2.0/24"]) as heard:
        await until(lambda: len(heard.told) > len({e.say for e in heard.told}))  # round two
    assert heard.updates == []
    assert heard.canaries


async def test_the_story_waits_for_a_subscription_is_told_in_order_and_starts_over() -> None:
    story = load_story(bundled(STORY))
    said = [e.say for e in story.events if e.say]
    heard: list[Event] = []
    speed = FAST * 3
    async with RisLivePlayer(story, on_event=heard.append, speed=speed) as player:
        await asyncio.sleep(story.length / speed * 1.5)
        assert heard == []  # nobody subscribed yet: nothing played
        async with aiohttp.ClientSession() as session, session.ws_connect(player.url) as ws:
            await ws.send_json({"type": "ris_subscribe", "data": {"prefix": YOUTUBE}})
            await until(lambda: len(heard) > len(said))
    assert [e.say for e in heard[: len(said) + 1]] == [*said, said[0]]


async def exchange(ws: aiohttp.ClientWebSocketResponse, message: Any) -> dict[str, Any]:
    """Send `message` (text as is, anything else as JSON) and return the next frame."""
    await (ws.send_str(message) if isinstance(message, str) else ws.send_json(message))
    reply: dict[str, Any] = json.loads(await asyncio.wait_for(ws.receive_str(), 2))
    return reply


async def test_it_speaks_the_ris_live_protocol() -> None:
    async with (
        RisLivePlayer(load_story(bundled(STORY)), speed=1.0) as player,
        aiohttp.ClientSession() as session,
        session.ws_connect(player.url) as ws,
    ):
        assert await exchange(ws, {"type": "ping", "data": None}) == {"type": "pong", "data": None}
        sub = {"prefix": YOUTUBE, "moreSpecific": True, "type": "UPDATE"}
        acked = {**sub, "socketOptions": {"acknowledge": True}}
        assert await exchange(ws, {"type": "ris_subscribe", "data": acked}) == {
            "type": "ris_subscribe_ok",
            "data": {"subscription": sub, "socketOptions": {"acknowledge": True}},
        }
        for bad, error in [
            ("not json", "could not parse message as JSON"),
            ({"type": "ris_subscribe", "data": {"prefix": "208.65.152.0/33"}}, "invalid prefix"),
            ({"type": "ris_subscribe", "data": {"prefix": [5]}}, "invalid prefix"),
            ({"type": "request_everything"}, "unknown message type"),
        ]:
            reply = await exchange(ws, bad)
            assert reply["type"] == "ris_error" and error in reply["data"]["message"]
        await ws.send_bytes(b"\x00")
        reply = json.loads(await asyncio.wait_for(ws.receive_str(), 2))
        assert reply["type"] == "ris_error"


async def test_connections_beyond_the_bound_are_refused() -> None:
    async with (
        RisLivePlayer(load_story(bundled(STORY)), speed=1.0) as player,
        aiohttp.ClientSession() as session,
    ):
        open_ = [await session.ws_connect(player.url) for _ in range(MAX_CONNECTIONS)]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(player.url)
        assert refused.value.status == 503
        await open_[0].close()  # a place comes free once the player has seen it go
        async with asyncio.timeout(2):
            while True:
                with contextlib.suppress(aiohttp.WSServerHandshakeError):
                    open_[0] = await session.ws_connect(player.url)
                    break
                await asyncio.sleep(0.01)
        for ws in open_:
            await ws.close()
