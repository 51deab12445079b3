"""as_path judges each path as written `6447 174 13335` (collector side first, prepends
collapsed): patterns and lengths together pick the wrong ones, one alert per prefix."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.finding import Severity
from monitor.core.measures import collapsed, path_text
from monitor.core.target import Target
from monitor.rules.as_path import MAX_HOPS, AsPathRule
from tests.builders import NOW, routed

PREFIX = "192.0.2.0/24"
TARGET = Target(PREFIX, frozenset({13335}))


def rule(**options: Any) -> AsPathRule:
    for key in ("match", "not_match"):
        if key in options:
            options[key] = re.compile(options[key])
    return AsPathRule(name="path", severity=Severity.WARNING, **options)


def judged(r: AsPathRule, *paths: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The paths `r` finds wrong, one route each."""
    return [p for p in paths if list(r.evaluate(TARGET, routed(PREFIX, p), NOW))]


def test_a_pattern_sees_the_path_collector_side_first_with_prepends_collapsed() -> None:
    r = rule(match="^6447 174 13335$")
    assert judged(r, (6447, 174, 174, 174, 13335, 13335), (174, 6447, 13335)) == [
        (6447, 174, 174, 174, 13335, 13335)
    ]


def test_not_match_excludes_and_alone_flags_every_other_path() -> None:
    via_transit = (6447, 174, 13335)
    leaked = (6447, 64999, 13335)
    assert judged(rule(not_match=" (174|3356) 13335$"), via_transit, leaked) == [leaked]
    assert judged(rule(match="^6447 ", not_match=" 174 "), via_transit, leaked) == [leaked]


def test_lengths_count_ases_once_however_often_prepended() -> None:
    long_path = (1, 2, 3, 4)
    prepended = (1, 2, 2, 2, 2, 3)
    single = (13335,)
    assert judged(rule(max_length=3), long_path, prepended, single) == [long_path]
    assert judged(rule(min_length=2), long_path, prepended, single) == [single]
    both = rule(min_length=2, max_length=3)
    assert judged(both, long_path, prepended, single) == [long_path, single]


def test_patterns_and_lengths_must_all_hold() -> None:
    r = rule(match="^174 ", max_length=3)
    assert judged(r, (174, 1, 2, 13335), (6447, 1, 2, 13335), (174, 13335)) == [(174, 1, 2, 13335)]


def test_one_finding_per_prefix_counting_routes_with_three_sample_paths() -> None:
    paths = [(6447, 174, 13335), (3356, 174, 13335), (1299, 174, 13335), (2914, 174, 13335)]
    view = routed(PREFIX, *paths, (174, 174, 13335), (6939, 13335))
    [finding] = rule(match=" 174 13335$").evaluate(TARGET, view, NOW)
    assert finding.key == ("path", PREFIX, "")
    assert (finding.value, finding.threshold) == (4, 1)
    assert finding.message == (
        '192.0.2.0/24: 4 of 6 paths match " 174 13335$" (prepends collapsed), e.g. '
        "6447 174 13335 (rrc00); 3356 174 13335 (rrc00); 1299 174 13335 (rrc00)"
    )


@pytest.mark.parametrize(("min_peers", "fires"), [(2, True), (3, False)])
def test_min_peers_counts_the_routes_that_match(min_peers: int, fires: bool) -> None:
    view = routed(PREFIX, (6447, 64999, 13335), (3356, 64999, 13335), (174, 13335))
    found = list(rule(match=" 64999 ", min_peers=min_peers).evaluate(TARGET, view, NOW))
    assert bool(found) is fires


def test_a_path_beyond_bgps_segment_limit_is_judged_by_length_only() -> None:
    huge = tuple(range(1, MAX_HOPS + 50))
    assert judged(rule(match="."), huge) == []
    assert judged(rule(match=".", max_length=10), huge) == [huge]
    assert judged(rule(max_length=10), huge) == [huge]


def test_an_empty_path_is_nothing_to_judge() -> None:
    assert judged(rule(min_length=2), ()) == []


PATHS = st.lists(st.integers(1, 2**32 - 1), min_size=1, max_size=40).map(tuple)
RUNS = st.lists(st.tuples(st.integers(1, 70000), st.integers(1, 5)), min_size=1, max_size=30)


@settings(max_examples=300, deadline=None)
@given(RUNS)
def test_collapsing_keeps_one_as_per_run_in_order(runs: list[tuple[int, int]]) -> None:
    path = tuple(asn for asn, times in runs for _ in range(times))
    hops = collapsed(path)
    assert all(a != b for a, b in itertools.pairwise(hops))
    assert collapsed(hops) == hops
    distinct_runs = [asn for i, (asn, _) in enumerate(runs) if i == 0 or runs[i - 1][0] != asn]
    assert list(hops) == distinct_runs
    assert [int(a) for a in path_text(hops).split(" ")] == list(hops)


@settings(max_examples=200, deadline=None)
@given(PATHS, st.lists(st.integers(1, 4), min_size=40, max_size=40))
def test_prepending_never_changes_a_verdict(path: tuple[int, ...], times: list[int]) -> None:
    prepended = tuple(asn for asn, n in zip(path, times, strict=False) for _ in range(n))
    text = path_text(collapsed(path))
    rules = [
        rule(match=f"^{re.escape(text)}$"),
        rule(match=f" {path[-1]}$", max_length=3),
        rule(not_match=f"^{path[0]} "),
        rule(min_length=2),
    ]
    for r in rules:
        assert r.wrong(collapsed(prepended)) == r.wrong(collapsed(path))
    assert rules[0].wrong(collapsed(prepended))  # the path's own text matches it
