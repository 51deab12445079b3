"""An event repeating thousands of times is one log line a minute, carrying the count."""

from __future__ import annotations

import logging

import pytest

from monitor.ops.throttle import Throttled


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
