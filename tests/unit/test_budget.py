"""The budget plan: confirmations first, then the background polls (capped, stretched alike),
then the realtime cycle over what is left; never more than the planned share of the budget."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.budget import Load, plan
from monitor.config import parse_config
from monitor.planning import plan_for
from monitor.settings import SourceConfig

EVENTS = Load("events", "2 ASes", 4, 300.0)


def test_within_budget_keeps_the_interval() -> None:
    p = plan(SourceConfig(interval=60), 50)
    assert (p.effective_interval, p.requests_per_window, p.stretched) == (60, 250, False)
    assert p.slot == 1.2
    assert p.lines() == [
        "budget: 1000 requests per 5m; 900 planned, 100 kept for retries",
        "realtime: 50 prefixes every 1m: 250 per 5m; worst-case data age 1m",
    ]


def test_over_budget_stretches_the_cycle_and_says_the_data_age() -> None:
    p = plan(SourceConfig(interval=60), 2000)
    assert p.requests_per_window == 10000
    # 2000 polls per cycle at 90% of 1000 per 5 minutes: 2000 * 300 / 900 seconds.
    assert p.stretched and round(p.effective_interval, 1) == 666.7
    assert p.lines()[-1] == (
        "realtime: 2000 prefixes every 1m would cost 10000 per 5m, more than is left: "
        "stretched to every 11m7s, 900 per 5m; worst-case data age 11m7s"
    )


def test_a_stream_keeps_a_tenth_for_confirmations_before_the_cycle() -> None:
    p = plan(SourceConfig(interval=300), 850, stream=True)
    assert p.confirmations == 100
    assert p.effective_interval == pytest.approx(850 * 300 / 800)
    assert "confirmations: up to 100 per 5m for the stream" in p.lines()


def test_background_polls_come_before_the_cycle() -> None:
    source = SourceConfig(interval=300)
    p = plan(source, 100, (EVENTS,))
    assert "events: 2 ASes, 4 requests every 5m: 4.0 per 5m" in p.lines()
    assert p.interval_of("events") == 300.0 and p.interval_of("syncs") is None
    # 880 prefixes fit 90% of the budget alone, but not beside 100 events requests.
    assert not plan(source, 880).stretched
    crowded = plan(source, 880, (replace(EVENTS, requests=100),))
    assert crowded.effective_interval == pytest.approx(880 * 300 / 800)


def test_background_polls_never_take_more_than_half_and_stretch_alike() -> None:
    greedy = Load("events", "100 ASes", 200, 1.0)  # 60,000 requests per window
    snapshots = Load("snapshots", "3 ASes", 3, 1.0)  # 900 per window
    p = plan(SourceConfig(interval=300), 800, (greedy, snapshots))
    # Together 60,900 per window, squeezed into 450: both intervals grow by the same factor.
    assert p.stretch == pytest.approx(60_900 / 450)
    assert p.interval_of("events") == pytest.approx(60_900 / 450)
    assert p.interval_of("snapshots") == pytest.approx(60_900 / 450)
    assert p.effective_interval == pytest.approx(800 * 300 / 450)
    assert any("(stretched from 1s)" in line for line in p.lines())


def test_replay_has_no_budget_to_plan() -> None:
    p = plan(SourceConfig(type="replay", interval=1), 5000, (EVENTS,))
    assert not p.stretched and p.lines() == ["realtime: 5000 prefixes every 1s"]


@given(
    prefixes=st.integers(0, 20_000),
    interval=st.floats(1, 7200),
    budget=st.integers(1, 5000),
    loads=st.lists(st.tuples(st.integers(1, 500), st.floats(1, 86400)), max_size=3),
    stream=st.booleans(),
)
def test_no_plan_spends_more_than_the_planned_share(
    prefixes: int,
    interval: float,
    budget: int,
    loads: list[tuple[int, float]],
    stream: bool,
) -> None:
    source = SourceConfig(interval=interval, budget=budget)
    background = tuple(Load(f"l{i}", "", n, every) for i, (n, every) in enumerate(loads))
    p = plan(source, prefixes, background, stream=stream)
    assert p.requests <= budget * 0.9 + 1e-6
    assert p.effective_interval >= interval


PER_TIER = """\
source: {interval: 2m, snapshot_interval: 10m}
stream: {}
asns:
  - {asn: 64500, sync: 6h, tier: snapshot}
  - {asn: 64501, sync: 2h}
prefixes:
  - {prefix: 192.0.2.0/24, origins: [64500]}
  - {prefix: 198.51.100.0/24, origins: [64500], tier: snapshot}
  - {prefix: 203.0.113.0/24, origins: [64502], tier: snapshot}
rules: [{name: low, type: visibility_below, severity: warning, threshold: 0.5}]
"""


def test_the_plan_of_a_config_counts_each_class() -> None:
    p = plan_for(parse_config(PER_TIER), temporary=2)
    assert p.prefixes == 3  # one realtime prefix and two more-specifics on the cycle
    assert p.snapshot_prefixes == 2
    assert p.interval_of("snapshots") == 600.0  # AS64500 and AS64502, each one request
    assert p.interval_of("syncs") == pytest.approx(2 / (1 / 21600 + 1 / 7200))
    lines = "\n".join(p.lines())
    assert "snapshots: 2 ASes, 2 requests every 10m: 1.0 per 5m; 2 prefixes" in lines
    assert "syncs: 2 ASes, 2 requests every 3h: 0.1 per 5m" in lines
    assert "realtime: 3 prefixes every 2m: 8 per 5m; worst-case data age 2m" in lines
