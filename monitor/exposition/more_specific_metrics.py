"""The more-specifics watched for a while (found by the stream), marked with their parent.

radar_monitor_more_specific_info{parent="192.0.2.0/23",prefix="192.0.2.128/25"} 1.0
radar_monitor_more_specific_visible_peers{origin="666",parent="192.0.2.0/23",
    prefix="192.0.2.128/25"} 14.0

They are kept out of the `radar_monitor_prefix_*` families, which are about watched
prefixes (a dashboard or an alert on visibility there must not see a hijacker's /25).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.state import MonitorState


class MoreSpecificCollector(Collector):
    """Renders `MonitorState.more_specifics` as it is at the scrape."""

    def __init__(self, get_state: Callable[[], MonitorState]) -> None:
        self._get_state = get_state

    def collect(self) -> Iterator[Metric]:
        """One info series per more-specific, and its origins as Radar last saw them."""
        state = self._get_state()
        info = GaugeMetricFamily(
            "radar_monitor_more_specific_info",
            "1 for each more-specific the stream found inside a watched prefix (its parent).",
            labels=["prefix", "parent"],
        )
        peers = GaugeMetricFamily(
            "radar_monitor_more_specific_visible_peers",
            "Collector peers that see the more-specific through this origin AS (Radar).",
            labels=["prefix", "parent", "origin"],
        )
        for prefix, status in state.more_specifics.items():
            parent = status.watch.parent or ""
            info.add_metric([prefix, parent], 1)
            for o in status.view.origins if status.view else ():
                peers.add_metric([prefix, parent, str(o.origin)], o.visible_peers)
        yield info
        yield peers
