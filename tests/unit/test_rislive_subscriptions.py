"""The pace of RIS Live subscriptions, on a clock the test turns: the in-flight window, the rate,
acknowledgements that never come, watch-list changes on an open socket, and the cap."""

from __future__ import annotations

import json

import pytest

from monitor.sources.rislive_subscriptions import (
    MAX_WATCHED,
    Command,
    Pace,
    Subscriptions,
)

BEACONS = ("84.205.64.0/24", "2001:7fb:fe00::/48")
WATCHED = [f"10.0.{i}.0/24" for i in range(20)]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def started(pace: Pace, watched: list[str] = WATCHED) -> tuple[Subscriptions, Clock]:
    clock = Clock()
    subs = Subscriptions(watched, BEACONS, pace, clock)
    subs.restart()
    return subs, clock


def drain(subs: Subscriptions) -> list[Command]:
    sent = []
    while (command := subs.next_command()) is not None:
        sent.append(command)
    return sent


def test_the_subscription_message_is_what_ris_live_expects() -> None:
    assert json.loads(Command("ris_subscribe", "192.0.2.0/24", True).frame()) == {
        "type": "ris_subscribe",
        "data": {
            "prefix": "192.0.2.0/24",
            "moreSpecific": True,
            "type": "UPDATE",
            "socketOptions": {"acknowledge": True},
        },
    }
    undo = json.loads(Command("ris_unsubscribe", "84.205.64.0/24", False).frame())
    assert undo["type"] == "ris_unsubscribe" and undo["data"]["moreSpecific"] is False


def test_beacons_first_alone_then_watched_prefixes_with_more_specifics() -> None:
    subs, _ = started(Pace(window=100, rate=1000))
    sent = drain(subs)
    assert [(c.prefix, c.more_specific) for c in sent] == [
        *((b, False) for b in BEACONS),
        *((p, True) for p in WATCHED),
    ]
    assert {c.kind for c in sent} == {"ris_subscribe"}


def test_at_most_window_unacknowledged_and_each_ack_lets_one_more_go() -> None:
    subs, clock = started(Pace(window=4, rate=1000))
    first = drain(subs)
    assert len(first) == 4
    clock.now += 1.0  # the rate allows plenty: only the window holds them back
    assert drain(subs) == []
    subs.acknowledged((first[1].prefix,))
    assert [c.prefix for c in drain(subs)] == [WATCHED[2]]
    subs.acknowledged(())  # an ack naming no prefix frees the oldest slot
    assert len(drain(subs)) == 1
    subs.acknowledged(("203.0.113.0/24",))  # an ack for something not waited for frees nothing
    assert drain(subs) == []


def test_the_rate_holds_even_when_acks_come_at_once() -> None:
    subs, clock = started(Pace(window=5, rate=10))
    sent = drain(subs)
    assert len(sent) == 5  # the burst
    subs.acknowledged(tuple(c.prefix for c in sent))
    assert drain(subs) == []
    assert subs.wait_time() == pytest.approx(0.1)
    clock.now += 0.1
    assert len(drain(subs)) == 1
    clock.now += 1.0  # ten more tokens, but the window (5) caps the burst
    subs.acknowledged(())
    assert len(drain(subs)) == 5


def test_an_acknowledgement_that_never_comes_frees_its_slot_after_the_timeout() -> None:
    subs, clock = started(Pace(window=2, rate=1000, ack_timeout=10.0))
    assert len(drain(subs)) == 2
    assert subs.wait_time() == pytest.approx(10.0)
    clock.now += 10.0
    assert len(drain(subs)) == 2
    assert subs.unacknowledged == 2


def test_settled_once_everything_is_sent_and_acknowledged() -> None:
    subs, _ = started(Pace(window=100, rate=1000), watched=WATCHED[:2])
    sent = drain(subs)
    assert not subs.settled
    subs.acknowledged(tuple(c.prefix for c in sent))
    assert subs.settled and subs.wait_time() is None


def test_counts_say_how_many_are_active_waiting_queued_and_left_out() -> None:
    subs, _ = started(Pace(window=4, rate=1000), watched=WATCHED)
    assert subs.counts() == {"active": 0, "waiting": 0, "queued": 22, "left_out": 0}
    sent = drain(subs)
    subs.acknowledged((sent[0].prefix,))
    assert subs.counts() == {"active": 1, "waiting": 3, "queued": 18, "left_out": 0}


def test_changing_the_watch_list_unsubscribes_what_went_and_subscribes_what_came() -> None:
    subs, _ = started(Pace(window=100, rate=1000), watched=WATCHED[:3])
    subs.acknowledged(tuple(c.prefix for c in drain(subs)))
    subs.want([WATCHED[1], WATCHED[2], "192.0.2.0/24"])
    assert [(c.kind, c.prefix) for c in drain(subs)] == [
        ("ris_unsubscribe", WATCHED[0]),
        ("ris_subscribe", "192.0.2.0/24"),
    ]
    assert subs.watched == {WATCHED[1], WATCHED[2], "192.0.2.0/24"}


def test_a_prefix_removed_before_it_was_sent_costs_no_message() -> None:
    subs, clock = started(Pace(window=1, rate=1000), watched=WATCHED[:3])
    assert [c.prefix for c in drain(subs)] == [BEACONS[0]]
    subs.want(WATCHED[1:3])
    subs.acknowledged((BEACONS[0],))
    rest = []
    clock.now += 1.0
    while (command := subs.next_command()) is not None:
        rest.append((command.kind, command.prefix))
        subs.acknowledged((command.prefix,))
        clock.now += 1.0
    assert rest == [("ris_subscribe", p) for p in (BEACONS[1], WATCHED[1], WATCHED[2])]


def test_a_beacon_that_becomes_watched_is_subscribed_again_with_more_specifics() -> None:
    subs, _ = started(Pace(window=100, rate=1000), watched=[])
    drain(subs)
    subs.want([BEACONS[0]])
    assert [(c.kind, c.prefix, c.more_specific) for c in drain(subs)] == [
        ("ris_unsubscribe", BEACONS[0], False),
        ("ris_subscribe", BEACONS[0], True),
    ]


def test_a_new_socket_subscribes_everything_again() -> None:
    subs, _ = started(Pace(window=100, rate=1000), watched=WATCHED[:2])
    drain(subs)
    subs.restart()
    assert len(drain(subs)) == len(BEACONS) + 2


def test_drops_while_subscribing_halve_the_rate_down_to_bgpalerters() -> None:
    subs, _ = started(Pace(rate=50, min_rate=5))
    rates = []
    for _ in range(5):
        subs.slow_down()
        rates.append(subs.rate)
    assert rates == [25, 12.5, 6.25, 5, 5]


def test_at_most_ten_thousand_watched_prefixes() -> None:
    many = [f"10.{i // 256}.{i % 256}.0/24" for i in range(MAX_WATCHED + 5)]
    subs = Subscriptions(many, BEACONS)
    assert len(subs.watched) == MAX_WATCHED and subs.left_out == 5
    assert subs.counts()["left_out"] == 5
    assert len(subs.wanted) == MAX_WATCHED + len(BEACONS)
