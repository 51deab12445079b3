"""A more-specific found on the stream is watched for a while: Radar confirms it, it shows
under its parent in the API, the metrics and the status page, and RPKI valid resolves it."""

from __future__ import annotations

import json
from pathlib import Path

from testkit.answers import OriginSpec
from testkit.daemon import DaemonProcess, alerts, http_get, launch, metric
from testkit.fakeradar import FakeRadar
from testkit.fakerislive import FakeRisLive
from testkit.receivers import Receiver
from testkit.waiting import wait_for
from tests.e2e.test_stream import PEERS, port_of, stream_config
from tests.incidents import VICTIM, VICTIM_ORIGINS

SUB = VICTIM.replace("/24", "/25")


def get(port: int, path: str) -> str:
    return http_get(port, path)[1]


def radar_asked(fake: FakeRadar, prefix: str) -> int:
    return sum(1 for r in fake.requests if r.prefix == prefix)


def announce_sub(
    tmp: Path,
    fake: FakeRadar,
    ris: FakeRisLive,
    receiver: Receiver,
    daemons: list[DaemonProcess],
    origin: int,
) -> tuple[DaemonProcess, int]:
    """A daemon watching VICTIM (healthy in Radar), and its /25 announced by `origin` on
    the stream by every peer; returns the daemon and its HTTP port."""
    fake.set_prefix(VICTIM, VICTIM_ORIGINS, n_routes=100)
    config = stream_config(tmp, fake, ris, receiver)
    daemon = launch(daemons, tmp, config)
    wait_for(lambda: VICTIM in ris.subscriptions(), what="the stream subscription")
    for peer in PEERS:
        ris.announce(SUB, [3356, origin], peer=peer)
    return daemon, port_of(config)


def test_a_more_specific_is_confirmed_by_radar_and_shown_under_its_parent(
    tmp_path: Path,
    fake: FakeRadar,
    ris: FakeRisLive,
    receiver: Receiver,
    daemons: list[DaemonProcess],
) -> None:
    # Radar sees the hijacker's /25 too, RPKI invalid: a sub-prefix hijack both views agree on.
    fake.set_prefix(SUB, (OriginSpec(666, rpki="invalid", ratio=0.4),), n_routes=40)
    daemon, port = announce_sub(tmp_path, fake, ris, receiver, daemons, 666)
    wait_for(lambda: receiver.at("hook"), what="the sub-prefix hijack alert")
    # The stream's alert did not wait for Radar, and Radar was asked about the /25 at once
    # (polling is every 10 minutes: this fetch is the confirmation).
    wait_for(lambda: radar_asked(fake, SUB) >= 1, what="the confirming fetch of the /25")
    body = receiver.at("hook")[0].doc["message"]
    assert "RIS Live now: 3 RIS peers route it: AS666 via 3" in body
    listed = {p["prefix"]: p for p in json.loads(get(port, "/api/v1/prefixes"))["prefixes"]}
    assert listed[VICTIM]["parent"] is None
    wait_for(
        lambda: json.loads(get(port, "/api/v1/prefixes"))["prefixes"][-1]["observed_origins"],
        what="Radar's answer for the /25",
    )
    listed = {p["prefix"]: p for p in json.loads(get(port, "/api/v1/prefixes"))["prefixes"]}
    assert listed[SUB]["parent"] == VICTIM
    assert listed[SUB]["observed_origins"][0]["origin"] == 666
    info = f'radar_monitor_more_specific_info{{parent="{VICTIM}",prefix="{SUB}"}}'
    assert metric(port, info) == 1
    assert metric(port, f'radar_monitor_prefix_info{{description="",prefix="{SUB}"') is None
    assert f"more-specific of {VICTIM}" in get(port, "/")
    # The RPKI-invalid rule, inherited from the parent, judges Radar's answer for the /25.
    found = {a["finding"]["rule"] for a in alerts(port)}
    assert {"sub-prefix", "unexpected-origin"} <= found
    assert daemon.stop() == 0


def test_an_origin_radar_reports_rpki_valid_resolves_the_stream_alert_and_says_why(
    tmp_path: Path,
    fake: FakeRadar,
    ris: FakeRisLive,
    receiver: Receiver,
    daemons: list[DaemonProcess],
) -> None:
    # A scrubbing provider announcing the /25 with the holder's ROA: RPKI valid.
    fake.set_prefix(SUB, (OriginSpec(64999, rpki="valid", ratio=0.9),), n_routes=40)
    daemon, port = announce_sub(tmp_path, fake, ris, receiver, daemons, 64999)

    def resolved() -> list[str]:
        return [m.doc["message"] for m in receiver.at("hook") if "RESOLVED" in m.doc["message"]]

    wait_for(resolved, what="the resolution once Radar says RPKI valid")
    firing = receiver.at("hook")[0].doc
    assert "FIRING" in firing["title"] and "AS64999" in firing["title"]
    assert "RPKI valid" in resolved()[0]
    assert "authorised" in resolved()[0]
    assert alerts(port) == []
    assert daemon.stop() == 0
