"""Radar's own hijack detector on the real daemon: an event involving the watched prefix's
origin AS becomes an alert in the API and a webhook page saying it is Radar's classification;
Radar ending it resolves it; a failing events endpoint keeps the alert and says so."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from testkit.config import daemon_yaml, webhook, write_config
from testkit.daemon import DaemonProcess, alerts, launch, metric, texts
from testkit.fakeradar import FakeRadar
from testkit.receivers import Receiver, free_port
from testkit.waiting import wait_for
from tests.incidents import VICTIM, VICTIM_ORIGINS

OWNER = 64501
HIJACKER = 64666
HIJACK_RULE = "{name: radar-hijack, type: radar_hijack, severity: critical, events_interval: 1s}"
FAILED_POLLS = 'radar_monitor_events_polls_total{kind="hijack",outcome="failed"}'


def launch_watching(
    tmp: Path, fake: FakeRadar, receiver: Receiver, daemons: list[DaemonProcess]
) -> tuple[DaemonProcess, int]:
    """A daemon watching VICTIM (origin OWNER) with the radar_hijack rule; it and its port."""
    fake.set_prefix(VICTIM, VICTIM_ORIGINS, n_routes=20)
    port = free_port()
    text = daemon_yaml(
        fake.base_url,
        [f"{{prefix: {VICTIM}, origins: [{OWNER}]}}"],
        [HIJACK_RULE],
        source={"interval": "1s", "timeout": "3s", "retries": 0, "max_failures": 2},
        notifications=webhook(receiver.url("hook")),
        port=port,
        state=tmp / "state.db",
    )
    return launch(daemons, tmp, write_config(tmp, text)), port


def hijack_alerts(port: int) -> list[dict[str, object]]:
    return [a for a in alerts(port) if a["finding"]["rule"] == "radar-hijack"]


def test_a_radar_hijack_fires_survives_a_failing_endpoint_and_resolves_when_radar_ends_it(
    tmp_path: Path, fake: FakeRadar, receiver: Receiver, daemons: list[DaemonProcess]
) -> None:
    fake.events.add_hijack(4242, HIJACKER, [OWNER], [VICTIM], confidence=8)
    fake.events.add_hijack(4243, HIJACKER, [OWNER], ["203.0.113.0/24"], confidence=2)
    daemon, port = launch_watching(tmp_path, fake, receiver, daemons)

    wait_for(lambda: hijack_alerts(port), what="the radar-hijack alert")
    [alert] = hijack_alerts(port)  # the low-confidence event is below min_confidence 5
    finding = alert["finding"]
    assert isinstance(finding, dict)
    assert finding["event"] == "hijack 4242" and finding["severity"] == "critical"
    assert f"AS{HIJACKER}" in finding["message"] and VICTIM in finding["message"]
    wait_for(lambda: texts(receiver, "hook"), within=5, what="the webhook page")
    [page] = texts(receiver, "hook")
    assert "Radar's classification" in page and "not radar-monitor's own" in page
    assert f"https://radar.cloudflare.com/routing/as{HIJACKER}" in page
    assert fake.events.requests("hijacks")[0] == f"hijacks:AS{OWNER}"
    # The start-up plan, and `check`'s, count the events polls in the budget.
    plan = "events: 1 AS, 1 request every 1s: 300.0 per 5m"
    assert plan in daemon.log
    check = [sys.executable, "-m", "monitor", "check", "--config", str(daemon.config)]
    checked = subprocess.run(check, capture_output=True, text=True, timeout=60, check=False)
    assert checked.returncode == 0 and plan in checked.stdout, checked.stderr

    # The endpoint fails: the alert stays firing, and events-unreachable says why.
    fake.set_fault("500", f"hijacks:AS{OWNER}")
    wait_for(
        lambda: any(a["finding"]["rule"] == "events-unreachable" for a in alerts(port)),
        what="the events-unreachable alert",
    )
    assert [a["state"] for a in hijack_alerts(port)] == ["firing"]
    assert (metric(port, FAILED_POLLS) or 0) >= 2
    unreachable = [a for a in alerts(port) if a["finding"]["rule"] == "events-unreachable"]
    assert "HTTP 500" in unreachable[0]["finding"]["message"]

    # Radar answers again and reports the event over: both alerts resolve.
    fake.events.end_event(4242)
    fake.clear_faults()
    wait_for(lambda: not hijack_alerts(port), what="the hijack alert resolved")
    wait_for(lambda: not alerts(port), what="events-unreachable resolved")
    wait_for(
        lambda: any("RESOLVED" in t.upper() and "4242" in t for t in texts(receiver, "hook")),
        within=5,
        what="the resolved page",
    )
    assert "Traceback" not in daemon.log
