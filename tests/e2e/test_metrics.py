"""/metrics for real: the exposition of a known state passes promtool."""

from __future__ import annotations

import asyncio
from subprocess import PIPE, STDOUT

from monitor.core.observation import ErrorKind
from monitor.exposition.metrics import Metrics
from monitor.state import EventsPollStats
from tests.builders import alert
from tests.known_state import V4, known_state, scrape
from tests.tools import require_tool


async def test_promtool_accepts_the_exposition() -> None:
    promtool = require_tool("promtool")
    state = known_state()
    state.book.alerts.update(
        {a.key: a for a in (alert("rpki-invalid", V4, origin=64666), alert("stale", None))}
    )
    state.events["hijack"] = EventsPollStats(ases=2, ok=12, failed=1, last_success=1.7e9)
    state.events["leak"] = EventsPollStats(ases=2, failed=3, failures=3, error="HTTP 500")
    metrics = Metrics(lambda: state)
    metrics.observe_request(None, 0.3)
    metrics.observe_request(ErrorKind.INTERNAL, 31.0)
    metrics.notification("ops", "sent")
    text = await scrape(state, metrics)
    check = await asyncio.create_subprocess_exec(
        promtool, "check", "metrics", stdin=PIPE, stdout=PIPE, stderr=STDOUT
    )
    output, _ = await check.communicate(text.encode())
    assert (check.returncode, output.decode()) == (0, "")
