"""The stream judge batches changed prefixes: 20 ms when quiet, longer (at most 250 ms) in a
flood, so that a hijack pages at once after quiet and a flood costs few judgements."""

from __future__ import annotations

import asyncio

from monitor.config import parse_config
from monitor.core.lifecycle import AlertBook, AlertEvent
from monitor.core.rib import StreamRib
from monitor.core.stream import StreamUpdate
from monitor.more_specifics import MoreSpecifics
from monitor.sinks.outbox import Outbox
from monitor.sources.rislive_wire import decode_frame
from monitor.state import MonitorState
from monitor.stream_judge import JUDGE_DELAY, MAX_JUDGE_DELAY, StreamJudge
from testkit.rislive_frames import announcement, encode
from testkit.waiting import until

PREFIXES = [f"10.{i // 250}.{i % 250}.0/24" for i in range(2_000)]


def judge_of(fired: list[AlertEvent]) -> StreamJudge:
    rules = "rules:\n  - {name: hijack, type: unexpected_origin, severity: critical}\n"
    watched = "".join(f"  - {{prefix: {p}, origins: [64500]}}\n" for p in PREFIXES)
    config = parse_config(rules + "prefixes:\n" + watched)
    state = MonitorState(config, AlertBook(), Outbox())
    state.apply_config(config)
    return StreamJudge(
        state, StreamRib(PREFIXES), fired.extend, lambda _: None, MoreSpecifics(state, lambda: None)
    )


def update(prefix: str, origin: int, peer: str = "192.0.2.1") -> StreamUpdate:
    message = decode_frame(encode(announcement(prefix, [174, origin], peer=peer)))
    assert isinstance(message, StreamUpdate)
    return message


async def fired_after(judge: StreamJudge, fired: list[AlertEvent], prefix: str) -> float:
    """Seconds from a hijack of `prefix` (two peers) to its alert event."""
    loop = asyncio.get_running_loop()
    before, started = len(fired), loop.time()
    judge.observe(update(prefix, 666, "192.0.2.1"))
    judge.observe(update(prefix, 666, "192.0.2.2"))
    await until(lambda: len(fired) > before)
    return loop.time() - started


async def test_after_quiet_a_hijack_is_judged_within_twenty_milliseconds() -> None:
    fired: list[AlertEvent] = []
    judge = judge_of(fired)
    assert judge.delay == JUDGE_DELAY
    took = await fired_after(judge, fired, PREFIXES[0])
    assert JUDGE_DELAY <= took < MAX_JUDGE_DELAY
    assert [e.alert.finding.prefix for e in fired] == [PREFIXES[0]]


async def test_a_flood_widens_the_batch_and_quiet_narrows_it_again() -> None:
    fired: list[AlertEvent] = []
    judge = judge_of(fired)
    for prefix in PREFIXES[:500]:  # 500 distinct prefixes in one batch: a flood
        judge.observe(update(prefix, 64500))
    judge.flush()
    assert judge.delay == 5 * JUDGE_DELAY  # 20 ms per 100 prefixes of the last batch
    took = await fired_after(judge, fired, PREFIXES[1])
    assert 5 * JUDGE_DELAY <= took < MAX_JUDGE_DELAY + 0.1  # still judged, a little later
    assert judge.delay == JUDGE_DELAY  # that batch held one prefix
    for prefix in PREFIXES:
        judge.observe(update(prefix, 64500, "192.0.2.9"))
    judge.flush()
    assert judge.delay == MAX_JUDGE_DELAY  # never longer, however large the flood
