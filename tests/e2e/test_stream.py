"""The daemon with RIS Live: detection in seconds from the stream, and the stream's own alerts."""

from __future__ import annotations

from pathlib import Path

from testkit.config import UNEXPECTED_ORIGIN, daemon_yaml, webhook, write_config
from testkit.daemon import DaemonProcess, alerts, launch, metric
from testkit.fakeradar import FakeRadar
from testkit.fakerislive import FakeRisLive
from testkit.receivers import Receiver, free_port
from testkit.rislive_timelines import exact_prefix_hijack, phase, play, sub_prefix_hijack
from testkit.waiting import wait_for
from tests.incidents import VICTIM, VICTIM_ORIGINS

PEERS = ("192.0.2.1", "192.0.2.2", "192.0.2.3")


SUB_PREFIX = "{name: sub-prefix, type: more_specific, severity: critical}"


def stream_config(tmp: Path, fake: FakeRadar, ris: FakeRisLive, receiver: Receiver) -> Path:
    """Polling every 10 minutes: anything seen within the test came from the stream."""
    text = daemon_yaml(
        fake.base_url,
        [f"{{prefix: {VICTIM}, origins: [64501]}}"],
        [UNEXPECTED_ORIGIN, SUB_PREFIX],
        source={"interval": "10m", "retries": 0},
        notifications=webhook(receiver.url("hook")),
        port=free_port(),
        state=tmp / "state.db",
        stream={"url": ris.url, "max_down": "2s", "confirm_interval": "1s"},
    )
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

    # AS666 takes the prefix for 3 s, well inside the 10-minute poll interval.
    began = play(ris, exact_prefix_hijack(VICTIM, 666, PEERS, lasting=3.0))
    wait_for(lambda: alerts(port) == [], what="the resolution")
    wait_for(lambda: "RESOLVED" in receiver.at("hook")[-1].doc["title"], what="RESOLVED")
    [paged, resolved] = receiver.at("hook")
    assert "unexpected-origin" in paged.doc["title"] and "AS666" in paged.doc["title"]
    # Paged while the hijack lasted, and it resolved only once the hijacker withdrew: Radar's
    # confirming fetch, asked for at once, out of the cycle, did not resolve what the stream
    # still saw with its clean answer.
    assert began["onset"] < paged.at < began["end"] < resolved.at
    confirming = [r.at for r in fake.requests[polled:] if r.prefix == VICTIM]
    assert confirming and began["onset"] < confirming[0] < began["end"]
    # The stream's metrics are copied once a second.
    wait_for(lambda: metric(port, "radar_monitor_stream_updates_total") == 6, what="the metric")
    assert metric(port, "radar_monitor_stream_connected") == 1
    assert metric(port, 'radar_monitor_stream_messages_total{type="update"}') == 6
    # The watched prefix and the six beacons, all acknowledged.
    assert metric(port, 'radar_monitor_stream_subscriptions{state="active"}') == 7
    assert metric(port, 'radar_monitor_stream_subscriptions{state="queued"}') == 0
    assert (metric(port, 'radar_monitor_stream_confirmations_total{outcome="done"}') or 0) >= 2
    # One alert fired from the stream, timed from its frame (well inside a minute).
    assert metric(port, "radar_monitor_stream_detection_seconds_count") == 1
    assert metric(port, 'radar_monitor_stream_detection_seconds_bucket{le="30.0"}') == 1
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
    hijack = sub_prefix_hijack(VICTIM, 666, PEERS)
    play(ris, phase(hijack, "onset"))
    wait_for(lambda: receiver.at("hook"), what="the sub-prefix hijack alert")
    # The /25 inherits the parent's rules: the sub-prefix rule and who may originate it.
    found = {a["finding"]["rule"]: a["finding"] for a in alerts(port)}
    assert set(found) == {"sub-prefix", "unexpected-origin"}
    assert (found["sub-prefix"]["prefix"], found["sub-prefix"]["parent"]) == (sub, VICTIM)
    assert found["sub-prefix"]["origin"] == 666
    assert sub in receiver.at("hook")[0].doc["title"]
    wait_for(lambda: metric(port, "radar_monitor_stream_more_specifics") == 1, what="tracked")
    play(ris, phase(hijack, "end"))
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
