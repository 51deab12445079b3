"""The daemon's pipeline over many observations: collector freshness and authentication outages."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.collectors import MAX_COLLECTORS
from monitor.core.finding import SOURCE_AUTH
from monitor.core.lifecycle import AlertEvent, EventKind
from monitor.core.observation import CollectorView, ErrorKind, FetchFailure, Observation
from monitor.pipeline import Pipeline
from tests.builders import answer, monitor_state, origin

CONFIG = """
prefixes:
  - {prefix: 192.0.2.0/24, origins: [64500]}
  - {prefix: 198.51.100.0/24, origins: [64500]}
  - {prefix: 203.0.113.0/24, origins: [64500]}
rules:
  - {name: stale, type: stale_collector, max_age: 30m, severity: warning}
source: {max_failures: 1}
"""
A, B, C = "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"


def rrc01(age: timedelta) -> CollectorView:
    """rrc01 as one answer reports it: its realtime feed `age` old at the real now."""
    ts = datetime.now(UTC) - age
    return CollectorView("rrc01", ts, ts, ts, peers=40, peers_v4=30, peers_v6=10)


def run(observations: Sequence[Observation]) -> list[AlertEvent]:
    state = monitor_state(CONFIG)
    events: list[AlertEvent] = []
    pipeline = Pipeline(state, events.extend)
    for observation in observations:
        pipeline.observe(observation)
    return events


def test_answers_that_disagree_about_a_collector_do_not_make_it_flap() -> None:
    # Two answers from different moments of Radar's cache: one lists rrc01 2 h behind,
    # the other fresh. Judged apart, the alert fired and resolved on every poll.
    old = answer(A, (origin(64500, 900),), (rrc01(timedelta(hours=2)),))
    new = answer(B, (origin(64500, 900),), (rrc01(timedelta(minutes=1)),))
    events = run([new, old, new, old, new, old])
    assert events == []


def test_a_collector_seen_stale_first_fires_once_and_resolves_once() -> None:
    old = answer(A, (origin(64500, 900),), (rrc01(timedelta(hours=2)),))
    new = answer(B, (origin(64500, 900),), (rrc01(timedelta(minutes=1)),))
    events = run([old, new, old, new, old])
    assert [e.kind for e in events] == [EventKind.FIRING, EventKind.RESOLVED]


def test_a_collector_alert_carries_no_prefix_evidence() -> None:
    old = answer(A, (origin(64500, 900), origin(64666, 50)), (rrc01(timedelta(hours=2)),))
    [event] = run([old])
    assert event.alert.finding.collector == "rrc01"
    assert event.alert.evidence is None


def test_an_auth_outage_pages_once_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    message = "Radar rejected the API token (HTTP 403, 10000: Authentication error); check it"
    failures = [FetchFailure(p, ErrorKind.AUTH, message) for p in (A, B, C) for _ in range(3)]
    with caplog.at_level(logging.INFO, logger="monitor.pipeline"):
        events = run(failures)
    # One source-wide alert explains every prefix; no per-prefix source-unreachable beside it.
    assert [(e.kind, e.alert.finding.rule) for e in events] == [(EventKind.FIRING, SOURCE_AUTH)]
    said = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert len(said) == 1


def test_source_auth_resolves_when_an_answer_comes_back(caplog: pytest.LogCaptureFixture) -> None:
    failure = FetchFailure(A, ErrorKind.AUTH, "Radar rejected the API token (HTTP 403)")
    view = dataclasses.replace(answer(A, (origin(64500, 900),)))
    with caplog.at_level(logging.INFO, logger="monitor.pipeline"):
        events = run([failure, view])
    assert [(e.kind, e.alert.finding.rule) for e in events] == [
        (EventKind.FIRING, SOURCE_AUTH),
        (EventKind.RESOLVED, SOURCE_AUTH),
    ]
    assert "accepts the API token again" in caplog.text


def test_a_collector_no_answer_lists_for_an_hour_is_forgotten_and_resolves() -> None:
    state = monitor_state(CONFIG)
    events: list[AlertEvent] = []
    pipeline = Pipeline(state, events.extend)
    start = datetime.now(UTC)
    pipeline.observe(answer(A, (origin(64500, 900),), (rrc01(timedelta(hours=2)),)), start)
    assert [e.kind for e in events] == [EventKind.FIRING]
    # rrc01 is retired: answers stop listing it. Nothing resolves it from an answer.
    for minutes in (10, 30, 59):
        later = start + timedelta(minutes=minutes)
        pipeline.observe(answer(A, (origin(64500, 900),)), later)
        pipeline.tick(later)
    assert [e.kind for e in events] == [EventKind.FIRING]
    pipeline.tick(start + timedelta(minutes=61))
    assert [e.kind for e in events] == [EventKind.FIRING, EventKind.RESOLVED]
    assert "rrc01" not in state.collectors()


def test_collector_alerts_restored_without_answers_are_forgotten_an_hour_later() -> None:
    first = monitor_state(CONFIG)
    Pipeline(first, lambda _: None).observe(
        answer(A, (origin(64500, 900),), (rrc01(timedelta(hours=2)),))
    )
    # A restart: the alert comes back from the database, the freshness does not.
    state = monitor_state(CONFIG)
    state.book = first.book
    events: list[AlertEvent] = []
    pipeline = Pipeline(state, events.extend)
    start = datetime.now(UTC)
    pipeline.tick(start)
    pipeline.tick(start + timedelta(minutes=59))
    assert events == []
    pipeline.tick(start + timedelta(minutes=60))
    assert [e.kind for e in events] == [EventKind.RESOLVED]


def test_new_collectors_beyond_the_limit_are_ignored_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = monitor_state(CONFIG)
    events: list[AlertEvent] = []
    pipeline = Pipeline(state, events.extend)
    stale = datetime.now(UTC) - timedelta(hours=2)
    with caplog.at_level(logging.WARNING, logger="monitor.pipeline"):
        for batch in range(3):  # names that keep changing, 600 new ones per answer
            names = (f"x{batch}-{i}" for i in range(600))
            crowd = tuple(CollectorView(n, stale, stale, stale, 1, 1, 0) for n in names)
            pipeline.observe(answer(A, (origin(64500, 900),), crowd))
    assert len(state.collectors()) == MAX_COLLECTORS
    assert len(events) == MAX_COLLECTORS
    assert caplog.text.count("tracking the limit of 1000 collectors") == 1


def test_the_collector_limit_is_a_setting() -> None:
    state = monitor_state(
        CONFIG.replace("source: {max_failures: 1}", "source: {max_collectors: 5}")
    )
    pipeline = Pipeline(state, lambda _: None)
    stale = datetime.now(UTC) - timedelta(hours=2)
    crowd = tuple(CollectorView(f"x{i}", stale, stale, stale, 1, 1, 0) for i in range(10))
    pipeline.observe(answer(A, (origin(64500, 900),), crowd))
    assert sorted(state.collectors()) == ["x0", "x1", "x2", "x3", "x4"]
