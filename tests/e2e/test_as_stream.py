"""`asns:` with the stream on, on the real daemon against the fake Radar and the fake RIS Live:
AS64500 is subscribed by its origin path, and a prefix it starts originating pages
`unlisted_prefix` within seconds of the announcement (the next sync is an hour away) and is
watched from then on; its own more-specifics and what it excludes do not. The path
subscriptions follow SIGHUPs (an AS added, one removed) on the open socket and come back after
a reconnect."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from monitor.sources.rislive import BEACONS
from testkit.answers import OriginSpec
from testkit.config import UNLISTED_PREFIX, daemon_yaml, webhook, write_config
from testkit.daemon import DaemonProcess, alerts, http_get, launch, metric, texts, watched
from testkit.fakeradar import FakeRadar
from testkit.fakerislive import FakeRisLive
from testkit.receivers import Receiver, free_port
from testkit.waiting import wait_for

ASN, OTHER = 64500, 64501
KEPT, NEW, EXCLUDED, INSIDE = "192.0.2.0/24", "198.18.0.0/24", "203.0.113.0/24", "192.0.2.128/25"


def config_text(fake: FakeRadar, ris: FakeRisLive, receiver: Receiver, port: int, tmp: Path) -> str:
    """AS64500 synced hourly (KEPT only), streamed from `ris`, paging the `hook`."""
    return daemon_yaml(
        fake.base_url,
        [],
        [UNLISTED_PREFIX],
        source={"interval": "1s", "timeout": "3s", "retries": 0},
        notifications=webhook(receiver.url("hook")),
        port=port,
        state=tmp / "state.db",
        stream={"url": ris.url, "confirm_interval": "1s"},
    )


def wanted(*paths: str, prefixes: tuple[str, ...] = (KEPT,)) -> dict[str, bool]:
    """The subscriptions of the fake's socket: beacons, origin paths, watched prefixes."""
    return (
        dict.fromkeys(BEACONS, False) | dict.fromkeys(paths, False) | dict.fromkeys(prefixes, True)
    )


def test_a_prefix_the_stream_sees_the_as_originate_pages_within_seconds_and_is_watched(
    tmp_path: Path,
    fake: FakeRadar,
    ris: FakeRisLive,
    receiver: Receiver,
    daemons: list[DaemonProcess],
) -> None:
    for prefix in (KEPT, NEW):
        fake.set_prefix(prefix, [OriginSpec(ASN)], n_routes=5)
    fake.routes.set_origin(ASN, KEPT)
    port = free_port()
    text = config_text(fake, ris, receiver, port, tmp_path)
    entry = f"asns: [{{asn: {ASN}, sync: 1h, exclude: [{EXCLUDED}]}}]\n"
    config = write_config(tmp_path, text + entry)
    daemon = launch(daemons, tmp_path, config)
    wait_for(lambda: ris.subscriptions() == wanted(f"{ASN}$"), what="the path subscription")
    wait_for(lambda: metric(port, f'radar_monitor_as_prefixes{{asn="{ASN}"}}') == 1, what="sync")
    active = 'radar_monitor_stream_subscriptions{state="active"}'
    wait_for(lambda: metric(port, active) == len(BEACONS) + 2, what="counted with the others")

    # The AS's own more-specific (the more-specific rules' business) and an excluded prefix
    # are no news; a prefix it newly originates pages at once.
    ris.announce(INSIDE, [64496, ASN])
    ris.announce(EXCLUDED, [64496, ASN])
    announced = time.monotonic()
    ris.announce(NEW, [64496, 64496, ASN], collector="rrc21")
    wait_for(lambda: receiver.at("hook"), within=5, what="unlisted_prefix paged from the stream")
    [page] = texts(receiver, "hook")
    assert receiver.at("hook")[0].at - announced < 5  # the next sync is an hour away
    assert f"AS{ASN} now originates {NEW}, which was not watched (seen on RIS Live: " in page
    assert "path 64496 64500 at rrc21" in page and "it is watched from now on" in page
    [alert] = alerts(port)
    assert (alert["finding"]["rule"], alert["key"][2]) == ("new-prefix", f"AS{ASN} {NEW}")

    # Watched from now on, as a sync would add it: listed, counted, polled, subscribed.
    wait_for(lambda: NEW in watched(port), what="the new prefix watched")
    assert watched(port)[NEW]["origins"] == [ASN] and EXCLUDED not in watched(port)
    assert metric(port, f'radar_monitor_as_prefixes{{asn="{ASN}"}}') == 2
    _, status_page = http_get(port, "/")
    assert NEW in status_page and "2 prefixes" in status_page
    wait_for(lambda: ris.subscriptions() == wanted(f"{ASN}$", prefixes=(KEPT, NEW)), what="sub")
    wait_for(lambda: any(r.prefix == NEW for r in fake.requests), what="the new prefix polled")
    ris.announce(NEW, [64497, ASN])  # more routes of it: once was enough
    assert len(receiver.at("hook")) == 1 and len(ris.connections) == 1

    # A SIGHUP adding an AS subscribes its path on the open socket; a reconnect brings both.
    two = f"asns: [{{asn: {ASN}, sync: 1h, exclude: [{EXCLUDED}]}}, {{asn: {OTHER}, sync: 1h}}]\n"
    fake.routes.set_origin(OTHER, EXCLUDED)
    config.write_text(text + two)
    daemon.signal(signal.SIGHUP)
    both = wanted(f"{ASN}$", f"{OTHER}$", prefixes=(KEPT, NEW, EXCLUDED))
    wait_for(lambda: ris.subscriptions() == both, what="the second AS's path")
    assert len(ris.connections) == 1 and ris.connections[0].closed_at is None
    ris.drop()
    wait_for(lambda: len(ris.connections) == 2 and ris.subscriptions(1) == both, what="again")
    # And a SIGHUP removing an AS unsubscribes its path, again on the open socket.
    config.write_text(text + f"asns: [{{asn: {OTHER}, sync: 1h}}]\n")
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: ris.subscriptions(1) == wanted(f"{OTHER}$", prefixes=(EXCLUDED,)), what="-")
    assert len(ris.connections) == 2 and ris.connections[1].closed_at is None
    assert "Traceback" not in daemon.log
    assert daemon.stop() == 0
