"""A SIGHUP that changes the watch list changes the RIS Live subscriptions on the open socket:
no reconnect, the prefix that went is unsubscribed (its updates stop), the one that came is
subscribed and judged from the stream at once."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from monitor.sources.rislive import BEACONS
from testkit.answers import OriginSpec
from testkit.config import UNEXPECTED_ORIGIN, daemon_yaml, webhook, write_config
from testkit.daemon import DaemonProcess, alerts, launch, metric, texts
from testkit.fakeradar import FakeRadar
from testkit.fakerislive import FakeRisLive
from testkit.receivers import Receiver, free_port
from testkit.rislive_timelines import exact_prefix_hijack, phase, play
from testkit.waiting import wait_for
from tests.incidents import CLEAN, VICTIM

A, B, C = VICTIM, CLEAN, "203.0.113.0/24"
OWNERS = {A: 64501, B: 64500, C: 64502}
PEERS = ("192.0.2.1", "192.0.2.2", "192.0.2.3")


def config_text(
    fake: FakeRadar, ris: FakeRisLive, receiver: Receiver, port: int, tmp: Path, *watched: str
) -> str:
    """Watching `watched` for their owners (Radar shows them clean), streamed from `ris`."""
    return daemon_yaml(
        fake.base_url,
        [f"{{prefix: {p}, origins: [{OWNERS[p]}]}}" for p in watched],
        [UNEXPECTED_ORIGIN],
        source={"interval": "2s", "retries": 0},
        notifications=webhook(receiver.url("hook")),
        port=port,
        state=tmp / "state.db",
        stream={"url": ris.url, "confirm_interval": "1s"},
    )


def test_a_sighup_changes_the_subscriptions_on_the_open_socket(
    tmp_path: Path,
    fake: FakeRadar,
    ris: FakeRisLive,
    receiver: Receiver,
    daemons: list[DaemonProcess],
) -> None:
    for prefix, owner in OWNERS.items():
        fake.set_prefix(prefix, [OriginSpec(owner, ratio=0.97)], n_routes=50)
    port = free_port()
    config = write_config(tmp_path, config_text(fake, ris, receiver, port, tmp_path, A, B))
    daemon = launch(daemons, tmp_path, config)
    # The watched prefixes with their more-specifics, the beacons alone.
    wanted = {A: True, B: True} | dict.fromkeys(BEACONS, False)
    wait_for(lambda: ris.subscriptions() == wanted, what="the first subscriptions")
    wait_for(lambda: metric(port, "radar_monitor_stream_connected") == 1, what="connected")
    assert metric(port, "radar_monitor_stream_reconnects_total") == 0
    subscribed = len(ris.connections[0].log)

    config.write_text(config_text(fake, ris, receiver, port, tmp_path, B, C))
    daemon.signal(signal.SIGHUP)
    wanted = {B: True, C: True} | dict.fromkeys(BEACONS, False)
    wait_for(lambda: ris.subscriptions() == wanted, what="the new subscriptions")
    # On the same connection: it never closed, and no other was opened.
    assert len(ris.connections) == 1
    connection = ris.connections[0]
    assert connection.closed_at is None and ris.open_connections == 1
    changes = [(s.kind, s.prefix) for s in connection.log[subscribed:]]
    assert changes == [("ris_unsubscribe", A), ("ris_subscribe", C)]
    assert metric(port, "radar_monitor_stream_reconnects_total") == 0
    assert daemon.log.count("RIS Live connected") == 1

    # AS666 takes A, then C, then a beacon moves: A's frames no longer reach the daemon, C's
    # page at once.
    play(ris, phase(exact_prefix_hijack(A, 666, PEERS), "onset"))
    play(ris, phase(exact_prefix_hijack(C, 666, PEERS), "onset"))
    moved = float(int(time.time()) - 60)
    ris.beacon(timestamp=moved)
    wait_for(lambda: receiver.at("hook"), within=5, what="C's hijack paged from the stream")
    [page] = texts(receiver, "hook")
    assert "unexpected-origin" in page and C in page and A not in page
    assert {a["finding"]["prefix"] for a in alerts(port)} == {C}
    # Frames arrive in order on one socket: once the beacon shows, so do the updates before
    # it, and A's would count too had they been delivered.
    canary = "radar_monitor_stream_last_canary_timestamp_seconds"
    wait_for(lambda: metric(port, canary) == moved, what="the beacon")
    assert metric(port, "radar_monitor_stream_updates_total") == 3
    assert daemon.stop() == 0
