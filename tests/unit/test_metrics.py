"""/metrics: the exposition mirrors the state exactly and never goes stale (promtool checks it
in tests/e2e/test_metrics.py)."""

from __future__ import annotations

import aiohttp

from monitor.core.finding import Severity
from monitor.core.lifecycle import AlertState
from monitor.core.observation import ErrorKind
from monitor.exposition.metrics import Metrics
from monitor.exposition.web import make_app
from tests.builders import alert, answer, monitor_state, origin, serving
from tests.known_state import V4, V6, known_state, samples, scrape


async def test_exact_samples_of_a_known_state() -> None:
    text = await scrape(known_state())
    lines = set(text.splitlines())
    v4 = 'origin="64500",prefix="192.0.2.0/24"'
    hijack = 'origin="64666",prefix="192.0.2.0/24"'
    expected = {
        f"radar_monitor_prefix_visibility_ratio{{{v4}}} 0.99",
        f"radar_monitor_prefix_visibility_ratio{{{hijack}}} 0.01",
        f"radar_monitor_prefix_visible_peers{{{v4}}} 990.0",
        f"radar_monitor_prefix_total_peers{{{hijack}}} 1000.0",
        f"radar_monitor_prefix_origin_expected{{{v4}}} 1.0",
        f"radar_monitor_prefix_origin_expected{{{hijack}}} 0.0",
        f'radar_monitor_prefix_rpki_status{{{hijack},status="invalid"}} 1.0',
        'radar_monitor_prefix_rpki_status{origin="64501",prefix="2001:db8::/32",status="unknown"}'
        " 1.0",
        'radar_monitor_prefix_expected_visibility_ratio{prefix="192.0.2.0/24"} 0.99',
        'radar_monitor_prefix_expected_visibility_ratio{prefix="2001:db8::/32"} 0.5',
        'radar_monitor_prefix_routes{prefix="192.0.2.0/24"} 2.0',
        # NOW - 30 s; V6's answer has no data_time and so no series.
        'radar_monitor_prefix_data_timestamp_seconds{prefix="192.0.2.0/24"} 1.79586717e+09',
        'radar_monitor_prefix_last_success_timestamp_seconds{prefix="192.0.2.0/24"} 1.7958672e+09',
        'radar_monitor_prefix_fetch_failures{prefix="192.0.2.0/24"} 0.0',
        'radar_monitor_prefix_fetch_failures{prefix="2001:db8::/32"} 2.0',
        'radar_monitor_collector_last_update_timestamp_seconds{collector="rrc00",stream="realtime"}'
        " 1.79586714e+09",
        'radar_monitor_collector_last_update_timestamp_seconds{collector="rrc00",stream="updates"}'
        " 1.7958669e+09",
        'radar_monitor_collector_last_update_timestamp_seconds{collector="rrc00",stream="rib"}'
        " 1.79586e+09",
        'radar_monitor_collector_peers{collector="rrc00",family="ipv4"} 30.0',
        'radar_monitor_collector_peers{collector="rrc00",family="ipv6"} 10.0',
        'radar_monitor_collector_peers{collector="rrc00",family="all"} 40.0',
        "radar_monitor_notification_queue_length 0.0",
        "radar_monitor_config_last_reload_successful 1.0",
        "radar_monitor_config_last_reload_success_timestamp_seconds 1.79586e+09",
        "radar_monitor_state_persistence_ok 1.0",
        'radar_monitor_build_info{version="1.2.3"} 1.0',
        'radar_monitor_api_requests_total{outcome="too_large"} 0.0',
    }
    assert expected - lines == set()
    assert samples(text, "radar_monitor_prefix_data_timestamp_seconds") == [
        'radar_monitor_prefix_data_timestamp_seconds{prefix="192.0.2.0/24"} 1.79586717e+09'
    ]
    # route-views2 has no realtime or updates feed: only its rib stream has a timestamp.
    assert [
        line
        for line in samples(text, "radar_monitor_collector_last_update_timestamp_seconds")
        if "route-views2" in line
    ] == [
        'radar_monitor_collector_last_update_timestamp_seconds{collector="route-views2",'
        'stream="rib"} 1.79586e+09'
    ]
    # Config labels (team=edge) appear on the info series only; every family documents itself.
    assert [line for line in text.splitlines() if "team=" in line] == samples(
        text, "radar_monitor_prefix_info"
    )
    families = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
    helped = {line.split()[2] for line in text.splitlines() if line.startswith("# HELP")}
    assert families == helped


async def test_prefix_info_carries_description_and_every_label_name() -> None:
    state = monitor_state(
        """
prefixes:
  - {prefix: 192.0.2.0/24, origins: [64500], description: edge, labels: {team: edge}}
  - {prefix: 198.51.100.0/24, origins: [64500], labels: {site: fra, prefix: shadow}}
rules: []
notifications:
  channels:
    - {name: pager, url: "json://127.0.0.1:1/x"}
"""
    )
    text = await scrape(state)
    assert samples(text, "radar_monitor_prefix_info") == [
        'radar_monitor_prefix_info{description="edge",label_prefix="",origins="64500",'
        'prefix="192.0.2.0/24",site="",team="edge"} 1.0',
        'radar_monitor_prefix_info{description="",label_prefix="shadow",origins="64500",'
        'prefix="198.51.100.0/24",site="fra",team=""} 1.0',
    ]
    assert samples(text, "radar_monitor_channel_failing") == [
        'radar_monitor_channel_failing{channel="pager"} 0.0'
    ]


