"""The snapshot tier on the real daemon against the fake Radar: an AS's prefixes are read from
one pfx2as answer per round instead of one realtime request each, judged on it (an RPKI-invalid
one pages), shown with their tier and planned interval, counted in the budget plan that `check`
and the start-up log print; and a stream event still confirms a snapshot prefix in real time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from testkit.answers import OriginSpec
from testkit.config import LOW_VISIBILITY, RPKI_INVALID, daemon_yaml, webhook, write_config
from testkit.daemon import DaemonProcess, http_get, launch, metric, texts
from testkit.fakeradar import FakeRadar
from testkit.fakeradar_routes import Announcement
from testkit.fakerislive import FakeRisLive
from testkit.receivers import Receiver, free_port
from testkit.rislive_timelines import Step, announce, peer_addresses, play
from testkit.waiting import wait_for

ASN = 64500
GOOD, INVALID, REALTIME = "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"


def realtime_fetches(fake: FakeRadar, prefix: str) -> int:
    return sum(1 for r in fake.requests if r.prefix == prefix)


def test_snapshot_prefixes_cost_one_request_per_as_and_are_judged_on_it(
    tmp_path: Path,
    fake: FakeRadar,
    ris: FakeRisLive,
    receiver: Receiver,
    daemons: list[DaemonProcess],
) -> None:
    fake.routes.announce(Announcement(GOOD, ASN, 1900), Announcement(INVALID, ASN, 1800, "INVALID"))
    for prefix in (GOOD, INVALID, REALTIME):
        fake.set_prefix(prefix, [OriginSpec(ASN)], n_routes=5)
    port = free_port()
    text = daemon_yaml(
        fake.base_url,
        [f"{{prefix: {REALTIME}, origins: [{ASN}]}}"],
        [RPKI_INVALID, LOW_VISIBILITY],
        source={"interval": "1s", "snapshot_interval": "2s", "retries": 0},
        notifications=webhook(receiver.url("hook")),
        port=port,
        state=tmp_path / "state.db",
        stream={"url": ris.url, "confirm_interval": "1s"},
    )
    text += f"asns: [{{asn: {ASN}, sync: 1h, tier: snapshot}}]\n"
    config = write_config(tmp_path, text)
    daemon = launch(daemons, tmp_path, config)

    wait_for(
        lambda: any(INVALID in t and "RPKI" in t for t in texts(receiver, "hook")),
        what="the RPKI-invalid page from the snapshot",
    )
    wait_for(lambda: len(fake.routes.requests) >= 4, what="two snapshot rounds after the sync")
    # Only the realtime prefix is on the realtime cycle (a stream confirmation aside).
    assert realtime_fetches(fake, REALTIME) >= 2
    assert realtime_fetches(fake, GOOD) == 0 and realtime_fetches(fake, INVALID) == 0
    status, body = http_get(port, "/api/v1/prefixes")
    assert status == 200
    shown = {p["prefix"]: p for p in json.loads(body)["prefixes"]}
    assert (shown[GOOD]["tier"], shown[GOOD]["fetch_interval"]) == ("snapshot", 2.0)
    assert (shown[REALTIME]["tier"], shown[REALTIME]["fetch_interval"]) == ("realtime", 1.0)
    assert metric(port, 'radar_monitor_tier_prefixes{tier="snapshot"}') == 2
    assert metric(port, 'radar_monitor_tier_fetch_interval_seconds{tier="snapshot"}') == 2
    _, page = http_get(port, "/")
    assert "Snapshot tier: 2 prefixes of 1 AS" in page and "every 2s<br>snapshot" in page
    # The plan, at start-up (before the sync) and after the sync added the snapshot prefixes.
    assert "plan: confirmations: up to 100 per 5m for the stream" in daemon.log
    wait_for(lambda: "snapshots: 1 AS, 1 request every 2s" in daemon.log, what="the new plan")

    # A stream event about a snapshot prefix is confirmed in real time at once.
    wait_for(lambda: GOOD in ris.subscriptions(), what="the snapshot prefix subscribed")
    play(ris, (Step(0.0, "route", announce(GOOD, [64496, 174, ASN], peer_addresses(1)[0])),))
    wait_for(lambda: realtime_fetches(fake, GOOD) == 1, within=5, what="the confirming fetch")

    check = [sys.executable, "-m", "monitor", "check", "--config", str(config)]
    checked = subprocess.run(check, capture_output=True, text=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stderr
    assert "budget plan:\n  budget: 1000 requests per 5m; 900 planned" in checked.stdout
    assert "realtime: 1 prefix every 1s" in checked.stdout
    assert "Traceback" not in daemon.log
