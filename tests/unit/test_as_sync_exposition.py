"""What the `asns:` syncs show: a status page line per synced AS (prefixes, last sync, outcome,
escaped), the metrics the collector's docstring shows, and the AS asked of Radar's detectors."""

from __future__ import annotations

import re
from datetime import timedelta

from monitor.budget import Load
from monitor.events_polling import events_load
from monitor.exposition import as_sync_metrics
from monitor.exposition.status_page import status_page
from monitor.state import AsSyncStatus
from tests.builders import NOW, monitor_state
from tests.known_state import known_state, samples, scrape

CONFIG = """\
rules: [{name: radar-hijack, type: radar_hijack, severity: critical}]
asns: [{asn: 64500}, {asn: 64501, rules: {radar-hijack: false}}, {asn: 64502}]
"""


def synced_line(page: str) -> str:
    match = re.search(r'<p class="synced">(.*?)</p>', page, re.S)
    assert match is not None and match.start() < page.index("<h2>Alerts</h2>")
    return match[1]


def test_the_status_page_has_a_line_per_synced_as() -> None:
    state = monitor_state(CONFIG)
    assert 'class="synced"' not in status_page(state, NOW)  # before the first sync
    last = (NOW - timedelta(minutes=3)).timestamp()
    state.synced[64500] = AsSyncStatus({"192.0.2.0/24": None}, last, last, True)
    state.synced[64501] = AsSyncStatus({}, last, None, False, "HTTP <b>500")
    state.synced[64502] = AsSyncStatus()  # configured, not synced yet
    assert synced_line(status_page(state, NOW)) == (
        'Synced ASes: AS64500: 1 prefix, last sync 3m ago: <span class="good">ok</span>; '
        'AS64501: 0 prefixes, last sync 3m ago: <span class="bad">failed</span> '
        "(HTTP &lt;b&gt;500)."
    )


async def test_each_synced_as_has_its_prefixes_last_sync_and_outcome() -> None:
    state = known_state()
    assert samples(await scrape(state), "radar_monitor_as_prefixes") == []
    state.synced[64500] = AsSyncStatus(
        {"192.0.2.0/24": None, "198.51.100.0/24": 1.7e9}, 1.7651e9, 1.7651e9, True
    )
    state.synced[64500].stream_added, state.synced[64500].stream_left_out = 3, 40
    state.synced[64501] = AsSyncStatus({}, 1.7651e9, None, False, "HTTP 500")
    text = await scrape(state)
    assert samples(text, "radar_monitor_as_prefixes") == [
        'radar_monitor_as_prefixes{asn="64500"} 2.0',
        'radar_monitor_as_prefixes{asn="64501"} 0.0',
    ]
    assert samples(text, "radar_monitor_as_sync_success") == [
        'radar_monitor_as_sync_success{asn="64500"} 1.0',
        'radar_monitor_as_sync_success{asn="64501"} 0.0',
    ]
    assert samples(text, "radar_monitor_as_stream_prefixes_total")[:2] == [
        'radar_monitor_as_stream_prefixes_total{asn="64500",outcome="added"} 3.0',
        'radar_monitor_as_stream_prefixes_total{asn="64500",outcome="left_out"} 40.0',
    ]
    documented = as_sync_metrics.__doc__ or ""
    for line in text.splitlines():
        if line.startswith("radar_monitor_as_") and 'asn="64500"' in line:
            assert line.split(" ")[0] in documented


def test_radar_detectors_are_asked_about_the_synced_ases_the_rule_applies_to() -> None:
    # Before any sync no prefix names them: the asns: entries do (64501 disables the rule).
    assert events_load(monitor_state(CONFIG).config) == Load("events", "2 ASes", 2, 300.0)
