"""The polls of Radar's hijack and leak detectors, by kind (`hijack`, `leak`).

radar_monitor_events_polls_total{kind="hijack",outcome="ok"} 12.0
radar_monitor_events_polls_total{kind="hijack",outcome="failed"} 1.0
radar_monitor_events_last_success_timestamp_seconds{kind="hijack"} 1.7651e+09
radar_monitor_events_ases{kind="hijack"} 2.0
radar_monitor_events_failing_rounds{kind="hijack"} 0.0

A poll is one AS, all its pages; a round asks every AS once. The series exist only while a
rule on that detector is configured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.state import MonitorState


class EventsCollector(Collector):
    """Renders `MonitorState.events` as it is at the scrape."""

    def __init__(self, get_state: Callable[[], MonitorState]) -> None:
        self._get_state = get_state

    def collect(self) -> Iterator[Metric]:
        """The outcomes of the events polls, and how current their lists are."""
        polls = CounterMetricFamily(
            "radar_monitor_events_polls",
            "Polls of one AS (all its pages) of Radar's hijack or leak detector, by outcome.",
            labels=["kind", "outcome"],
        )
        last = GaugeMetricFamily(
            "radar_monitor_events_last_success_timestamp_seconds",
            "Unix time of the last round in which every AS's events were fetched.",
            labels=["kind"],
        )
        ases = GaugeMetricFamily(
            "radar_monitor_events_ases",
            "ASes whose events the detector is asked for each round.",
            labels=["kind"],
        )
        failing = GaugeMetricFamily(
            "radar_monitor_events_failing_rounds",
            "Rounds in a row in which some AS's events could not be fetched (0: all fetched).",
            labels=["kind"],
        )
        for kind, stats in sorted(self._get_state().events.items()):
            polls.add_metric([kind, "ok"], stats.ok)
            polls.add_metric([kind, "failed"], stats.failed)
            if stats.last_success is not None:
                last.add_metric([kind], stats.last_success)
            ases.add_metric([kind], stats.ases)
            failing.add_metric([kind], stats.failures)
        yield polls
        yield last
        yield ases
        yield failing
