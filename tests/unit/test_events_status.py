"""The status page says how Radar's detectors are polled (ASes, last complete round, failing
rounds with their reason, escaped), and shows their alerts like any source-wide alert."""

from __future__ import annotations

import re
from datetime import timedelta

from monitor.core.finding import Severity
from monitor.exposition.status_page import status_page
from monitor.state import EventsPollStats
from tests.builders import NOW, alert, monitor_state

CONFIG = """\
prefixes: [{prefix: 192.0.2.0/24, origins: [64500]}]
rules: [{name: radar-hijack, type: radar_hijack, severity: critical}]
"""


def events_line(page: str) -> str:
    match = re.search(r'<p class="events">(.*?)</p>', page, re.S)
    assert match is not None and match.start() < page.index("<h2>Alerts</h2>")
    return match[1]


def test_the_detectors_line_and_their_alerts() -> None:
    state = monitor_state(CONFIG)
    assert 'class="events"' not in status_page(state, NOW)  # before the first round
    last = (NOW - timedelta(minutes=3)).timestamp()
    state.events["hijack"] = EventsPollStats(ases=2, ok=4, last_success=last)
    state.events["leak"] = EventsPollStats(ases=1, failed=3, failures=3, error="AS64500: <b>500")
    message = "Radar reports a BGP hijack … This is Radar's classification (event 7)"
    hijack = alert("radar-hijack", None, severity=Severity.CRITICAL, message=message)
    state.book.alerts[hijack.key] = hijack
    page = status_page(state, NOW)
    assert events_line(page) == (
        'Radar\'s detectors: hijacks of 2 ASes: <span class="good">ok</span>, last round 3m ago; '
        'leaks of 1 AS: <span class="bad">failing 3 rounds in a row</span> '
        "(AS64500: &lt;b&gt;500)."
    )
    assert '<td class="nowrap">radar-hijack</td><td class="nowrap">-</td>' in page
    assert "This is Radar&#x27;s classification (event 7)" in page
