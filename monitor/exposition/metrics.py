"""Prometheus metrics: request and notification counters, and the live state as gauges."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector

from monitor import __version__
from monitor.core.lifecycle import AlertState
from monitor.core.measures import expected_visibility
from monitor.core.observation import STREAMS, ErrorKind, RpkiStatus
from monitor.exposition.as_sync_metrics import AsSyncCollector
from monitor.exposition.events_metrics import EventsCollector
from monitor.exposition.listener_metrics import ListenerMetrics
from monitor.exposition.more_specific_metrics import MoreSpecificCollector
from monitor.exposition.stream_metrics import StreamCollector
from monitor.sinks.channels.base import Outcome
from monitor.state import MonitorState

#: Pre-created at 0 so `rate()` works from the first scrape; an unexpected exception
#: (`error`) appears when it first happens.
REQUEST_SUCCESS = "success"
REQUEST_OUTCOMES = (REQUEST_SUCCESS, *(k.value for k in ErrorKind if k is not ErrorKind.INTERNAL))
#: From a fast cached answer up to the default 20 s timeout and a little beyond.
REQUEST_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)
ALERT_STATES = (AlertState.PENDING, AlertState.FIRING)


class StateCollector(Collector):
    """Renders the current `MonitorState` at every scrape, so vanished series vanish too.

    Families are rebuilt from whatever state `get_state` returns now (the daemon swaps the
    state on reload); an origin no longer in the answer or a resolved alert simply has no
    line on the next scrape instead of a stale one. Origins are labelled by ASN number.
    The config's per-prefix `labels` are deliberately not exported: they may differ between
    prefixes and change on reload, which would give families inconsistent label sets and
    churn series; join on `prefix` in PromQL instead.

        radar_monitor_prefix_info{description="anycast DNS",prefix="1.1.1.0/24",team="edge"} 1.0
        radar_monitor_prefix_visibility_ratio{origin="13335",prefix="1.1.1.0/24"} 0.99
        radar_monitor_prefix_visible_peers{origin="13335",prefix="1.1.1.0/24"} 990.0
        radar_monitor_prefix_total_peers{origin="13335",prefix="1.1.1.0/24"} 1000.0
        radar_monitor_prefix_expected_visibility_ratio{prefix="1.1.1.0/24"} 0.99
        radar_monitor_prefix_rpki_status{origin="13335",prefix="1.1.1.0/24",status="valid"} 1.0
        radar_monitor_prefix_rpki_status{origin="13335",prefix="1.1.1.0/24",status="invalid"} 0.0
        radar_monitor_prefix_rpki_status{origin="13335",prefix="1.1.1.0/24",status="unknown"} 0.0
        radar_monitor_prefix_origin_expected{origin="13335",prefix="1.1.1.0/24"} 1.0
        radar_monitor_prefix_routes{prefix="1.1.1.0/24"} 1234.0
        radar_monitor_prefix_data_timestamp_seconds{prefix="1.1.1.0/24"} 1.79586717e+09
        radar_monitor_prefix_last_success_timestamp_seconds{prefix="1.1.1.0/24"} 1.7958672e+09
        radar_monitor_prefix_fetch_failures{prefix="1.1.1.0/24"} 0.0
        radar_monitor_collector_last_update_timestamp_seconds{collector="rrc00",stream="rib"} ...
        radar_monitor_collector_peers{collector="rrc00",family="ipv4"} 30.0
        radar_monitor_alert_active{prefix="1.1.1.0/24",rule="rpki-invalid",severity="critical",
            silenced="false",state="firing",subject="64666"} 1.0
        radar_monitor_notification_queue_length 0.0
        radar_monitor_channel_failing{channel="pager"} 0.0
        radar_monitor_config_last_reload_successful 1.0
        radar_monitor_config_last_reload_success_timestamp_seconds 1.7958672e+09
        radar_monitor_state_persistence_ok 1.0
    """

    def __init__(self, get_state: Callable[[], MonitorState]) -> None:
        self._get_state = get_state
        #: A snapshot to render instead of the live state (see `Metrics.render_snapshot`).
        self.pinned: MonitorState | None = None

    def collect(self) -> Iterator[Metric]:
        """Fresh metric families from the state as it is now."""
        state = self.pinned or self._get_state()
        yield self._info(state)
        yield from self._prefixes(state)
        yield from self._collectors(state)
        yield from self._alerts(state)
        yield from self._daemon(state)

    def _info(self, state: MonitorState) -> Metric:
        watches = [s.watch for s in state.prefixes.values()]
        names = sorted({k for w in watches for k in w.labels})
        # A config label may not shadow the series' own labels (or Prometheus' reserved ones).
        exported = [
            f"label_{n}" if n in ("prefix", "description") or n.startswith("__") else n
            for n in names
        ]
        info = GaugeMetricFamily(
            "radar_monitor_prefix_info",
            "1 for each watched prefix, labelled with its description and config labels.",
            labels=["prefix", "description", *exported],
        )
        for w in watches:
            info.add_metric([w.prefix, w.description, *(w.labels.get(n, "") for n in names)], 1)
        return info

    def _prefixes(self, state: MonitorState) -> Iterator[Metric]:
        by_origin = ["prefix", "origin"]
        visibility = GaugeMetricFamily(
            "radar_monitor_prefix_visibility_ratio",
            "Share of collector peers that see the prefix through this origin AS (0-1).",
            labels=by_origin,
        )
        visible = GaugeMetricFamily(
            "radar_monitor_prefix_visible_peers",
            "Collector peers that see the prefix through this origin AS.",
            labels=by_origin,
        )
        total = GaugeMetricFamily(
            "radar_monitor_prefix_total_peers",
            "Collector peers that could have seen the prefix, as counted for this origin AS.",
            labels=by_origin,
        )
        expected_ratio = GaugeMetricFamily(
            "radar_monitor_prefix_expected_visibility_ratio",
            "Share of peers that see the prefix through its expected origins (0-1).",
            labels=["prefix"],
        )
        rpki = GaugeMetricFamily(
            "radar_monitor_prefix_rpki_status",
            "RPKI validation of the prefix-origin pair: 1 for the current status, else 0.",
            labels=[*by_origin, "status"],
        )
        expected = GaugeMetricFamily(
            "radar_monitor_prefix_origin_expected",
            "1 if the origin AS is configured for the prefix, 0 if unexpected.",
            labels=by_origin,
        )
        routes = GaugeMetricFamily(
            "radar_monitor_prefix_routes",
            "Routes to the prefix in the latest answer, over all collectors.",
            labels=["prefix"],
        )
        data_ts = GaugeMetricFamily(
            "radar_monitor_prefix_data_timestamp_seconds",
            "Unix time of the routing data in the latest answer (Radar's data_time).",
            labels=["prefix"],
        )
        success_ts = GaugeMetricFamily(
            "radar_monitor_prefix_last_success_timestamp_seconds",
            "Unix time of the last successful fetch for the prefix.",
            labels=["prefix"],
        )
        failures = GaugeMetricFamily(
            "radar_monitor_prefix_fetch_failures",
            "Consecutive failed fetches for the prefix (0 after a success).",
            labels=["prefix"],
        )
        for prefix, status in state.prefixes.items():
            failures.add_metric([prefix], status.failures)
            if status.last_success is not None:
                success_ts.add_metric([prefix], status.last_success)
            view = status.view
            if view is None:
                continue
            expected_ratio.add_metric([prefix], expected_visibility(status.watch.target, view)[0])
            routes.add_metric([prefix], status.routes)
            if view.data_time is not None:
                data_ts.add_metric([prefix], view.data_time.timestamp())
            seen: set[int] = set()
            for o in view.origins:
                # A malformed answer listing an origin twice must not produce duplicate series,
                # which would make Prometheus reject the whole scrape.
                if o.origin in seen:
                    continue
                seen.add(o.origin)
                labels = [prefix, str(o.origin)]
                visibility.add_metric(labels, o.visibility)
                visible.add_metric(labels, o.visible_peers)
                total.add_metric(labels, o.total_peers)
                expected.add_metric(labels, 1 if o.origin in status.watch.origins else 0)
                for rpki_status in RpkiStatus:
                    rpki.add_metric([*labels, rpki_status.value], 1 if o.rpki is rpki_status else 0)
        yield from (visibility, visible, total, expected_ratio, rpki, expected, routes)
        yield from (data_ts, success_ts, failures)

    def _collectors(self, state: MonitorState) -> Iterator[Metric]:
        updated = GaugeMetricFamily(
            "radar_monitor_collector_last_update_timestamp_seconds",
            "Unix time of the collector's latest data per stream (realtime, updates, rib).",
            labels=["collector", "stream"],
        )
        peers = GaugeMetricFamily(
            "radar_monitor_collector_peers",
            "Peers of the route collector by address family (ipv4, ipv6, all).",
            labels=["collector", "family"],
        )
        for name, c in sorted(state.collectors().items()):
            for stream in STREAMS:
                ts = c.timestamp(stream)
                # No timestamp means the collector has no such feed: no series rather than 0.
                if ts is not None:
                    updated.add_metric([name, stream], ts.timestamp())
            peers.add_metric([name, "ipv4"], c.peers_v4)
            peers.add_metric([name, "ipv6"], c.peers_v6)
            peers.add_metric([name, "all"], c.peers)
        yield updated
        yield peers

    def _alerts(self, state: MonitorState) -> Iterator[Metric]:
        active = GaugeMetricFamily(
            "radar_monitor_alert_active",
            "1 for each pending or firing alert; resolved alerts have no series.",
            labels=["rule", "severity", "prefix", "subject", "state", "silenced"],
        )
        for key in sorted(state.book.alerts):
            alert = state.book.alerts[key]
            if alert.state in ALERT_STATES:
                active.add_metric(
                    [
                        key.rule,
                        alert.finding.severity.value,
                        key.prefix,
                        key.subject,
                        alert.state.value,
                        "true" if alert.silenced else "false",
                    ],
                    1,
                )
        yield active

    def _daemon(self, state: MonitorState) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "radar_monitor_notification_queue_length",
            "Notifications waiting in the outbox for delivery or retry.",
            value=len(state.outbox),
        )
        failing = GaugeMetricFamily(
            "radar_monitor_channel_failing",
            "1 while notifications wait for a channel whose last delivery failed, else 0.",
            labels=["channel"],
        )
        backlogs = state.outbox.backlogs()
        for channel in state.config.notifications.channels:
            failing.add_metric([channel.name], 1 if channel.name in backlogs else 0)
        yield failing
        yield GaugeMetricFamily(
            "radar_monitor_config_last_reload_successful",
            "1 if the last configuration (re)load succeeded, 0 if it was rejected.",
            value=1 if state.reload_ok else 0,
        )
        yield GaugeMetricFamily(
            "radar_monitor_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful configuration load.",
            value=state.reload_time,
        )
        yield GaugeMetricFamily(
            "radar_monitor_state_persistence_ok",
            "1 if the state database accepted the last write, 0 while it is unavailable.",
            value=0 if state.store_error else 1,
        )


NOTIFICATION_OUTCOMES = tuple(o.value for o in Outcome)
#: Detection in seconds: BGPalerter writes its alert 0.15-0.5 s after the frame.
DETECTION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Fine steps below 100 ms, where a healthy loop lives; the load benchmark reads p99 from these.
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """The daemon's own registry (never the global one, so tests and reloads stay isolated)."""

    def __init__(self, get_state: Callable[[], MonitorState], version: str = __version__) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "radar_monitor_api_requests_total",
            "Radar API requests (each attempt, retries included) by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in REQUEST_OUTCOMES:
            self._requests.labels(outcome)
        self._duration = Histogram(
            "radar_monitor_api_request_duration_seconds",
            "Duration of Radar API request attempts, whatever the outcome.",
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )
        self._notifications = Counter(
            "radar_monitor_notifications_total",
            "Notification delivery attempts by channel and outcome.",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self._loop_lag = Histogram(
            "radar_monitor_event_loop_lag_seconds",
            "How late the event loop woke a 0.25 s timer: every poll, scrape and send waits this.",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        build = Gauge(
            "radar_monitor_build_info",
            "Always 1; the version label says which radar-monitor is running.",
            ["version"],
            registry=self.registry,
        )
        build.labels(version).set(1)
        #: Updated by the HTTP listener itself.
        self.http = ListenerMetrics(self.registry)
        self._get_state = get_state
        self._state = StateCollector(get_state)
        self.registry.register(self._state)
        self.registry.register(StreamCollector(lambda: self._state.pinned or get_state()))
        self.registry.register(MoreSpecificCollector(lambda: self._state.pinned or get_state()))
        self.registry.register(EventsCollector(lambda: self._state.pinned or get_state()))
        self.registry.register(AsSyncCollector(lambda: self._state.pinned or get_state()))
        self._detection = Histogram(
            "radar_monitor_stream_detection_seconds",
            "From a stream frame's timestamp to the alert it fired (clocks of RIS and ours).",
            buckets=DETECTION_BUCKETS,
            registry=self.registry,
        )
        self._render_lock = threading.Lock()
        # process_resident_memory_bytes, process_cpu_seconds_total…: the daemon's own health.
        ProcessCollector(registry=self.registry)

    def stream_detection(self, seconds: float) -> None:
        """Record how long after its frame the stream fired an alert."""
        self._detection.observe(seconds)

    def observe_request(self, outcome: ErrorKind | None, seconds: float) -> None:
        """Count one source request (None: it succeeded) and its duration."""
        self._requests.labels(outcome.value if outcome else REQUEST_SUCCESS).inc()
        self._duration.observe(seconds)

    def loop_lag(self, seconds: float) -> None:
        """Record one event-loop lag sample."""
        self._loop_lag.observe(seconds)

    def declare_channels(self, names: Iterable[str]) -> None:
        """Create every channel's series at 0, so `rate()` sees the first failure too."""
        for name in names:
            for outcome in NOTIFICATION_OUTCOMES:
                self._notifications.labels(name, outcome)

    def notification(self, channel: str, outcome: str) -> None:
        """Count one delivery attempt to `channel`."""
        self._notifications.labels(channel, outcome).inc()

    async def render_async(self) -> tuple[bytes, str]:
        """`render()` off the event loop: 2,000 prefixes are megabytes of text to format.

        The state is snapshotted on the loop (cheap copies), then formatted in a thread, so a
        scrape never stalls polling, alert timing or the watchdog.
        """
        snapshot = self._get_state().snapshot()
        return await asyncio.to_thread(self.render_snapshot, snapshot)

    def render_snapshot(self, snapshot: MonitorState) -> tuple[bytes, str]:
        """`render()` of a fixed snapshot (safe in a thread: the loop never touches it)."""
        with self._render_lock:
            self._state.pinned = snapshot
            try:
                return self.render()
            finally:
                self._state.pinned = None

    def render(self) -> tuple[bytes, str]:
        """The text exposition of every metric and its content type."""
        # The classic 0.0.4 type is what generate_latest's default escaping produces;
        # CONTENT_TYPE_LATEST (1.0.0) would promise UTF-8 names we do not use.
        return generate_latest(self.registry), CONTENT_TYPE_PLAIN_0_0_4
