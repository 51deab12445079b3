"""Alertmanager channels for real: refreshes to a stub and to Debian's `prometheus-alertmanager`.

The real Alertmanager runs on loopback ports with a webhook receiver, with the real daemon (one,
then two replicas) against the fake Radar.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.core.lifecycle import EventKind
from monitor.sinks.notifier import Notifier
from monitor.sinks.outbox import Outbox
from testkit.config import FAST_POLLING, UNEXPECTED_ORIGIN, daemon_yaml, write_config
from testkit.daemon import DaemonProcess, launch, metric
from testkit.fakeradar import FakeRadar
from testkit.receivers import Receiver, free_port
from testkit.waiting import until, wait_for
from tests.builders import live
from tests.e2e.servers import Alertmanager
from tests.incidents import HIJACK, VICTIM, VICTIM_ORIGINS
from tests.notifying import AM_PATH, Stub, am_channel, parse_time
from tests.tools import require_tool

#: Alertmanager's grouping in these tests: group_wait 1s, group_interval 2s.
AM_SETTLE = 1.0 + 2.0 + 1.5


def posted_twice(port: int, series: str) -> bool:
    """Whether the daemon on `port` counts at least two successful posts in `series`."""
    return (metric(port, series) or 0) >= 2


# --- refreshes, against a stub Alertmanager (seconds of waiting) -----------------------


async def test_refresh_reposts_firing_alerts_only_to_alertmanager_and_coalesces(
    stub: Callable[..., Stub],
) -> None:
    s = stub(resend_interval=0.5)
    now = datetime.now(UTC)
    alert = live(EventKind.FIRING, now, now).alert
    other = live(EventKind.FIRING, now, now, prefix="10.0.0.0/8").alert
    # Never posted: due at once, one item per alert, then nothing more while they wait.
    assert s.notifier.refresh([alert, other], time.time()) == 2
    assert s.notifier.refresh([alert, other], time.time()) == 0
    await until(lambda: s.posts())
    assert len(s.posts()[0]) == 2
    assert s.notifier.refresh([alert, other], time.time()) == 0  # just posted
    await asyncio.sleep(0.6)
    assert s.notifier.refresh([alert, other], time.time()) == 2
    await until(lambda: len(s.posts()) == 2)
    # Alertmanager hangs: refreshes come due again and again, but one item per alert waits.
    s.receiver.hang = {AM_PATH.lstrip("/")}
    await asyncio.sleep(0.6)
    assert s.notifier.refresh([alert, other], time.time()) == 2
    for _ in range(10):
        await asyncio.sleep(0.1)
        s.notifier.refresh([alert, other], time.time())
    assert s.pending("am") == 2
    assert not s.receiver.at("ops")  # Apprise channels never get refreshes
    assert all(kind == "repeat" for kind in (i.payload["kind"] for i in s.outbox.items.values()))


# --- the real Alertmanager --------------------------------------------------------------


@pytest.fixture
def hook(receiver: Receiver) -> Receiver:
    """The webhook receiver Alertmanager notifies (path `am`), on a loop of its own."""
    return receiver


@pytest.fixture
def alertmanager(tmp_path: Path, hook: Receiver) -> Iterator[Alertmanager]:
    binary = require_tool("prometheus-alertmanager")
    am = Alertmanager(binary, tmp_path, hook)
    yield am
    am.stop()


def notifications(hook: Receiver, status: str) -> list[dict[str, Any]]:
    """Alertmanager's webhook notifications with group status `status`."""
    return [p.doc for p in hook.at("am") if p.doc.get("status") == status]


