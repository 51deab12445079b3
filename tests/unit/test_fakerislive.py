"""The fake RIS Live filters by subscription as the real service does, answers pings and
subscriptions, records what each connection asked for, fails on request, and can be driven
from another thread."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from monitor.core.stream import StreamUpdate
from monitor.sources.rislive_wire import FrameError, decode_frame
from testkit.fakerislive import FakeRisLive
from testkit.rislive_frames import malformed_frames
from testkit.waiting import until

MARKER = "203.0.113.0/24"


@asynccontextmanager
async def client(fake: FakeRisLive) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with aiohttp.ClientSession() as session, session.ws_connect(fake.url) as ws:
        yield ws


async def subscribe(
    ws: aiohttp.ClientWebSocketResponse, prefix: str, more: bool = True, ack: bool = True
) -> dict[str, Any]:
    data = {"prefix": prefix, "moreSpecific": more, "socketOptions": {"acknowledge": ack}}
    await ws.send_json({"type": "ris_subscribe", "data": data})
    if not ack:
        return {}
    doc: dict[str, Any] = json.loads(await ws.receive_str(timeout=5))
    return doc


async def announced_until_marker(ws: aiohttp.ClientWebSocketResponse) -> list[str]:
    """What reached `ws` up to the marker (announced last): `+prefix` or `-prefix`."""
    seen = []
    while True:
        update = decode_frame(await ws.receive_str(timeout=5))
        assert isinstance(update, StreamUpdate)
        seen += [f"+{r.prefix}" for r in update.routes]
        seen += [f"-{w.prefix}" for w in update.withdrawals]
        if seen[-1] == f"+{MARKER}":
            return seen[:-1]


async def test_frames_go_only_to_subscribers_of_the_prefix_or_a_less_specific(
    ris: FakeRisLive,
) -> None:
    async with client(ris) as ws:
        await subscribe(ws, "192.0.2.0/23")
        await subscribe(ws, "198.51.100.0/24", more=False)
        await subscribe(ws, MARKER)
        for prefix in [
            "192.0.2.128/25",  # more-specific of a subscription with moreSpecific
            "192.0.3.0/24",
            "192.0.2.0/23",  # the exact prefix
            "192.0.0.0/16",  # a less-specific: not asked for
            "198.51.100.0/25",  # more-specific of a subscription without moreSpecific
            "198.51.100.0/24",
            "2001:db8::/32",  # nobody subscribed
        ]:
            ris.announce(prefix, [64496, 64511])
        ris.withdraw("192.0.2.0/23")
        ris.withdraw("10.0.0.0/8")
        ris.announce(MARKER, [64496])
        assert await announced_until_marker(ws) == [
            "+192.0.2.128/25",
            "+192.0.3.0/24",
            "+192.0.2.0/23",
            "+198.51.100.0/24",
            "-192.0.2.0/23",
        ]


async def test_each_connection_gets_only_what_it_subscribed(ris: FakeRisLive) -> None:
    async with client(ris) as first, client(ris) as second:
        await subscribe(first, "192.0.2.0/24")
        await subscribe(second, "2001:db8::/32")
        for ws in (first, second):
            await subscribe(ws, MARKER)
        ris.announce("2001:db8:1::/48", [64496])
        ris.announce("192.0.2.0/24", [64496])
        ris.announce(MARKER, [64496])
        assert await announced_until_marker(first) == ["+192.0.2.0/24"]
        assert await announced_until_marker(second) == ["+2001:db8:1::/48"]


async def test_subscriptions_are_acknowledged_by_echo_and_recorded(ris: FakeRisLive) -> None:
    async with client(ris) as ws:
        ack = await subscribe(ws, "2001:DB8::/32")
        assert ack == {
            "type": "ris_subscribe_ok",
            "data": {
                "subscription": {"prefix": "2001:DB8::/32", "moreSpecific": True},
                "socketOptions": {"acknowledge": True},
            },
        }
        await subscribe(ws, "192.0.2.0/24", more=False, ack=False)
        await ws.send_json({"type": "ris_unsubscribe", "data": {"prefix": "2001:db8::/32"}})
        await ws.send_json({"type": "ping", "data": None})
        assert json.loads(await ws.receive_str(timeout=5)) == {"type": "pong", "data": None}
        (record,) = ris.connections
        assert record.client == "radar-monitor-test"
        assert record.subscriptions == {"192.0.2.0/24": False}
        assert [(s.kind, s.prefix) for s in record.log] == [
            ("ris_subscribe", "2001:db8::/32"),
            ("ris_subscribe", "192.0.2.0/24"),
            ("ris_unsubscribe", "2001:db8::/32"),
        ]
        assert record.pings == 1


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("nonsense", "could not parse message as JSON"),
        ('{"type": "ris_subscribe", "data": {"prefix": "10.0.0.0/33"}}', "invalid prefix"),
        ('{"type": "subscribe_all"}', "unknown message type 'subscribe_all'"),
    ],
)
async def test_bad_client_messages_get_a_ris_error(
    ris: FakeRisLive, message: str, error: str
) -> None:
    async with client(ris) as ws:
        await ws.send_str(message)
        doc = json.loads(await ws.receive_str(timeout=5))
        assert doc["type"] == "ris_error" and error in doc["data"]["message"]


async def test_malformed_frames_are_each_malformed(ris: FakeRisLive) -> None:
    async with client(ris) as ws:
        await until(lambda: ris.open_connections == 1)
        ris.send_malformed(len(malformed_frames()))
        for _ in malformed_frames():
            with pytest.raises(FrameError):
                decode_frame(await ws.receive_str(timeout=5))


async def test_refuse_drop_and_stall(ris: FakeRisLive) -> None:
    ris.refuse()
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(ris.url)
        assert refused.value.status == 503 and ris.refused == 1
    ris.refuse(False)
    async with client(ris) as ws:
        await subscribe(ws, "192.0.2.0/24")
        ris.drop()
        msg = await ws.receive(timeout=5)
        assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    async with client(ris) as ws:
        await subscribe(ws, "192.0.2.0/24")
        ris.stall()
        await ws.send_json({"type": "ping", "data": None})
        ris.announce("192.0.2.0/24", [64496])
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.3)
    await until(lambda: all(c.closed_at is not None for c in ris.connections))
    assert len(ris.connections) == 2


async def test_driven_from_another_thread() -> None:
    with FakeRisLive(ack_delay=0.01) as fake:
        async with client(fake) as ws:
            await subscribe(ws, "192.0.2.0/24")
            await subscribe(ws, MARKER)
            await asyncio.to_thread(fake.announce, "192.0.2.0/25", [64496, 64511])
            await asyncio.to_thread(fake.announce, MARKER, [64496])
            assert await announced_until_marker(ws) == ["+192.0.2.0/25"]
            assert fake.connections[0].max_unacknowledged == 1
