"""The snapshot tier against the fake Radar's pfx2as: one request per AS each round; each
snapshot prefix judged by the rules that make sense on snapshot data (RPKI, origin, visibility
from peer counts), the others' alerts left alone; a failed or empty answer freezes alerts; a
newer realtime answer is never overwritten by an older snapshot, though the round counts as a
success for that prefix."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.core.lifecycle import AlertEvent, AlertState
from monitor.pipeline import Pipeline
from monitor.planning import plan_for
from monitor.snapshots import CHUNK, SnapshotPolling
from monitor.sources.radar_client import RadarClient
from monitor.sources.radar_pfx2as import RadarOrigins
from monitor.state import MonitorState, PrefixStatus
from testkit.fakeradar import FakeRadar
from testkit.fakeradar_routes import Announcement
from tests.builders import monitor_state

OURS, THEIRS, REALTIME = "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"
CONFIG = f"""\
source: {{max_failures: 2, snapshot_interval: 10m}}
rules:
  - {{name: rpki, type: rpki_invalid, severity: critical}}
  - {{name: hijack, type: unexpected_origin, severity: critical}}
  - {{name: low, type: visibility_below, severity: warning, threshold: 0.5}}
  - {{name: stale, type: stale_data, max_age: 1m, severity: warning}}
prefixes:
  - {{prefix: {OURS}, origins: [64500], tier: snapshot}}
  - {{prefix: {THEIRS}, origins: [64501], tier: snapshot}}
  - {{prefix: {REALTIME}, origins: [64500]}}
