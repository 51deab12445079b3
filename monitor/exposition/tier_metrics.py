"""The tiers and the budget plan's freshness per tier, and the snapshot tier's reads.

radar_monitor_tier_prefixes{tier="realtime"} 300.0
radar_monitor_tier_prefixes{tier="snapshot"} 9700.0
radar_monitor_tier_fetch_interval_seconds{tier="realtime"} 113.2
radar_monitor_tier_fetch_interval_seconds{tier="snapshot"} 600.0
radar_monitor_snapshot_reads_total{outcome="ok"} 36.0
radar_monitor_snapshot_reads_total{outcome="failed"} 0.0
radar_monitor_snapshot_last_success_timestamp_seconds 1.7651e+09
radar_monitor_snapshot_data_timestamp_seconds 1.7650e+09

`tier_fetch_interval_seconds` is the planned interval: above `source.interval` when the budget
stretches the realtime cycle, so nobody believes in a freshness they do not have. A read is
one AS's snapshot; `data_timestamp` is when Radar took the oldest snapshot last read (a snapshot
prefix's data is that old plus up to one interval). The snapshot series exist while a prefix is
of the snapshot tier.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.settings import PrefixConfig, Tier
from monitor.state import MonitorState


class TierCollector(Collector):
    """Renders the tiers of `MonitorState.prefixes` and `MonitorState.snapshots` at the scrape."""

    def __init__(self, get_state: Callable[[], MonitorState]) -> None:
        self._get_state = get_state

    def collect(self) -> Iterator[Metric]:
        """Prefixes and planned interval per tier; the snapshot reads."""
        state = self._get_state()
        prefixes = GaugeMetricFamily(
            "radar_monitor_tier_prefixes", "Watched prefixes per tier.", labels=["tier"]
        )
        interval = GaugeMetricFamily(
            "radar_monitor_tier_fetch_interval_seconds",
            "How often the budget plan fetches each prefix of the tier.",
            labels=["tier"],
        )
        tiers: Counter[Tier] = Counter()
        one_of: dict[Tier, PrefixConfig] = {}  # the plan gives every prefix of a tier alike
        for status in state.prefixes.values():
            tiers[status.watch.tier] += 1
            one_of.setdefault(status.watch.tier, status.watch)
        for tier in Tier:
            prefixes.add_metric([tier.value], tiers[tier])
            if tier in one_of:
                interval.add_metric([tier.value], state.fetch_interval(one_of[tier]))
        yield prefixes
        yield interval
        stats = state.snapshots
        if stats is None:
            return
        reads = CounterMetricFamily(
            "radar_monitor_snapshot_reads",
            "Reads of one AS's snapshot for the snapshot tier, by outcome.",
            labels=["outcome"],
        )
        reads.add_metric(["ok"], stats.ok)
        reads.add_metric(["failed"], stats.failed)
        yield reads
        if stats.last_success is not None:
            yield GaugeMetricFamily(
                "radar_monitor_snapshot_last_success_timestamp_seconds",
                "Unix time of the last round that read every snapshot AS.",
                value=stats.last_success,
            )
        if stats.data_time is not None:
            yield GaugeMetricFamily(
                "radar_monitor_snapshot_data_timestamp_seconds",
                "When Radar took the oldest snapshot of the last good reads.",
                value=stats.data_time.timestamp(),
            )
