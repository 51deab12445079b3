"""The `asns:` syncs, by AS.

radar_monitor_as_prefixes{asn="64500"} 412.0
radar_monitor_as_last_sync_timestamp_seconds{asn="64500"} 1.7651e+09
radar_monitor_as_sync_success{asn="64500"} 1.0
radar_monitor_as_stream_prefixes_total{asn="64500",outcome="added"} 3.0
radar_monitor_as_stream_prefixes_total{asn="64500",outcome="left_out"} 0.0

`as_prefixes` counts the AS's synced prefixes (those no longer originated included, until they
are dropped); the timestamp is of the last attempt, `sync_success` its outcome (1 ok, 0
failed). `stream_prefixes_total` counts the prefixes the stream saw the AS newly originate:
added at once (and `unlisted_prefix` fired), or left to the next sync above the stream's
quota per AS. An AS has series from its first sync on, while the config has it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.state import MonitorState


class AsSyncCollector(Collector):
    """Renders `MonitorState.synced` as it is at the scrape."""

    def __init__(self, get_state: Callable[[], MonitorState]) -> None:
        self._get_state = get_state

    def collect(self) -> Iterator[Metric]:
        """Each synced AS's prefix count, last sync, its outcome and the stream's additions."""
        prefixes = GaugeMetricFamily(
            "radar_monitor_as_prefixes",
            "Prefixes watched because the AS originates them (or did, less than a sync ago).",
            labels=["asn"],
        )
        last = GaugeMetricFamily(
            "radar_monitor_as_last_sync_timestamp_seconds",
            "Unix time of the last sync of what the AS originates.",
            labels=["asn"],
        )
        success = GaugeMetricFamily(
            "radar_monitor_as_sync_success",
            "Whether the last sync of the AS succeeded (1) or failed (0).",
            labels=["asn"],
        )
        stream = CounterMetricFamily(
            "radar_monitor_as_stream_prefixes",
            "Prefixes the stream saw the AS newly originate, added at once or left to the sync.",
            labels=["asn", "outcome"],
        )
        for asn, status in sorted(self._get_state().synced.items()):
            if status.last_sync is None:
                continue
            label = [str(asn)]
            prefixes.add_metric(label, len(status.prefixes))
            last.add_metric(label, status.last_sync)
            success.add_metric(label, 1.0 if status.ok else 0.0)
            stream.add_metric([str(asn), "added"], status.stream_added)
            stream.add_metric([str(asn), "left_out"], status.stream_left_out)
        yield prefixes
        yield last
        yield success
        yield stream
