"""The daemon with RIS Live: detection in seconds from the stream, and the stream's own alerts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.config import UNEXPECTED_ORIGIN, daemon_yaml, write_config
from testkit.daemon import DaemonProcess, alerts, launch, metric
from testkit.fakeradar import FakeRadar
from testkit.fakerislive import FakeRisLive
from testkit.receivers import Receiver, free_port
from testkit.waiting import wait_for
from tests.incidents import VICTIM, VICTIM_ORIGINS

PEERS = ("192.0.2.1", "192.0.2.2", "192.0.2.3")


@pytest.fixture
def ris() -> Iterator[FakeRisLive]:
    """A fake RIS Live on a thread of its own, for a daemon process to stream from."""
    with FakeRisLive() as server:
        yield server


SUB_PREFIX = "{name: sub-prefix, type: more_specific, severity: critical}"


def stream_config(tmp: Path, fake: FakeRadar, ris: FakeRisLive, receiver: Receiver) -> Path:
    """Polling every 10 minutes: anything seen within the test came from the stream."""
    text = daemon_yaml(
        fake.base_url,
        [f"{{prefix: {VICTIM}, origins: [64501]}}"],
        [UNEXPECTED_ORIGIN, SUB_PREFIX],
        source={"interval": "10m", "retries": 0},
        notifications=[
            "group_wait: 0.2s",
            f'channels: [{{name: hook, url: "{receiver.url("hook")}"}}]',
        ],
        port=free_port(),
        state=tmp / "state.db",
    )
    text += f'stream: {{url: "{ris.url}", max_down: 2s, confirm_interval: 1s}}\n'
    return write_config(tmp, text)


def port_of(config: Path) -> int:
    return int(config.read_text().split('listen: "127.0.0.1:')[1].split('"')[0])


def test_a_hijack_between_two_polls_is_caught_from_the_stream_in_seconds(
    tmp_path: Path,
    fake: FakeRadar,
    ris: FakeRisLive,
    receiver: Receiver,
    daemons: list[DaemonProcess],
) -> None:
    fake.set_prefix(VICTIM, VICTIM_ORIGINS, n_routes=100)  # Radar shows it clean throughout
    config = stream_config(tmp_path, fake, ris, receiver)
    port = port_of(config)
    daemon = launch(daemons, tmp_path, config)
    wait_for(lambda: VICTIM in ris.subscriptions(), what="the stream subscription")
    polled = len(fake.requests)

    for peer in PEERS:
        ris.announce(VICTIM, [3356, 666], peer=peer)
    wait_for(lambda: receiver.at("hook"), what="the stream's hijack alert")
    message = receiver.at("hook")[0].doc
    assert "unexpected-origin" in message["title"] and "AS666" in message["title"]
    # Radar is asked to confirm at once, out of the cycle, and its clean answer does not
    # resolve what the stream still sees.
    wait_for(lambda: len(fake.requests) > polled, what="the confirming fetch")
    firing = {(a["finding"]["rule"], a["finding"]["origin"]) for a in alerts(port)}
    assert ("unexpected-origin", 666) in firing
    # The stream's metrics are copied once a second.
    wait_for(lambda: metric(port, "radar_monitor_stream_updates_total") == 3, what="the metric")
    assert metric(port, "radar_monitor_stream_connected") == 1
    assert (metric(port, 'radar_monitor_stream_confirmations_total{outcome="done"}') or 0) >= 1
    # One alert fired from the stream, timed from its frame (well inside a minute).
    assert metric(port, "radar_monitor_stream_detection_seconds_count") == 1
    assert metric(port, 'radar_monitor_stream_detection_seconds_bucket{le="30.0"}') == 1

    # The hijacker withdraws: the stream and Radar agree it is gone, so it resolves.
    for peer in PEERS:
        ris.withdraw(VICTIM, peer=peer)
    wait_for(lambda: alerts(port) == [], what="the resolution")
    wait_for(lambda: "RESOLVED" in receiver.at("hook")[-1].doc["title"], what="RESOLVED")
    assert daemon.stop() == 0


def test_a_sub_prefix_hijack_invisible_to_an_exact_prefix_poll_pages_from_the_stream(
    tmp_path: Path,
    fake: FakeRadar,
    ris: FakeRisLive,
    receiver: Receiver,
    daemons: list[DaemonProcess],
) -> None:
    fake.set_prefix(VICTIM, VICTIM_ORIGINS, n_routes=100)  # the /24 itself looks healthy
    config = stream_config(tmp_path, fake, ris, receiver)
    port = port_of(config)
    daemon = launch(daemons, tmp_path, config)
    wait_for(lambda: VICTIM in ris.subscriptions(), what="the stream subscription")
    sub = VICTIM.replace("/24", "/25")
    for peer in PEERS:
        ris.announce(sub, [3356, 666], peer=peer)
    wait_for(lambda: receiver.at("hook"), what="the sub-prefix hijack alert")
    # The /25 inherits the parent's rules: the sub-prefix rule and who may originate it.
    found = {a["finding"]["rule"]: a["finding"] for a in alerts(port)}
    assert set(found) == {"sub-prefix", "unexpected-origin"}
    assert (found["sub-prefix"]["prefix"], found["sub-prefix"]["parent"]) == (sub, VICTIM)
    assert found["sub-prefix"]["origin"] == 666
    assert sub in receiver.at("hook")[0].doc["title"]
    wait_for(lambda: metric(port, "radar_monitor_stream_more_specifics") == 1, what="tracked")
    for peer in PEERS:
        ris.withdraw(sub, peer=peer)
    wait_for(lambda: alerts(port) == [], what="the resolution")
    assert daemon.stop() == 0


def test_a_stream_down_for_max_down_is_an_alert_and_resolves_when_it_is_back(
    tmp_path: Path,
    fake: FakeRadar,
    ris: FakeRisLive,
    receiver: Receiver,
    daemons: list[DaemonProcess],
) -> None:
    fake.set_prefix(VICTIM, VICTIM_ORIGINS, n_routes=100)
    config = stream_config(tmp_path, fake, ris, receiver)
    port = port_of(config)
    daemon = launch(daemons, tmp_path, config)
    wait_for(lambda: metric(port, "radar_monitor_stream_connected") == 1, what="connected")
    ris.refuse()
    ris.drop()
    wait_for(
        lambda: any(a["finding"]["rule"] == "stream-down" for a in alerts(port)),
        within=30,
        what="stream-down",
    )
    assert metric(port, "radar_monitor_stream_connected") == 0
    ris.refuse(False)
    wait_for(lambda: alerts(port) == [], within=90, what="stream-down to resolve")
    assert (metric(port, "radar_monitor_stream_reconnects_total") or 0) >= 1
    assert daemon.stop() == 0