async def test_rpki_status_has_one_series_per_origin_for_its_current_status() -> None:
    text = await scrape(known_state())
    rows = samples(text, "radar_monitor_prefix_rpki_status")
    assert sorted(rows) == [
        'radar_monitor_prefix_rpki_status{origin="64500",prefix="192.0.2.0/24",status="valid"} 1.0',
        'radar_monitor_prefix_rpki_status{origin="64501",prefix="2001:db8::/32",status="unknown"}'
        " 1.0",
        'radar_monitor_prefix_rpki_status{origin="64666",prefix="192.0.2.0/24",status="invalid"}'
        " 1.0",
    ]


async def test_series_of_a_vanished_origin_are_gone_on_the_next_scrape() -> None:
    state = known_state()
    metrics = Metrics(lambda: state)
    assert 'origin="64666"' in await scrape(state, metrics)
    state.prefixes[V4].view = answer(V4, origins=(origin(64500, 1000),))
    text = await scrape(state, metrics)
    assert 'origin="64666"' not in text
    # Its one expected origin alone, RPKI valid: V4 is clean, the per-prefix series say it all.
    assert 'origin="64500"' not in text
    assert 'radar_monitor_prefix_origins{prefix="192.0.2.0/24"} 1.0' in text
    assert 'radar_monitor_prefix_expected_visibility_ratio{prefix="192.0.2.0/24"} 1.0' in text


async def test_collector_reads_the_state_swapped_in_on_reload() -> None:
    states = [known_state()]
    metrics = Metrics(lambda: states[0])
    app = make_app(lambda: states[0], metrics)
    states[0] = monitor_state("prefixes: [{prefix: 198.51.100.0/24, origins: [64500]}]")
    async with (
        serving(app) as url,
        aiohttp.ClientSession() as http,
        http.get(f"{url}/metrics") as resp,
    ):
        text = await resp.text()
    assert samples(text, "radar_monitor_prefix_fetch_failures") == [
        'radar_monitor_prefix_fetch_failures{prefix="198.51.100.0/24"} 0.0'
    ]
    assert "192.0.2.0/24" not in text


async def test_alert_active_reflects_pending_firing_and_silenced() -> None:
    state = known_state()
    pending = alert("low", V6, severity=Severity.WARNING, state=AlertState.PENDING)
    firing = alert("rpki-invalid", V4, origin=64666)
    muted = alert("stale", None, severity=Severity.INFO, collector="rrc00", silenced=True)
    state.book.alerts.update({a.key: a for a in (pending, firing, muted)})
    rows = samples(await scrape(state), "radar_monitor_alert_active")
    assert rows == [
        'radar_monitor_alert_active{prefix="2001:db8::/32",rule="low",severity="warning",'
        'silenced="false",state="pending",subject=""} 1.0',
        'radar_monitor_alert_active{prefix="192.0.2.0/24",rule="rpki-invalid",'
        'severity="critical",silenced="false",state="firing",subject="64666"} 1.0',
        'radar_monitor_alert_active{prefix="",rule="stale",severity="info",silenced="true",'
        'state="firing",subject="rrc00"} 1.0',
    ]
    del state.book.alerts[firing.key]
    assert len(samples(await scrape(state), "radar_monitor_alert_active")) == 2


async def test_daemon_gauges_follow_the_state() -> None:
    state = known_state()
    state.store_error = "disk I/O error"
    state.reload_ok = False
    state.outbox.add("ops", {"kind": "firing"}, now=0.0)
    text = await scrape(state)
    assert "radar_monitor_state_persistence_ok 0.0" in text
    assert "radar_monitor_config_last_reload_successful 0.0" in text
    assert "radar_monitor_notification_queue_length 1.0" in text


async def test_request_and_notification_counters() -> None:
    state = known_state()
    metrics = Metrics(lambda: state)
    metrics.observe_request(None, 0.3)
    metrics.observe_request(ErrorKind.RATE_LIMITED, 0.07)
    metrics.observe_request(None, 25.0)
    metrics.notification("ops", "sent")
    metrics.notification("ops", "failed")
    metrics.notification("ops", "sent")
    text = await scrape(state, metrics)
    for line in (
        'radar_monitor_api_requests_total{outcome="success"} 2.0',
        'radar_monitor_api_requests_total{outcome="rate_limited"} 1.0',
        'radar_monitor_api_requests_total{outcome="transient"} 0.0',
        'radar_monitor_api_request_duration_seconds_bucket{le="0.1"} 1.0',
        'radar_monitor_api_request_duration_seconds_bucket{le="0.5"} 2.0',
        'radar_monitor_api_request_duration_seconds_bucket{le="20.0"} 2.0',
        'radar_monitor_api_request_duration_seconds_bucket{le="30.0"} 3.0',
        "radar_monitor_api_request_duration_seconds_count 3.0",
        'radar_monitor_notifications_total{channel="ops",outcome="sent"} 2.0',
        'radar_monitor_notifications_total{channel="ops",outcome="failed"} 1.0',
    ):
        assert line in text.splitlines()


def test_registries_are_private() -> None:
    """Two instances (a test and a daemon, or two tests) must not collide on metric names."""
    state = known_state()
    first, second = Metrics(lambda: state), Metrics(lambda: state)
    first.observe_request(None, 1.0)
    assert b'radar_monitor_api_requests_total{outcome="success"} 0.0' in second.render()[0]