async def test_refreshes_keep_the_alert_firing_and_without_them_it_expires(
    alertmanager: Alertmanager, hook: Receiver
) -> None:
    outbox = Outbox()
    notifier = Notifier(
        [am_channel("am", alertmanager.url)],
        outbox,
        group_wait=0.1,
        max_backoff=1.0,
        can_send_unpersisted=lambda: True,
        on_change=lambda: None,
        resend_interval=0.5,  # expires 2s after the last post
    )
    task = asyncio.create_task(notifier.run())
    try:
        now = datetime.now(UTC)
        event = live(EventKind.FIRING, now, now)
        notifier.enqueue([event], time.time())
        for _ in range(30):  # 3s: longer than the window, so only refreshes keep it alive
            notifier.refresh([event.alert], time.time())
            await asyncio.sleep(0.1)
        [alert] = await asyncio.to_thread(alertmanager.get, "/alerts")
        assert alert["status"]["state"] == "active"
        assert parse_time(alert["startsAt"]) <= now
        # No more refreshes: Alertmanager resolves it once endsAt passes.
        await until(lambda: notifications(hook, "resolved"), within=8.0)
        assert await asyncio.to_thread(alertmanager.get, "/alerts") == []
        assert len(notifications(hook, "firing")) == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def am_config(tmp: Path, fake: FakeRadar, *managers: Alertmanager) -> tuple[Path, int]:
    """A daemon config watching VICTIM with one rule, a channel per Alertmanager; its port."""
    port = free_port()
    victim = (
        f"{{prefix: {VICTIM}, origins: [64501], description: customer block,"
        " labels: {team: netops}}"
    )
    channels = [
        f'  - {{name: am{i or ""}, type: alertmanager, url: "{am.url}"}}'
        for i, am in enumerate(managers)
    ]
    text = daemon_yaml(
        fake.base_url,
        [victim],
        [UNEXPECTED_ORIGIN],
        source=FAST_POLLING,
        notifications=["group_wait: 0.3s", "channels:", *channels],
        port=port,
        state=tmp / "state.db",
    )
    return write_config(tmp, text), port


def start_replicas(
    daemons: list[DaemonProcess], tmp: Path, fake: FakeRadar, *managers: Alertmanager
) -> list[tuple[DaemonProcess, int]]:
    """Daemons `a` and `b`, each posting to every one of `managers`, started together and
    ready; with their HTTP ports."""
    replicas = []
    for name in ("a", "b"):
        config, port = am_config(tmp / name, fake, *managers)
        daemon = DaemonProcess(tmp / name, config).start()
        daemons.append(daemon)
        replicas.append((daemon, port))
    for daemon, _ in replicas:
        daemon.wait_ready()
    return replicas


def test_daemon_alert_appears_in_alertmanager_and_resolves(
    tmp_path: Path,
    fake: FakeRadar,
    alertmanager: Alertmanager,
    hook: Receiver,
    daemons: list[DaemonProcess],
) -> None:
    fake.set_prefix(VICTIM, VICTIM_ORIGINS, n_routes=300)
    config, _ = am_config(tmp_path / "daemon", fake, alertmanager)
    daemon = launch(daemons, tmp_path / "daemon", config)

    fake.set_prefix(VICTIM, HIJACK, n_routes=300)
    wait_for(lambda: alertmanager.get("/alerts"), what="the alert in Alertmanager")
    [alert] = alertmanager.get("/alerts")
    assert alert["labels"] == {
        "alertname": "unexpected-origin",
        "severity": "critical",
        "prefix": VICTIM,
        "origin": "666",
        "team": "netops",
    }
    assert alert["status"]["state"] == "active"
    assert alert["annotations"]["summary"].startswith(f"unexpected-origin {VICTIM} (AS666")
    assert "UNEXPECTED, RPKI invalid" in alert["annotations"]["description"]
    assert alert["annotations"]["bgp_tools"] == f"https://bgp.tools/prefix/{VICTIM}"
    assert parse_time(alert["endsAt"]) > datetime.now(UTC) + timedelta(seconds=120)
    wait_for(lambda: notifications(hook, "firing"), what="Alertmanager's firing notification")
    [firing] = notifications(hook, "firing")
    assert firing["commonLabels"]["prefix"] == VICTIM

    fake.set_prefix(VICTIM, VICTIM_ORIGINS, n_routes=300)
    wait_for(lambda: notifications(hook, "resolved"), what="Alertmanager's resolved notification")
    [resolved] = notifications(hook, "resolved")
    [gone] = resolved["alerts"]
    assert gone["status"] == "resolved"
    assert parse_time(gone["endsAt"]) <= datetime.now(UTC)
    assert alertmanager.get("/alerts") == []
    assert daemon.stop() == 0
    assert "Unclosed" not in daemon.log  # the notifier's HTTP session was closed


