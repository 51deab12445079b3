"""Alertmanager channels: the v2 payload, and the notifier's posts to a stub Alertmanager.

The end-to-end tests (tests/e2e/test_alertmanager.py) post to Debian's real
`prometheus-alertmanager`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.core.finding import Finding, Severity
from monitor.core.lifecycle import EventKind
from monitor.sinks.channels.alertmanager import am_alerts, am_labels
from monitor.sinks.notifier import Notifier
from monitor.sinks.outbox import Outbox
from testkit.waiting import until
from tests.builders import HOSTILE, NOW, live, make_event
from tests.notifying import AM_PATH, Stub, am_channel, parse_time

# --- the payload ------------------------------------------------------------------------


def test_firing_alert_has_identity_labels_annotations_and_expiry() -> None:
    now = NOW + timedelta(minutes=5)
    [doc] = am_alerts([make_event()], 240.0, now=now)
    assert doc["labels"] == {
        "alertname": "unexpected-origin",
        "severity": "critical",
        "prefix": "192.0.2.0/24",
        "origin": "666",
        "team": "netops",
    }
    notes = doc["annotations"]
    assert notes["summary"] == "unexpected-origin 192.0.2.0/24 (AS666 EVIL-NET)"
    assert "\n" not in notes["summary"]
    description = notes["description"]
    assert description.startswith("192.0.2.0/24 originated by unexpected AS666")
    assert "AS666 EVIL-NET (RU): UNEXPECTED, RPKI invalid, seen by 12.0% of peers" in description
    assert "AS64500 EXAMPLE-NET (US): expected, RPKI valid" in description
    assert "Expected origins: AS64500" in description
    assert notes["radar"] == "https://radar.cloudflare.com/routing/prefix/192.0.2.0/24"
    assert notes["bgp_tools"] == "https://bgp.tools/prefix/192.0.2.0/24"
    assert notes["ripestat"] == "https://stat.ripe.net/192.0.2.0/24"
    assert doc["generatorURL"] == notes["radar"]
    assert doc["startsAt"] == "2026-11-28T12:00:00.000Z"
    assert doc["endsAt"] == "2026-11-28T12:09:00.000Z"  # now + the resend window
    json.dumps(doc)  # plain JSON


def test_resolved_alert_ends_when_it_resolved() -> None:
    event = make_event(EventKind.RESOLVED, firing_for=timedelta(minutes=62))
    [doc] = am_alerts([event], 240.0, now=NOW + timedelta(hours=3))
    assert doc["startsAt"] == "2026-11-28T12:00:00.000Z"
    assert doc["endsAt"] == "2026-11-28T13:02:00.000Z"


def test_newest_event_per_alert_wins_whatever_the_order() -> None:
    firing = make_event()
    resolved = make_event(EventKind.RESOLVED, firing_for=timedelta(minutes=1))
    other = make_event(prefix="10.0.0.0/8")
    for events in ([firing, resolved, other], [resolved, other, firing]):
        docs = am_alerts(events, 240.0, now=NOW + timedelta(minutes=2))
        ends = {d["labels"]["prefix"]: d["endsAt"] for d in docs}
        assert ends == {
            "192.0.2.0/24": "2026-11-28T12:01:00.000Z",
            "10.0.0.0/8": "2026-11-28T12:06:00.000Z",
        }


def test_collector_finding_has_no_prefix_or_origin_and_reserved_labels_are_kept() -> None:
    finding = Finding(
        rule="stale-collector",
        type="stale_collector",
        severity=Severity.WARNING,
        prefix=None,
        message="rrc00 has not updated for 2h",
        collector="rrc00",
        labels={"severity": "page-me", "alertname": "spoofed", "site": "ams"},
    )
    assert am_labels(finding) == {
        "alertname": "stale-collector",
        "severity": "warning",
        "collector": "rrc00",
        "site": "ams",
    }
    event = make_event()
    event = replace(event, alert=replace(event.alert, finding=finding, evidence=None))
    [doc] = am_alerts([event], 60.0, now=NOW)
    assert doc["annotations"] == {
        "summary": "stale-collector (rrc00)",
        "description": "rrc00 has not updated for 2h",
    }
    assert "generatorURL" not in doc


def test_replicas_produce_the_same_labels() -> None:
    """Two monitors seeing one hijack at different moments, with different numbers."""
    first = live(EventKind.FIRING, NOW, NOW)
    second = live(EventKind.FIRING, NOW + timedelta(seconds=7), NOW + timedelta(seconds=9))
    evidence = second.alert.evidence
    assert evidence is not None
    second = replace(
        second, alert=replace(second.alert, evidence=replace(evidence, visibility=0.5))
    )
    [a] = am_alerts([first], 240.0, now=NOW)
    [b] = am_alerts([second], 240.0, now=NOW + timedelta(seconds=9))
    assert a["labels"] == b["labels"]
    assert a["startsAt"] != b["startsAt"]  # Alertmanager keeps the earliest


def test_hostile_text_is_neutralised() -> None:
    [doc] = am_alerts([make_event(as_name=HOSTILE)], 240.0, now=NOW)
    text = doc["annotations"]["summary"] + doc["annotations"]["description"]
    for bad in ("<!channel>", "[click](", "<script>", "@here", "<@U123>"):
        assert bad not in text


# --- the notifier, against a stub Alertmanager --------------------------------------------


async def test_events_reach_alertmanager_and_apprise_through_the_outbox(
    stub: Callable[..., Stub],
) -> None:
    s = stub()
    now = datetime.now(UTC)
    assert s.notifier.enqueue([live(EventKind.FIRING, now, now)], time.time()) == 2
    await until(lambda: s.posts() and s.receiver.at("ops") and not s.outbox.items)
    [[doc]] = s.posts()
    assert doc["labels"]["alertname"] == "unexpected-origin"
    assert parse_time(doc["endsAt"]) > now + timedelta(seconds=200)  # 4 x 60s resend interval
    assert sorted(s.results) == [("am", "success"), ("ops", "success")]


async def test_invalid_alertmanager_url_is_reported_not_used() -> None:
    notifier = Notifier(
        [am_channel("am", "am.example:9093")],
        Outbox(),
        group_wait=0.1,
        max_backoff=1.0,
        can_send_unpersisted=lambda: True,
        on_change=lambda: None,
    )
    assert "http(s)://" in notifier.invalid_channels["am"]
    assert notifier.enqueue([make_event()], time.time()) == 0


async def test_retry_sends_all_pending_and_newest_state_wins(
    stub: Callable[..., Stub],
) -> None:
    s = stub()
    s.receiver.statuses = {AM_PATH.lstrip("/"): [500]}
    fired = datetime.now(UTC)
    s.notifier.enqueue([live(EventKind.FIRING, fired, fired)], time.time())
    await until(lambda: ("am", "failure") in s.results)
    resolved = datetime.now(UTC)
    s.notifier.enqueue([live(EventKind.RESOLVED, fired, resolved)], time.time())
    await until(lambda: ("am", "success") in s.results)
    [doc] = s.posts()[-1]  # both items in one post, one alert
    assert abs(parse_time(doc["endsAt"]) - resolved) < timedelta(milliseconds=1)
    assert s.pending("am") == 0


def test_each_unexpected_upstream_of_a_prefix_is_its_own_alertmanager_alert() -> None:
    leaks = [
        make_event(rule="new-upstream", origin=None, upstream=upstream) for upstream in (9999, 8888)
    ]
    docs = am_alerts(leaks, 60.0, now=NOW)
    assert [d["labels"] for d in docs] == [
        {
            "alertname": "new-upstream",
            "severity": "critical",
            "prefix": "192.0.2.0/24",
            "upstream": str(upstream),
            "team": "netops",
        }
        for upstream in (9999, 8888)
    ]
    assert docs[0]["annotations"]["summary"] == "new-upstream 192.0.2.0/24 (upstream AS9999)"
