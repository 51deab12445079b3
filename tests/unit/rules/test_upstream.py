"""upstream judges the neighbour of the origin (prepends collapsed) against the allowed list:
one alert per unexpected upstream seen on enough paths."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.finding import Severity
from monitor.core.measures import collapsed
from monitor.core.target import Target
from monitor.rules.upstream import UpstreamRule, origin_and_upstream
from tests.builders import NOW, routed

PREFIX = "192.0.2.0/24"
OWNER = 64500
TARGET = Target(PREFIX, frozenset({OWNER}), {"team": "core"})


def rule(upstreams: tuple[int, ...] = (174, 3356), **options: int) -> UpstreamRule:
    return UpstreamRule(
        name="new-upstream",
        severity=Severity.CRITICAL,
        upstreams=frozenset(upstreams),
        **options,  # type: ignore[arg-type]
    )


def test_a_leak_through_a_new_upstream_fires_once_for_that_upstream() -> None:
    view = routed(
        PREFIX,
        (6447, 174, OWNER),
        (3356, OWNER, OWNER),
        (6447, 9999, 9999, OWNER),
        (1299, 9999, OWNER, OWNER),
        (2914, 9999, OWNER),
        (6939, 8888, OWNER),  # one path: below min_peers 2
    )
    [finding] = rule().evaluate(TARGET, view, NOW)
    assert (finding.upstream, finding.origin, finding.prefix) == (9999, None, PREFIX)
    assert finding.key == ("new-upstream", PREFIX, "9999")
    assert (finding.value, finding.threshold) == (3, 2)
    assert finding.labels == {"team": "core"}
    assert finding.message == (
        "192.0.2.0/24 is reached through unexpected upstream AS9999 (NAME-9999) of AS64500 "
        "(NAME-64500) on 3 of 6 paths, e.g. 6447 9999 64500 (rrc00); 1299 9999 64500 (rrc00); "
        "2914 9999 64500 (rrc00); allowed upstreams AS174, AS3356"
    )
    doc = finding.to_json()
    assert (doc["upstream"], doc["parent"]) == (9999, None)


def test_each_unexpected_upstream_is_its_own_alert() -> None:
    view = routed(PREFIX, *[(1, 9999, OWNER)] * 2, *[(2, 8888, OWNER)] * 2)
    found = list(rule().evaluate(TARGET, view, NOW))
    assert [f.key.subject for f in found] == ["8888", "9999"]


@pytest.mark.parametrize(("min_peers", "fires"), [(1, True), (2, False)])
def test_min_peers_counts_paths(min_peers: int, fires: bool) -> None:
    view = routed(PREFIX, (6447, 9999, OWNER), (6447, 174, OWNER))
    assert bool(list(rule(min_peers=min_peers).evaluate(TARGET, view, NOW))) is fires


def test_a_path_of_the_origin_alone_has_no_upstream() -> None:
    view = routed(PREFIX, (OWNER,), (OWNER, OWNER, OWNER), (OWNER,))
    assert list(rule(min_peers=1).evaluate(TARGET, view, NOW)) == []


def test_a_prefix_without_upstreams_is_not_judged() -> None:
    view = routed(PREFIX, *[(6447, 9999, OWNER)] * 5)
    assert list(rule(()).evaluate(TARGET, view, NOW)) == []


def test_only_paths_of_an_expected_origin_are_judged() -> None:
    view = routed(PREFIX, *[(6447, 9999, 666)] * 5)
    assert list(rule().evaluate(TARGET, view, NOW)) == []
    [finding] = rule().evaluate(Target(PREFIX, frozenset()), view, NOW)
    assert finding.upstream == 9999 and "of AS666 (NAME-666)" in finding.message


def test_a_more_specific_carries_its_parent() -> None:
    target = Target("192.0.2.0/25", frozenset({OWNER}), parent="192.0.2.0/23")
    [finding] = rule().evaluate(target, routed("192.0.2.0/25", *[(1, 9999, OWNER)] * 2), NOW)
    assert (finding.prefix, finding.parent) == ("192.0.2.0/25", "192.0.2.0/23")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(1, 6), max_size=12).map(tuple))
def test_the_upstream_is_the_as_before_the_origin_once_prepends_collapse(
    path: tuple[int, ...],
) -> None:
    hops = collapsed(path)
    expected = (hops[-1], hops[-2]) if len(hops) >= 2 else None
    assert origin_and_upstream(path) == expected
