"""`asns:` on the real daemon against the fake Radar: what AS64500 originates is watched and
polled, a manual entry wins what it wrote, a newly originated prefix fires `unlisted_prefix`
once, a withdrawn one `prefix-gone` a sync period later, and a failing pfx2as keeps the list
and raises `sync-failed` until it answers again."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from testkit.answers import OriginSpec
from testkit.config import UNLISTED_PREFIX, daemon_yaml, write_config
from testkit.daemon import DaemonProcess, alerts, http_get, launch, metric, watched
from testkit.fakeradar import FakeRadar
from testkit.receivers import free_port
from testkit.waiting import wait_for

ASN = 64500
KEPT, WITHDRAWN, MANUAL, NEW = "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "198.18.0.0/24"


def firing(port: int, rule: str) -> list[str]:
    return [a["key"][2] for a in alerts(port) if a["finding"]["rule"] == rule]


def test_an_as_is_synced_watched_and_followed_through_changes_and_faults(
    tmp_path: Path, fake: FakeRadar, daemons: list[DaemonProcess]
) -> None:
    for prefix in (KEPT, WITHDRAWN, MANUAL, NEW):
        fake.set_prefix(prefix, [OriginSpec(ASN)], n_routes=5)
    fake.routes.set_origin(ASN, KEPT, WITHDRAWN, MANUAL)
    port = free_port()
    text = daemon_yaml(
        fake.base_url,
        [f"{{prefix: {MANUAL}, description: by hand}}"],
        [UNLISTED_PREFIX],
        source={"interval": "1s", "timeout": "3s", "retries": 0},
        port=port,
        state=tmp_path / "state.db",
    )
    text += f"asns: [{{asn: {ASN}, description: our network, sync: 2s}}]\n"
    daemon = launch(daemons, tmp_path, write_config(tmp_path, text))

    # Every originated prefix is watched with the AS as its origin, and polled.
    wait_for(lambda: {KEPT, WITHDRAWN} <= set(watched(port)), what="the synced prefixes")
    wait_for(
        lambda: all(watched(port)[p]["last_success"] for p in (KEPT, WITHDRAWN)),
        what="the synced prefixes polled",
    )
    prefixes = watched(port)
    assert prefixes[KEPT]["origins"] == [ASN] and prefixes[KEPT]["description"] == "our network"
    # The manual entry wrote its description, not its origins: those come from the AS.
    assert prefixes[MANUAL]["description"] == "by hand" and prefixes[MANUAL]["origins"] == [ASN]
    assert (metric(port, f'radar_monitor_as_prefixes{{asn="{ASN}"}}') or 0) == 3
    assert firing(port, "new-prefix") == []  # the first sync is the baseline

    # A new prefix fires once and is watched; the withdrawn one goes a period later.
    fake.routes.set_origin(ASN, KEPT, MANUAL, NEW)
    wait_for(lambda: firing(port, "new-prefix") == [f"AS{ASN} {NEW}"], what="unlisted_prefix")
    assert NEW in watched(port) and WITHDRAWN in watched(port)
    wait_for(lambda: firing(port, "prefix-gone") == [f"AS{ASN} {WITHDRAWN}"], what="prefix-gone")
    assert WITHDRAWN not in watched(port) and MANUAL in watched(port)
    wait_for(lambda: not firing(port, "new-prefix"), what="unlisted_prefix resolved")
    assert daemon.log.count(f"alert firing: warning new-prefix AS{ASN} {NEW}") == 1
    wait_for(lambda: fake_polled(fake, NEW), what="the new prefix polled")

    # pfx2as fails: the list stays, and sync-failed says why until it answers again.
    fake.set_fault("500", f"AS{ASN}")
    wait_for(lambda: firing(port, "sync-failed") == [str(ASN)], what="sync-failed")
    [failed] = [a for a in alerts(port) if a["finding"]["rule"] == "sync-failed"]
    assert f"AS{ASN}" in failed["finding"]["message"] and "500" in failed["finding"]["message"]
    assert {KEPT, MANUAL, NEW} == set(watched(port))
    assert metric(port, f'radar_monitor_as_sync_success{{asn="{ASN}"}}') == 0
    fake.clear_faults()
    wait_for(lambda: not firing(port, "sync-failed"), what="sync-failed resolved")
    assert metric(port, f'radar_monitor_as_sync_success{{asn="{ASN}"}}') == 1
    _, page = http_get(port, "/")
    assert f"AS{ASN}" in page and "3 prefixes" in page

    check = [sys.executable, "-m", "monitor", "check", "--config", str(daemon.config)]
    checked = subprocess.run(check, capture_output=True, text=True, timeout=60, check=False)
    assert checked.returncode == 0 and f"1 AS synced: AS{ASN} every 2s" in checked.stdout
    assert "Traceback" not in daemon.log


def test_a_reload_keeps_the_synced_watches_and_their_state_and_adopts_a_new_exclude(
    tmp_path: Path, fake: FakeRadar, daemons: list[DaemonProcess]
) -> None:
    for prefix in (KEPT, WITHDRAWN, MANUAL):
        fake.set_prefix(prefix, [OriginSpec(ASN)], n_routes=5)
    fake.routes.set_origin(ASN, KEPT, WITHDRAWN)
    port = free_port()
    text = daemon_yaml(
        fake.base_url,
        [f"{{prefix: {MANUAL}, origins: [{ASN}]}}"],
        [UNLISTED_PREFIX],
        source={"interval": "1s", "timeout": "3s", "retries": 0},
        port=port,
        state=tmp_path / "state.db",
    )
    entry = f"asns: [{{asn: {ASN}, sync: 2s}}]\n"
    daemon = launch(daemons, tmp_path, write_config(tmp_path, text + entry))
    wait_for(lambda: watched(port).get(KEPT, {}).get("last_success"), what="KEPT polled")

    write_config(tmp_path, text + entry.replace("sync: 2s", f"sync: 2s, exclude: [{WITHDRAWN}]"))
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: "configuration reloaded" in daemon.log, what="the reload")
    # The synced watch survived the reload with what it knew; the excluded one goes at the
    # next sync, quietly (an exclusion is the operator's choice, not news).
    assert watched(port)[KEPT]["last_success"]
    wait_for(lambda: WITHDRAWN not in watched(port), what="the excluded prefix dropped")
    assert set(watched(port)) == {KEPT, MANUAL} and alerts(port) == []
    assert "Traceback" not in daemon.log


def fake_polled(fake: FakeRadar, prefix: str) -> bool:
    return any(r.prefix == prefix for r in fake.requests)
