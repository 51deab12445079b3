"""Polling Radar's detectors: one request (plus pages) per expected-origin AS and detector each
round, counted in the budget plan so the realtime cycle stretches around them; alerts per
event that resolve when Radar ends the event or drops it, never because a poll failed; and
`events-unreachable` after `max_failures` failed rounds."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from monitor.budget import Load
from monitor.config import parse_config
from monitor.core.lifecycle import AlertEvent, AlertState
from monitor.events_polling import EventsPolling, events_load
from monitor.planning import plan_for
from monitor.sources.radar_client import RadarClient
from monitor.sources.radar_events import RadarEvents
from monitor.state import MonitorState
from testkit.fakeradar import FakeRadar
from tests.builders import NOW, monitor_state

RULES = """\
rules:
  - {name: hijack, type: radar_hijack, severity: critical, events_interval: 2m}
  - {name: leak, type: radar_leak, severity: warning}
"""
CONFIG = (
    """\
source: {max_failures: 2}
prefixes:
  - {prefix: 192.0.2.0/24, origins: [64500, 64501]}
  - {prefix: 198.51.100.0/24, origins: [64500]}
  - {prefix: 203.0.113.0/24, origins: [64502], rules: {hijack: false}}
"""
    + RULES
)


def test_the_load_is_one_poll_per_detector_and_expected_origin() -> None:
    load = events_load(parse_config(CONFIG))
    # hijack: 64500, 64501 (64502's prefix disables it); leak: all three.
    assert load == Load("events", "3 ASes", 5, 120.0)
    only_views = "rules: [{name: hijack, type: rpki_invalid, severity: critical}]\n"
    assert events_load(parse_config(CONFIG.replace(RULES, only_views))) is None


def poller(client: RadarClient, sent: list[AlertEvent], text: str = CONFIG) -> EventsPolling:
    state = monitor_state(text)
    schedule = plan_for(state.config)
    return EventsPolling(state, sent.extend, RadarEvents(client), schedule)


def firing(state: MonitorState) -> dict[str, str]:
    return {k.subject: k.rule for k, a in state.book.alerts.items() if a.state is AlertState.FIRING}


async def test_events_fire_once_each_and_resolve_when_radar_ends_or_drops_them(
    fake: FakeRadar, client: RadarClient
) -> None:
    fake.events.add_hijack(1, 64666, [64500], ["192.0.2.0/24"], confidence=8)
    fake.events.add_hijack(2, 64666, [64501], ["192.0.2.0/24"], confidence=3)
    fake.events.add_hijack(3, 64666, [64502], ["203.0.113.0/24"], confidence=9)
    fake.events.add_leak(4, 64502, [174, 64502, 3356])
    sent: list[AlertEvent] = []
    events = poller(client, sent)
    await events.poll_once(NOW)
    # 2 is below min_confidence; 3 involves only an AS whose prefix disabled the hijack rule.
    assert firing(events.state) == {"hijack 1": "hijack", "leak 4": "leak"}
    assert sorted(fake.events.requests("hijacks")) == ["hijacks:AS64500", "hijacks:AS64501"]
    assert len(fake.events.requests("leaks")) == 3
    await events.poll_once(NOW)
    assert [e.kind.value for e in sent] == ["firing", "firing"]  # once per event
    fake.events.end_event(1)
    fake.events.remove_event(4)
    await events.poll_once(NOW)
    assert firing(events.state) == {}
    assert [e.kind.value for e in sent[2:]] == ["resolved", "resolved"]


async def test_a_failing_poll_keeps_the_alerts_and_raises_events_unreachable(
    fake: FakeRadar, client: RadarClient
) -> None:
    fake.events.add_hijack(1, 64666, [64500], ["192.0.2.0/24"], confidence=8)
    sent: list[AlertEvent] = []
    events = poller(client, sent)
    await events.poll_once(NOW)
    fake.events.end_event(1)  # Radar ended it, but cannot say so for now
    fake.set_fault("500", "hijacks:AS64500")
    await events.poll_once(NOW)
    assert firing(events.state) == {"hijack 1": "hijack"}
    stats = events.state.events["hijack"]
    assert (stats.ok, stats.failed, stats.failures) == (3, 1, 1)
    await events.poll_once(NOW)  # the second failed round: max_failures is 2
    assert firing(events.state) == {"hijack 1": "hijack", "hijack": "events-unreachable"}
    [unreachable] = [a for a in events.state.book.alerts.values() if a.key.subject == "hijack"]
    assert "AS64500: HTTP 500" in unreachable.finding.message
    assert "no hijack alert resolves" in unreachable.finding.message
    fake.clear_faults()
    await events.poll_once(NOW)
    assert firing(events.state) == {}
    assert events.state.events["hijack"].last_success is not None


async def test_an_alert_from_before_a_restart_waits_for_every_as_to_answer(
    fake: FakeRadar, client: RadarClient
) -> None:
    fake.events.add_hijack(1, 64666, [64501], ["192.0.2.0/24"], confidence=8)
    sent: list[AlertEvent] = []
    before = poller(client, sent)
    await before.poll_once(NOW)
    fake.events.end_event(1)
    fake.set_fault("500", "hijacks:AS64501")
    after = poller(client, sent)
    after.state.book = before.state.book  # what the state database gives back
    await after.poll_once(NOW)  # AS64500 answers, AS64501 (the event's) has no list yet
    assert firing(after.state) == {"hijack 1": "hijack"}
    fake.clear_faults()
    await after.poll_once(NOW)
    assert firing(after.state) == {}


async def test_rounds_follow_the_plan_and_a_replan_starts_one_at_once(
    fake: FakeRadar, client: RadarClient
) -> None:
    events = poller(client, [])
    events.plan = replace(events.plan, stretch=0.2 / 120)  # a round every 0.2 s
    task = asyncio.create_task(events.run())
    try:
        await asyncio.sleep(0.3)
        assert len(fake.events.requests("leaks")) == 6  # two rounds of three ASes
        events.replan(events.fetcher, replace(events.plan, stretch=1.0))
        await asyncio.sleep(0.1)
        assert len(fake.events.requests("leaks")) == 9
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
