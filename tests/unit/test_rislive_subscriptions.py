"""The pace of RIS Live subscriptions, on a clock the test turns: the in-flight window, the rate,
acknowledgements that never come, watch-list changes on an open socket, the cap, and the
origin-path subscriptions of followed ASes."""

from __future__ import annotations

import json

import pytest

from monitor.sources.rislive_subscriptions import (
    MAX_WATCHED,
    Command,
    Pace,
    Subscriptions,
    origin_path,
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
    assert [(c.target, c.more_specific) for c in sent] == [
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
    subs.acknowledged((first[1].target,))
    assert [c.target for c in drain(subs)] == [WATCHED[2]]
    subs.acknowledged(())  # an ack naming no prefix frees the oldest slot
    assert len(drain(subs)) == 1
    subs.acknowledged(("203.0.113.0/24",))  # an ack for something not waited for frees nothing
    assert drain(subs) == []


def test_the_rate_holds_even_when_acks_come_at_once() -> None:
    subs, clock = started(Pace(window=5, rate=10))
    sent = drain(subs)
    assert len(sent) == 5  # the burst
    subs.acknowledged(tuple(c.target for c in sent))
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
    subs.acknowledged(tuple(c.target for c in sent))
    assert subs.settled and subs.wait_time() is None


def test_counts_say_how_many_are_active_waiting_queued_and_left_out() -> None:
    subs, _ = started(Pace(window=4, rate=1000), watched=WATCHED)
    assert subs.counts() == {"active": 0, "waiting": 0, "queued": 22, "left_out": 0}
    sent = drain(subs)
    subs.acknowledged((sent[0].target,))
    assert subs.counts() == {"active": 1, "waiting": 3, "queued": 18, "left_out": 0}


def test_changing_the_watch_list_unsubscribes_what_went_and_subscribes_what_came() -> None:
    subs, _ = started(Pace(window=100, rate=1000), watched=WATCHED[:3])
    subs.acknowledged(tuple(c.target for c in drain(subs)))
    subs.want([WATCHED[1], WATCHED[2], "192.0.2.0/24"])
    assert [(c.kind, c.target) for c in drain(subs)] == [
        ("ris_unsubscribe", WATCHED[0]),
        ("ris_subscribe", "192.0.2.0/24"),
    ]
    assert subs.watched == {WATCHED[1], WATCHED[2], "192.0.2.0/24"}


def test_a_prefix_removed_before_it_was_sent_costs_no_message() -> None:
    subs, clock = started(Pace(window=1, rate=1000), watched=WATCHED[:3])
    assert [c.target for c in drain(subs)] == [BEACONS[0]]
    subs.want(WATCHED[1:3])
    subs.acknowledged((BEACONS[0],))
    rest = []
    clock.now += 1.0
    while (command := subs.next_command()) is not None:
        rest.append((command.kind, command.target))
        subs.acknowledged((command.target,))
        clock.now += 1.0
    assert rest == [("ris_subscribe", p) for p in (BEACONS[1], WATCHED[1], WATCHED[2])]


def test_a_beacon_that_becomes_watched_is_subscribed_again_with_more_specifics() -> None:
    subs, _ = started(Pace(window=100, rate=1000), watched=[])
    drain(subs)
    subs.want([BEACONS[0]])
    assert [(c.kind, c.target, c.more_specific) for c in drain(subs)] == [
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


def test_an_origin_path_subscription_is_what_ris_live_expects() -> None:
    assert json.loads(Command("ris_subscribe", origin_path(64500), False).frame()) == {
        "type": "ris_subscribe",
        "data": {"path": "64500$", "type": "UPDATE", "socketOptions": {"acknowledge": True}},
    }
    undo = json.loads(Command("ris_unsubscribe", "64500$", False).frame())
    assert undo == {"type": "ris_unsubscribe", "data": {**undo["data"], "path": "64500$"}}
    assert "prefix" not in undo["data"] and "moreSpecific" not in undo["data"]


def test_followed_ases_are_subscribed_by_path_after_the_beacons_and_counted() -> None:
    clock = Clock()
    subs = Subscriptions(WATCHED[:2], BEACONS, Pace(window=3, rate=1000), clock, [64501, 64500])
    subs.restart()
    sent = drain(subs)
    assert [c.target for c in sent] == [*BEACONS, "64500$"]  # the window holds the rest
    assert subs.origins == {64500, 64501} and subs.watched == set(WATCHED[:2])
    assert subs.counts() == {"active": 0, "waiting": 3, "queued": 3, "left_out": 0}
    subs.acknowledged(("64500$",))  # RIS Live echoes the path: that slot is free
    clock.now += 1.0
    assert [c.target for c in drain(subs)] == ["64501$"]
    subs.acknowledged((BEACONS[0], BEACONS[1], "64501$"))
    clock.now += 1.0
    assert [c.target for c in drain(subs)] == WATCHED[:2]
    assert subs.counts()["active"] == 4 and subs.counts()["waiting"] == 2
    clock.now += 1.0
    subs.restart()  # a new socket (a reconnect): the paths are subscribed again
    assert [c.target for c in drain(subs)] == [*BEACONS, "64500$"]


def test_followed_ases_change_on_the_open_socket_and_a_watch_list_change_keeps_them() -> None:
    subs, _ = started(Pace(window=100, rate=1000), watched=WATCHED[:1])
    subs.want(WATCHED[:1], [64500, 64501])
    subs.acknowledged(tuple(c.target for c in drain(subs)))
    subs.want(WATCHED[:2])  # a sync added a prefix: the paths stay as they are
    assert [(c.kind, c.target) for c in drain(subs)] == [("ris_subscribe", WATCHED[1])]
    subs.want(WATCHED[:2], [64501, 64502])  # a reload removed AS64500 and added AS64502
    assert [(c.kind, c.target) for c in drain(subs)] == [
        ("ris_unsubscribe", "64500$"),
        ("ris_subscribe", "64502$"),
    ]
    assert subs.origins == {64501, 64502}
    subs.want(WATCHED[:2], [])
    assert {c.kind for c in drain(subs)} == {"ris_unsubscribe"} and not subs.origins