def test_two_replicas_make_one_group_and_one_notification(
    tmp_path: Path,
    fake: FakeRadar,
    alertmanager: Alertmanager,
    hook: Receiver,
    daemons: list[DaemonProcess],
) -> None:
    fake.set_prefix(VICTIM, VICTIM_ORIGINS, n_routes=300)
    replicas = start_replicas(daemons, tmp_path, fake, alertmanager)

    fake.set_prefix(VICTIM, HIJACK, n_routes=300)
    success = 'radar_monitor_notifications_total{channel="am",outcome="success"}'
    for _, port in replicas:
        wait_for(functools.partial(metric, port, success), what="both replicas posting")
    time.sleep(AM_SETTLE)  # group_wait, then a group_interval in which a duplicate would go
    [group] = alertmanager.get("/alerts/groups")
    assert group["labels"] == {"alertname": "unexpected-origin", "prefix": VICTIM}
    assert len(group["alerts"]) == 1
    assert len(notifications(hook, "firing")) == 1

    fake.set_prefix(VICTIM, VICTIM_ORIGINS, n_routes=300)
    wait_for(lambda: notifications(hook, "resolved"), what="the resolved notification")
    for _, port in replicas:
        wait_for(functools.partial(posted_twice, port, success), what="both resolving")
    time.sleep(AM_SETTLE)
    assert len(notifications(hook, "resolved")) == 1
    assert len(notifications(hook, "firing")) == 1
    for daemon, _ in replicas:
        assert daemon.stop() == 0


def test_replicas_sending_to_every_peer_of_a_cluster_get_one_notification(
    tmp_path: Path,
    fake: FakeRadar,
    hook: Receiver,
    daemons: list[DaemonProcess],
) -> None:
    """The production layout: each replica posts to each Alertmanager; gossip deduplicates."""
    binary = require_tool("prometheus-alertmanager")
    gossip = [free_port(), free_port()]
    managers: list[Alertmanager] = []
    try:
        for i, port in enumerate(gossip):
            flags = [
                f"--cluster.listen-address=127.0.0.1:{port}",
                f"--cluster.peer=127.0.0.1:{gossip[1 - i]}",
                "--cluster.peer-timeout=1s",  # the second peer sends only if the first did not
                "--cluster.gossip-interval=50ms",  # it settles after 3 polls of 10 intervals
            ]
            managers.append(Alertmanager(binary, tmp_path / f"am{i}", hook, flags))
        fake.set_prefix(VICTIM, VICTIM_ORIGINS, n_routes=300)
        replicas = start_replicas(daemons, tmp_path, fake, *managers)
        wait_for(
            lambda: all(
                am.get("/status")["cluster"]["status"] == "ready"
                and len(am.get("/status")["cluster"]["peers"]) == 2
                for am in managers
            ),
            what="the Alertmanagers to form a settled cluster",
        )

        fake.set_prefix(VICTIM, HIJACK, n_routes=300)
        for _, port in replicas:
            for channel in ("am", "am1"):
                series = (
                    f'radar_monitor_notifications_total{{channel="{channel}",outcome="success"}}'
                )
                wait_for(functools.partial(metric, port, series), what="every replica posting")
        time.sleep(AM_SETTLE + 1.0)  # and the second peer's wait
        for am in managers:
            assert len(am.get("/alerts")) == 1
        assert len(notifications(hook, "firing")) == 1
        for daemon, _ in replicas:
            assert daemon.stop() == 0
    finally:
        for am in managers:
            am.stop()
