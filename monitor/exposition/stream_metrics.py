"""The stream's metrics, rendered from the state at every scrape (no series without a stream).

radar_monitor_stream_connected 1.0
radar_monitor_stream_updates_total 12345.0
radar_monitor_stream_messages_total{type="update"} 12345.0
radar_monitor_stream_messages_total{type="pong"} 40.0
radar_monitor_stream_subscriptions{state="active"} 10006.0
radar_monitor_stream_subscriptions{state="queued"} 0.0
radar_monitor_stream_malformed_frames_total 0.0
radar_monitor_stream_reconnects_total 2.0
radar_monitor_stream_last_canary_timestamp_seconds 1.79588085e+09
radar_monitor_stream_more_specifics 3.0
radar_monitor_stream_routes_refused_total 0.0
radar_monitor_stream_confirmations_total{outcome="done"} 17.0
radar_monitor_stream_confirmations_total{outcome="dropped"} 0.0
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.state import MonitorState


class StreamCollector(Collector):
    """Renders `MonitorState.stream` as it is at the scrape."""

    def __init__(self, get_state: Callable[[], MonitorState]) -> None:
        self._get_state = get_state

    def collect(self) -> Iterator[Metric]:
        """Nothing without a stream; else one family per fact."""
        stats = self._get_state().stream
        if stats is None:
            return
        yield GaugeMetricFamily(
            "radar_monitor_stream_connected",
            "1 while the RIS Live socket is up, 0 while it is down.",
            value=1 if stats.connected else 0,
        )
        counters = (
            ("radar_monitor_stream_updates", "Stream UPDATE messages applied.", stats.updates),
            (
                "radar_monitor_stream_malformed_frames",
                "Stream frames that did not decode (logged, at most once a minute).",
                stats.malformed,
            ),
            (
                "radar_monitor_stream_reconnects",
                "Stream connections after the first.",
                stats.reconnects,
            ),
            (
                "radar_monitor_stream_routes_refused",
                "Stream routes left out because the RIB's bounds were reached.",
                stats.routes_refused,
            ),
        )
        for name, documentation, value in counters:
            yield CounterMetricFamily(name, documentation, value=value)
        messages = CounterMetricFamily(
            "radar_monitor_stream_messages",
            "Stream messages received, by type: update, subscribe_ok, pong, error, ignored "
            "(other RIS message types and non-UPDATE BGP messages), malformed.",
            labels=["type"],
        )
        for kind, count in stats.messages.items():
            messages.add_metric([kind], count)
        yield messages
        subscriptions = GaugeMetricFamily(
            "radar_monitor_stream_subscriptions",
            "Stream subscriptions (beacons included) by state: active (sent, acknowledged or "
            "no longer waited for), waiting (sent, not acknowledged yet), queued (paced, not "
            "sent yet), left_out (over the limit of 10,000 watched prefixes).",
            labels=["state"],
        )
        for state, count in stats.subscriptions.items():
            subscriptions.add_metric([state], count)
        yield subscriptions
        if stats.last_canary is not None:
            yield GaugeMetricFamily(
                "radar_monitor_stream_last_canary_timestamp_seconds",
                "Unix time a RIS beacon last moved on the stream (the feed is alive).",
                value=stats.last_canary,
            )
        yield GaugeMetricFamily(
            "radar_monitor_stream_more_specifics",
            "More-specifics of watched prefixes that RIS peers route now.",
            value=stats.more_specifics,
        )
        confirms = CounterMetricFamily(
            "radar_monitor_stream_confirmations",
            "Confirming Radar fetches the stream asked for: done, or dropped (budget share spent).",
            labels=["outcome"],
        )
        confirms.add_metric(["done"], stats.confirms_done)
        confirms.add_metric(["dropped"], stats.confirms_dropped)
        yield confirms