"""


def polling(client: RadarClient, text: str = CONFIG) -> tuple[SnapshotPolling, list[AlertEvent]]:
    sent: list[AlertEvent] = []
    state = monitor_state(text)
    pipeline = Pipeline(state, sent.extend)
    fetcher = lambda cap: RadarOrigins(client, cap)  # noqa: E731 - as the factory makes it
    return SnapshotPolling(state, pipeline.observe, fetcher, plan_for(state.config)), sent


def firing(state: MonitorState) -> dict[str, str]:
    return {
        f"{a.key.rule} {a.key.prefix}": a.finding.message
        for a in state.book.alerts.values()
        if a.state is AlertState.FIRING
    }


async def test_each_round_asks_each_as_once_and_judges_every_snapshot_prefix(
    fake: FakeRadar, client: RadarClient
) -> None:
    fake.routes.announce(
        Announcement(OURS, 64500, 1800, "INVALID"),
        Announcement("192.0.2.0/23", 64500, 1900),  # not watched: judged by nobody
        Announcement(THEIRS, 64501, 300),  # 15% of 2,000 peers
        Announcement(THEIRS, 64500, 1500, "UNKNOWN"),  # and 64500 announces 64501's prefix
    )
    snapshots, _ = polling(client)
    await snapshots.poll_once()
    assert sorted(r.key for r in fake.routes.requests) == ["AS64500", "AS64501"]
    alerts = firing(snapshots.state)
    assert set(alerts) == {f"rpki {OURS}", f"low {THEIRS}", f"hijack {THEIRS}"}
    assert "15.0% of peers (300/2000 peers)" in alerts[f"low {THEIRS}"]
    # Snapshots are hours old: the freshness rule does not judge them.
    assert not any(key.startswith("stale") for key in alerts)
    status = snapshots.state.prefixes[OURS]
    assert status.view is not None and status.view.snapshot and status.view.routes == ()
    stats = snapshots.state.snapshots
    assert stats is not None and (stats.ases, stats.ok, stats.failed) == (2, 2, 0)
    # The realtime prefix of the same AS is the realtime cycle's, not the snapshot's.
    assert snapshots.state.prefixes[REALTIME].view is None


async def test_a_prefix_the_snapshot_no_longer_lists_is_seen_by_nobody(
    fake: FakeRadar, client: RadarClient
) -> None:
    fake.routes.set_origin(64500, OURS)
    fake.routes.set_origin(64501, "198.18.0.0/15")  # 64501 announces, just not THEIRS
    snapshots, _ = polling(client)
    await snapshots.poll_once()
    assert firing(snapshots.state) == {
        f"low {THEIRS}": f"{THEIRS} is visible to 0.0% of peers (no peer at all) through its "
        "expected origins, below 50.0%"
    }


async def test_a_failed_or_empty_answer_freezes_the_alerts_of_that_as_only(
    fake: FakeRadar, client: RadarClient
) -> None:
    fake.routes.announce(Announcement(OURS, 64500, 1800, "INVALID"), Announcement(THEIRS, 64501))
    snapshots, _ = polling(client)
    await snapshots.poll_once()
    assert set(firing(snapshots.state)) == {f"rpki {OURS}"}
    fake.set_fault("500", "AS64500")
    fake.routes.set_origin(64501)  # an empty answer: a glitch, not every prefix withdrawn
    for _ in range(2):
        await snapshots.poll_once()
    alerts = firing(snapshots.state)
    # Neither resolved nor paged as invisible: after max_failures rounds, unreachable.
    assert set(alerts) == {
        f"rpki {OURS}",
        f"source-unreachable {OURS}",
        f"source-unreachable {THEIRS}",
    }
    assert "the snapshot of AS64500 could not be read" in alerts[f"source-unreachable {OURS}"]
    assert "lists no prefix at all" in alerts[f"source-unreachable {THEIRS}"]
    stats = snapshots.state.snapshots
    assert stats is not None and stats.failed == 4 and stats.error is not None


async def confirmed_after_snapshot(
    fake: FakeRadar, client: RadarClient, peers: int
) -> tuple[SnapshotPolling, PrefixStatus]:
    """A round over a two-hour-old snapshot (OURS seen by `peers`), then OURS confirmed in
    real time, as a stream event makes it: the realtime answer is the newer."""
    fake.routes.data_time = datetime.now(UTC) - timedelta(hours=2)
    fake.routes.announce(Announcement(OURS, 64500, peers), Announcement(THEIRS, 64501))
    snapshots, _ = polling(client)
    await snapshots.poll_once()
    status = snapshots.state.prefixes[OURS]
    assert status.view is not None
    status.view = replace(status.view, snapshot=False, data_time=datetime.now(UTC))
    return snapshots, status


async def test_a_newer_realtime_answer_wins_over_an_older_snapshot(
    fake: FakeRadar, client: RadarClient
) -> None:
    snapshots, status = await confirmed_after_snapshot(fake, client, 100)
    assert set(firing(snapshots.state)) == {f"low {OURS}"}
    fake.routes.set_origin(64500, "198.18.0.0/15")  # the snapshot lost it: older news
    status.last_success = confirmed = time.time() - 600
    await snapshots.poll_once()
    assert status.view is not None and status.view.snapshot is False
    # Read all the same: its last success moves on, or RadarMonitorNotPolling would page.
    assert status.last_success is not None and status.last_success > confirmed + 590


async def test_rounds_that_read_again_resolve_source_unreachable_under_a_newer_answer(
    fake: FakeRadar, client: RadarClient
) -> None:
    snapshots, status = await confirmed_after_snapshot(fake, client, 1800)
    fake.set_fault("500", "AS64500")
    for _ in range(2):
        await snapshots.poll_once()
    assert f"source-unreachable {OURS}" in firing(snapshots.state)
    fake.clear_faults()
    await snapshots.poll_once()
    # Radar answers again with its two-hour-old snapshot; the realtime answer stands.
    assert status.view is not None and status.view.snapshot is False
    assert (status.failures, status.error) == (0, None)
    assert f"source-unreachable {OURS}" not in firing(snapshots.state)


async def test_a_round_pauses_between_chunks_while_told_to_and_says_when_it_is_done(
    fake: FakeRadar, client: RadarClient
) -> None:
    nets = [f"10.0.{i}.0/24" for i in range(CHUNK + 50)]
    fake.routes.announce(*(Announcement(n, 64500, 1800) for n in nets))
    watched = "\n".join(f"  - {{prefix: {n}, origins: [64500], tier: snapshot}}" for n in nets)
    go, done = asyncio.Event(), []
    state = monitor_state(f"prefixes:\n{watched}\nrules: []")
    snapshots = SnapshotPolling(
        state,
        Pipeline(state, lambda events: None).observe,
        lambda cap: RadarOrigins(client, cap),
        plan_for(state.config),
        pause=go.wait,
        judged=lambda: done.append(True),
    )
    round_ = asyncio.create_task(snapshots.poll_once())
    await asyncio.sleep(0.2)
    judged = [n for n in nets if state.prefixes[n].view is not None]
    assert (len(judged), done, round_.done()) == (CHUNK, [], False)
    go.set()
    await asyncio.wait_for(round_, 5)
    assert all(state.prefixes[n].view is not None for n in nets)
    assert done == [True]
