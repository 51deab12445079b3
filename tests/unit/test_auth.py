"""Turns for password checks: clients take turns, the busiest is turned away when too many wait,
and a cancelled request never keeps a turn (the daemon-level proof is in
tests/e2e/test_http_listener.py)."""

from __future__ import annotations

import asyncio

import pytest

from monitor.exposition.auth import Busy, FairTurns, client_of
from testkit.waiting import until


class Clients:
    """Tasks taking turns; each records its name when it got one, and keeps it until released."""

    def __init__(self, turns: FairTurns) -> None:
        self.turns = turns
        self.order: list[str] = []
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.release: dict[str, asyncio.Event] = {}

    def start(self, name: str) -> asyncio.Task[None]:
        """`name` is "client/n": client n-th request."""
        self.release[name] = asyncio.Event()

        async def take() -> None:
            async with self.turns.turn(name.split("/")[0]):
                self.order.append(name)
                await self.release[name].wait()

        self.tasks[name] = asyncio.create_task(take())
        return self.tasks[name]

    async def finish(self, name: str) -> None:
        self.release[name].set()
        await self.tasks[name]


async def test_clients_take_turns_whoever_queued_first() -> None:
    clients = Clients(FairTurns(slots=1, max_waiting=10))
    clients.start("first/0")
    await until(lambda: clients.order == ["first/0"])
    for name in ("guesser/1", "guesser/2", "guesser/3", "scraper/1"):
        clients.start(name)
    await until(lambda: clients.turns.waiting == 4)
    for name in ("first/0", "guesser/1", "scraper/1", "guesser/2", "guesser/3"):
        await clients.finish(name)
    assert clients.order == ["first/0", "guesser/1", "scraper/1", "guesser/2", "guesser/3"]


async def test_when_too_many_wait_the_busiest_client_is_turned_away() -> None:
    clients = Clients(FairTurns(slots=1, max_waiting=3))
    clients.start("first/0")
    await until(lambda: clients.order == ["first/0"])
    for name in ("guesser/1", "guesser/2", "guesser/3"):
        clients.start(name)
    await until(lambda: clients.turns.waiting == 3)
    with pytest.raises(Busy):  # the guesser's own newest, it having the most waiting
        await clients.start("guesser/4")
    scraper = clients.start("scraper/1")
    with pytest.raises(Busy):  # its oldest makes room for another client
        await clients.tasks["guesser/1"]
    await clients.finish("first/0")
    await until(lambda: clients.order[-1] == "scraper/1")
    assert clients.order == ["first/0", "scraper/1"]  # the guesser lost its place, too
    for name in ("scraper/1", "guesser/2", "guesser/3"):
        await clients.finish(name)
    assert scraper.done() and clients.order[2:] == ["guesser/2", "guesser/3"]


async def test_a_cancelled_request_keeps_no_turn() -> None:
    clients = Clients(FairTurns(slots=1, max_waiting=10))
    clients.start("a/0")
    await until(lambda: clients.order == ["a/0"])
    clients.start("b/1")
    clients.start("c/1")
    await until(lambda: clients.turns.waiting == 2)
    clients.tasks["b/1"].cancel()  # gave up while waiting
    await clients.finish("a/0")
    await until(lambda: clients.order == ["a/0", "c/1"])
    clients.start("d/1")
    clients.start("e/1")
    await until(lambda: clients.turns.waiting == 2)
    # d is cancelled after its turn came and before it ran: it must pass the turn on to e.
    clients.release["c/1"].set()
    asyncio.get_running_loop().call_soon(clients.tasks["d/1"].cancel)
    with pytest.raises(asyncio.CancelledError):
        await clients.tasks["d/1"]
    await until(lambda: clients.order[-1] == "e/1")
    await clients.finish("e/1")
    assert clients.turns.waiting == 0 and "d/1" not in clients.order
    async with clients.turns.turn("f"):  # the one slot is free again
        pass


@pytest.mark.parametrize(
    ("remote", "client"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        (None, ""),
    ],
)
def test_one_host_is_one_client(remote: str | None, client: str) -> None:
    assert client_of(remote) == client
