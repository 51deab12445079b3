"""What the tiers show: prefixes and the planned fetch interval per tier in the metrics the
collector's docstring shows, the snapshot reads, and the snapshot line and column of the page."""

from __future__ import annotations

import re
from datetime import timedelta

from monitor.exposition import tier_metrics
from monitor.exposition.status_page import status_page
from monitor.planning import plan_for
from monitor.state import SnapshotStats
from tests.builders import NOW, monitor_state
from tests.known_state import samples, scrape

CONFIG = """\
source: {interval: 1m, snapshot_interval: 10m}
prefixes:
  - {prefix: 192.0.2.0/24, origins: [64500], tier: snapshot}
  - {prefix: 198.51.100.0/24, origins: [64500], tier: snapshot}
  - {prefix: 203.0.113.0/24, origins: [64501]}
rules: [{name: low, type: visibility_below, severity: warning, threshold: 0.5}]
"""


async def test_the_tiers_and_their_planned_intervals_are_metrics() -> None:
    state = monitor_state(CONFIG)
    state.plan = plan_for(state.config)
    text = await scrape(state)
    assert samples(text, "radar_monitor_tier_prefixes") == [
        'radar_monitor_tier_prefixes{tier="realtime"} 1.0',
        'radar_monitor_tier_prefixes{tier="snapshot"} 2.0',
    ]
    assert samples(text, "radar_monitor_tier_fetch_interval_seconds") == [
        'radar_monitor_tier_fetch_interval_seconds{tier="realtime"} 60.0',
        'radar_monitor_tier_fetch_interval_seconds{tier="snapshot"} 600.0',
    ]
    assert samples(text, "radar_monitor_snapshot_reads_total") == []  # before the first round
    state.snapshots = SnapshotStats(1, 5, 1, 1.7651e9, None, NOW - timedelta(hours=2))
    text = await scrape(state)
    assert samples(text, "radar_monitor_snapshot_reads_total") == [
        'radar_monitor_snapshot_reads_total{outcome="ok"} 5.0',
        'radar_monitor_snapshot_reads_total{outcome="failed"} 1.0',
    ]
    documented = tier_metrics.__doc__ or ""
    for line in text.splitlines():
        if line.startswith(("radar_monitor_tier_", "radar_monitor_snapshot_")):
            assert line.split("{")[0].split(" ")[0] in documented


def test_the_page_says_each_prefixes_tier_and_interval_and_how_the_snapshots_went() -> None:
    state = monitor_state(CONFIG)
    state.plan = plan_for(state.config)
    state.effective_interval = state.plan.effective_interval
    state.snapshots = SnapshotStats(
        1, 5, 0, (NOW - timedelta(minutes=4)).timestamp(), None, NOW - timedelta(hours=2)
    )
    page = status_page(state, NOW)
    match = re.search(r'<p class="snapshots">(.*?)</p>', page, re.S)
    assert match is not None and match[1] == (
        'Snapshot tier: 2 prefixes of 1 AS, last read 4m ago: <span class="good">ok</span>; '
        "Radar's snapshot taken 2h ago; realtime tier: 1 prefix."
    )
    assert page.count("every 10m<br>snapshot") == 2 and page.count("every 1m<br>realtime") == 1
