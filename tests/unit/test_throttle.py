"""Throttled warnings: a flood of one event is one line per interval, with how many there were."""

from __future__ import annotations

import asyncio
import logging

import pytest

from monitor.ops.throttle import Throttled, ThrottledWarning

log = logging.getLogger("monitor.test.throttle")


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == log.name]


async def test_one_line_now_then_one_per_interval_with_the_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, log.name)
    warning = ThrottledWarning(log, lambda n: f"{n} bad things", interval=0.2)
    for _ in range(1000):
        warning.note()
    assert lines(caplog) == ["1 bad things"]  # the first at once
    await asyncio.sleep(0.3)
    assert lines(caplog) == ["1 bad things", "999 bad things"]  # the rest when the window ends
    await asyncio.sleep(0.3)
    assert len(lines(caplog)) == 2  # nothing new, nothing said
    warning.note()
    warning.note()
    assert lines(caplog)[2:] == ["1 bad things"]  # a quiet window passed: at once again
    warning.close()
    assert lines(caplog)[3:] == ["1 bad things"]  # what was left, on close
    await asyncio.sleep(0.3)
    assert len(lines(caplog)) == 4  # and the timer is gone


def test_one_line_a_minute_with_the_count_of_those_held_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    logger = logging.getLogger("test.throttle")
    say = Throttled(logger, logging.WARNING, every=60.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="test.throttle"):
        for second in range(0, 150):
            now[0] = float(second)
            for _ in range(100):
                say(f"bad frame at {second}s")
    assert caplog.messages == [
        "bad frame at 0s",
        "bad frame at 60s (and 5999 more like it since the last such line)",
        "bad frame at 120s (and 5999 more like it since the last such line)",
    ]
