"""The events pollers' metrics: polls by kind and outcome, the last complete round, the ASes
asked and the failing rounds; the lines the collector's docstring shows are what it serves."""

from __future__ import annotations

from monitor.exposition import events_metrics
from monitor.state import EventsPollStats
from tests.known_state import known_state, samples, scrape


async def test_each_detector_has_its_outcomes_and_last_success() -> None:
    state = known_state()
    assert samples(await scrape(state), "radar_monitor_events_polls_total") == []
    state.events["hijack"] = EventsPollStats(ases=2, ok=12, failed=1, last_success=1.7651e9)
    state.events["leak"] = EventsPollStats(ases=2, failed=3, failures=3, error="HTTP 500")
    text = await scrape(state)
    assert samples(text, "radar_monitor_events_polls_total") == [
        'radar_monitor_events_polls_total{kind="hijack",outcome="ok"} 12.0',
        'radar_monitor_events_polls_total{kind="hijack",outcome="failed"} 1.0',
        'radar_monitor_events_polls_total{kind="leak",outcome="ok"} 0.0',
        'radar_monitor_events_polls_total{kind="leak",outcome="failed"} 3.0',
    ]
    # A detector that never completed a round has no timestamp (not a misleading 0).
    assert samples(text, "radar_monitor_events_last_success_timestamp_seconds") == [
        'radar_monitor_events_last_success_timestamp_seconds{kind="hijack"} 1.7651e+09'
    ]
    assert 'radar_monitor_events_failing_rounds{kind="leak"} 3.0' in text
    for line in text.splitlines():
        if line.startswith("radar_monitor_events_") and 'kind="hijack"' in line:
            documented = events_metrics.__doc__ or ""
            assert line.split(" ")[0] in documented
