"""Prometheus metrics: request and notification counters, and the live state as gauges."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector

from monitor import __version__
from monitor.core.lifecycle import AlertState
from monitor.core.observation import STREAMS, ErrorKind
from monitor.exposition.as_sync_metrics import AsSyncCollector
from monitor.exposition.events_metrics import EventsCollector
from monitor.exposition.gzip_parts import GzipParts
from monitor.exposition.listener_metrics import ListenerMetrics
from monitor.exposition.more_specific_metrics import MoreSpecificCollector
from monitor.exposition.prefix_metrics import PrefixLines
from monitor.exposition.render_thread import RenderThread
from monitor.exposition.stream_metrics import StreamCollector
from monitor.exposition.tier_metrics import TierCollector
from monitor.ops.logs import scrub
from monitor.sinks.channels.base import Outcome
from monitor.state import MonitorState

log = logging.getLogger(__name__)

#: Pre-created at 0 so `rate()` works from the first scrape; an unexpected exception
#: (`error`) appears when it first happens.
REQUEST_SUCCESS = "success"
REQUEST_OUTCOMES = (REQUEST_SUCCESS, *(k.value for k in ErrorKind if k is not ErrorKind.INTERNAL))
#: From a fast cached answer up to the default 20 s timeout and a little beyond.
REQUEST_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)
ALERT_STATES = (AlertState.PENDING, AlertState.FIRING)
#: 6 MiB of repetitive text still shrinks ~11x, at a fifth of level 6's CPU.
GZIP_LEVEL = 1


class StateCollector(Collector):
    """Renders the current `MonitorState` at every scrape, so vanished series vanish too.

    Families are rebuilt from whatever state `get_state` returns now (the daemon swaps the
    state on reload); a resolved alert simply has no line on the next scrape instead of a
    stale one. The per-prefix families are `PrefixLines`' (monitor/exposition/prefix_metrics.py).

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
        yield from self._collectors(state)
        yield from self._alerts(state)
        yield from self._daemon(state)

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
#: How long bulk work waits at most for a render to end (`Metrics.idle`), in seconds.
IDLE_WAIT = 1.0
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
        self.registry.register(TierCollector(lambda: self._state.pinned or get_state()))
        self._detection = Histogram(
            "radar_monitor_stream_detection_seconds",
            "From a stream frame's timestamp to the alert it fired (clocks of RIS and ours).",
            buckets=DETECTION_BUCKETS,
            registry=self.registry,
        )
        self._render_lock = threading.Lock()
        self._thread = RenderThread("metrics")
        #: Renders running in a thread now, and set while there are none (see `idle`).
        self._rendering = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._preparing: asyncio.Task[None] | None = None
        #: Touched only under the lock, by one render at a time.
        self._prefix_lines = PrefixLines()
        self._gzip = GzipParts(GZIP_LEVEL)
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

    async def render_async(self, gzip: bool = False) -> tuple[bytes, str]:
        """`render()` off the event loop: 10,000 prefixes are megabytes of text to format.

        The state is snapshotted on the loop (cheap copies), then formatted, and gzipped when
        `gzip`, in a thread, so a scrape never stalls polling, alert timing or the watchdog.
        """
        snapshot = self._get_state().snapshot()
        self._rendering += 1
        self._idle.clear()
        try:
            return await self._thread.run(self.render_snapshot, snapshot, gzip)
        finally:
            self._rendering -= 1
            if not self._rendering:
                self._idle.set()

    async def idle(self) -> None:
        """Return once no render is running, or after `IDLE_WAIT` at most. Bulk work on the
        loop (a snapshot round judging 10,000 prefixes) waits for it between chunks: sharing
        the GIL with the loop's busiest second would double a scrape's time. The bound keeps
        a client that scrapes without pause from holding that work up for good."""
        if not self._idle.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), IDLE_WAIT)

    def prepare(self) -> None:
        """Render in the background now, after a change to many prefixes at once, so that the
        next scrape formats only what changed since (one preparation at a time)."""
        if self._preparing is None or self._preparing.done():
            self._preparing = asyncio.get_running_loop().create_task(
                self._prepare(), name="metrics-prepare"
            )

    async def _prepare(self) -> None:
        try:
            await self.render_async(gzip=True)  # what Prometheus asks for: its parts are kept
        except Exception as exc:  # a failed render ahead must not go unnoticed, nor crash
            log.error("rendering /metrics ahead failed: %s", scrub(repr(exc)))

    def render_snapshot(self, snapshot: MonitorState, gzip: bool = False) -> tuple[bytes, str]:
        """The exposition of a fixed snapshot (safe in a thread: the loop never touches it)."""
        with self._render_lock:
            self._state.pinned = snapshot
            try:
                parts = [generate_latest(self.registry), *self._prefix_lines.render(snapshot)]
            finally:
                self._state.pinned = None
            # Only the parts that changed since the last scrape are compressed again.
            body = self._gzip.compress(parts) if gzip else b"".join(parts)
        # The classic 0.0.4 type is what generate_latest's default escaping produces;
        # CONTENT_TYPE_LATEST (1.0.0) would promise UTF-8 names we do not use.
        return body, CONTENT_TYPE_PLAIN_0_0_4

    def render(self) -> tuple[bytes, str]:
        """The text exposition of every metric and its content type."""
        return self.render_snapshot(self._get_state())
