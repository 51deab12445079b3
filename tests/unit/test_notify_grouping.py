"""Notifier grouping: the leading edge goes at once, what follows a send is gathered, and a
burst is split only where the service's own length limit requires it (real Apprise sends)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

from monitor.core.lifecycle import AlertEvent
from testkit.receivers import Post, Receiver
from testkit.waiting import until
from tests.builders import burst, make_event
from tests.notifying import Harness, channel


def named(post: Post) -> set[str]:
    """The burst prefixes a post's text names."""
    text = f"{post.doc.get('title', '')}\n{post.doc.get('message') or post.doc.get('text')}"
    return set(re.findall(r"\b10\.\d+\.\d+\.0/24\b", text))


def told_once(posts: list[Post], events: list[AlertEvent]) -> bool:
    """Whether every event's prefix is named in exactly one of `posts`."""
    sets = [named(p) for p in posts]
    return sum(map(len, sets)) == len(events) and set().union(*sets) == {
        e.alert.finding.prefix for e in events
    }


async def test_a_single_event_goes_out_at_once_whatever_the_group_wait(
    receiver: Receiver, make_harness: Callable[..., Harness]
) -> None:
    h = make_harness([channel("ops", receiver.url("ops"))], group_wait=30.0)
    h.start()
    h.notifier.enqueue([make_event()], time.time())
    # The leading edge: a channel that sent nothing for 30 s sends at once, not after 30 s.
    await until(lambda: bool(receiver.posts), within=3.0)
    assert (
        receiver.posts[0].doc["title"]
        == "[CRITICAL] FIRING: unexpected-origin 192.0.2.0/24 (AS666)"
    )


async def test_what_follows_a_send_is_gathered_into_the_next_message(
    receiver: Receiver, make_harness: Callable[..., Harness]
) -> None:
    h = make_harness([channel("ops", receiver.url("ops"))], group_wait=30.0)
    h.start()
    h.notifier.enqueue([make_event(prefix="192.0.2.0/24")], time.time())
    await until(lambda: len(receiver.posts) == 1)
    for prefix in ("198.51.100.0/24", "203.0.113.0/24"):
        h.notifier.enqueue([make_event(prefix=prefix)], time.time())
        await asyncio.sleep(0.2)
    assert len(receiver.posts) == 1  # within 30 s of a send: gathered, not sent one by one
    await h.notifier.flush(2.0)  # the window's end, brought forward as at shutdown
    (_, second) = receiver.posts
    assert "198.51.100.0/24 203.0.113.0/24" in second.doc["title"]


async def test_a_burst_is_at_most_three_messages_that_name_every_alert(
    receiver: Receiver, make_harness: Callable[..., Harness]
) -> None:
    h = make_harness(
        [channel("a", receiver.url("a")), channel("b", receiver.url("b"))], group_wait=0.5
    )
    h.start()
    events = burst(200)
    for start in range(0, 200, 50):  # one poll cycle emits its events over a few moments
        assert h.notifier.enqueue(events[start : start + 50], time.time()) == 100
        await asyncio.sleep(0.02)
    await until(lambda: not h.outbox.items)
    for path in ("a", "b"):
        posts = receiver.at(path)
        assert len(posts) <= 3
        assert told_once(posts, events)
        # The first events left at once, the rest waited for the window after that send.
        assert named(posts[0]) == {e.alert.finding.prefix for e in events[:50]}


async def test_a_burst_is_split_where_the_services_limit_requires_it(
    receiver: Receiver, make_harness: Callable[..., Harness]
) -> None:
    # Mattermost: Apprise declares 4,000 characters, and sends the title inside the text.
    h = make_harness([channel("mm", f"mmost://127.0.0.1:{receiver.port}/hooktoken")])
    h.start()
    events = burst(200)
    h.notifier.enqueue(events, time.time())
    await until(lambda: not h.outbox.items)
    posts = receiver.at("hooks/hooktoken")
    n = len(posts)
    assert 9 <= n <= 12
    for k, post in enumerate(posts, 1):
        text = post.doc["text"]
        assert len(text) <= 4000
        assert text.startswith(
            f"[CRITICAL] 150 firing, 50 resolved: 200 alerts on 200 prefixes ({k}/{n})\r\n"
        )
    assert told_once(posts, events)
    assert h.results == [("mm", "success")]


async def test_a_failed_part_is_retried_without_the_parts_that_went(
    receiver: Receiver, make_harness: Callable[..., Harness]
) -> None:
    receiver.statuses = {"hooks/hooktoken": [200, 500]}
    h = make_harness([channel("mm", f"mmost://127.0.0.1:{receiver.port}/hooktoken")])
    h.start()
    events = burst(200)
    h.notifier.enqueue(events, time.time())
    await until(lambda: not h.outbox.items)
    posts = receiver.at("hooks/hooktoken")
    delivered = [p for k, p in enumerate(posts) if k != 1]  # the second one got the 500
    assert told_once(delivered, events)  # nothing lost, nothing told twice
    assert h.results == [("mm", "failure"), ("mm", "success")]
    assert posts[2].doc["text"].startswith("[CRITICAL] ")
    assert "alerts on " in posts[2].doc["text"].splitlines()[0]  # the rest, as a group again


async def test_a_retry_keeps_its_backoff_whatever_the_group_wait(
    receiver: Receiver, make_harness: Callable[..., Harness]
) -> None:
    receiver.statuses = {"ops": [500]}
    h = make_harness([channel("ops", receiver.url("ops"))], group_wait=30.0)
    h.start()
    h.notifier.enqueue([make_event()], time.time())
    # Retried after the 0.3 s maximum backoff, not held for the 30 s window of its failed send.
    await until(lambda: len(receiver.posts) == 2, within=3.0)
    await until(lambda: not h.outbox.items)
    assert h.results == [("ops", "failure"), ("ops", "success")]
