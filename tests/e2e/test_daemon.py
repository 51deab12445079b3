"""End to end: the real daemon process against the fake Radar, real Apprise sends, real SMTP."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from testkit.answers import OriginSpec
from testkit.config import (
    FAST_POLLING,
    LOW_VISIBILITY,
    RPKI_INVALID,
    UNEXPECTED_ORIGIN,
    daemon_yaml,
    write_config,
)
from testkit.daemon import (
    TOKEN,
    URL_PASSWORD,
    DaemonProcess,
    alerts,
    http_get,
    launch,
    mails,
    metric,
    texts,
)
from testkit.fakeradar import FakeRadar
from testkit.receivers import LoopThread, Receiver, SmtpServer, free_port
from testkit.waiting import wait_for
from tests.incidents import CLEAN, CLEAN_ORIGINS, HIJACK, VICTIM, VICTIM_ORIGINS
from tests.tools import require_tool


@pytest.fixture(autouse=True)
def clean_radar(fake: FakeRadar) -> None:
    fake.clear_faults()
    fake.set_prefix(CLEAN, CLEAN_ORIGINS, n_routes=300)
    fake.set_prefix(VICTIM, VICTIM_ORIGINS, n_routes=300)


def daemon_config(
    tmp: Path, fake: FakeRadar, port: int, receiver: Receiver, smtp: SmtpServer
) -> Path:
    """Both prefixes, three rules; critical alerts to the pager receiver, warnings by mail."""
    pager = receiver.url("pager", f"ops:{URL_PASSWORD}")
    text = daemon_yaml(
        fake.base_url,
        [
            f"{{prefix: {CLEAN}, origins: [64500], description: clean block}}",
            f"{{prefix: {VICTIM}, origins: [64501], description: customer block}}",
        ],
        [RPKI_INVALID, UNEXPECTED_ORIGIN, LOW_VISIBILITY],
        source={**FAST_POLLING, "max_failures": 2},
        notifications=[
            "repeat_interval: 1h",
            "group_wait: 0.3s",
            "channels:",
            f'  - {{name: pager, url: "{pager}", severities: [critical]}}',
            f'  - {{name: mail, url: "{smtp.url()}", severities: [warning]}}',
        ],
        port=port,
        state=tmp / "state.db",
    )
    return write_config(tmp, text)


def test_hijack_fires_routes_by_severity_survives_source_errors_and_resolves(
    tmp_path: Path,
    fake: FakeRadar,
    receiver: Receiver,
    smtp: SmtpServer,
    loop: LoopThread,
    daemons: list[DaemonProcess],
) -> None:
    loop.run(smtp.start())
    port = free_port()
    daemon = launch(daemons, tmp_path, daemon_config(tmp_path, fake, port, receiver, smtp))
    assert alerts(port) == []

    fake.set_prefix(VICTIM, HIJACK, n_routes=300)
    wait_for(lambda: receiver.at("pager"), what="the pager message")
    [page] = texts(receiver, "pager")
    assert "unexpected-origin" in page and "rpki-invalid" in page and VICTIM in page
    assert "AS666" in page and "customer block" in page
    assert "low-visibility" not in page  # a warning: not for the pager
    wait_for(lambda: smtp.mailbox.messages, what="the low-visibility mail")
    assert "low-visibility" in mails(smtp)[0] and "unexpected-origin" not in mails(smtp)[0]

    time.sleep(3)  # three more cycles, still hijacked: no repeat inside repeat_interval
    assert len(receiver.at("pager")) == 1

    fake.set_fault("500", prefix=VICTIM)
    wait_for(
        lambda: any("source-unreachable" in m for m in mails(smtp)),
        within=30,
        what="the source-unreachable mail",
    )
    firing = {(a["finding"]["rule"], a["state"]) for a in alerts(port)}
    assert ("unexpected-origin", "firing") in firing  # no data is not "resolved"
    assert len(receiver.at("pager")) == 1
    assert (metric(port, f'radar_monitor_prefix_fetch_failures{{prefix="{VICTIM}"}}') or 0) >= 2

    fake.clear_faults()
    fake.set_prefix(VICTIM, VICTIM_ORIGINS, n_routes=300)
    wait_for(lambda: len(receiver.at("pager")) == 2, what="the RESOLVED page")
    resolved = texts(receiver, "pager")[1]
    assert "RESOLVED" in resolved and "unexpected-origin" in resolved
    wait_for(lambda: alerts(port) == [], what="no alerts left")
    assert daemon.stop() == 0
    assert TOKEN not in daemon.log


def test_restart_while_firing_sends_no_duplicate(
    tmp_path: Path,
    fake: FakeRadar,
    receiver: Receiver,
    smtp: SmtpServer,
    loop: LoopThread,
    daemons: list[DaemonProcess],
) -> None:
    loop.run(smtp.start())
    fake.set_prefix(VICTIM, HIJACK, n_routes=300)
    port = free_port()
    config = daemon_config(tmp_path, fake, port, receiver, smtp)
    first = launch(daemons, tmp_path, config)
    wait_for(lambda: receiver.at("pager"), what="the first page")
    fired = {a["finding"]["rule"]: a["fired_at"] for a in alerts(port)}
    assert first.stop() == 0

    second = launch(daemons, tmp_path, config)
    time.sleep(3)
    assert len(receiver.at("pager")) == 1
    assert {a["finding"]["rule"]: a["fired_at"] for a in alerts(port)} == fired
    assert second.stop() == 0


def test_sighup_reload_keeps_old_config_on_error_and_applies_a_good_one(
    tmp_path: Path,
    fake: FakeRadar,
    receiver: Receiver,
    smtp: SmtpServer,
    daemons: list[DaemonProcess],
) -> None:
    port = free_port()
    config = daemon_config(tmp_path, fake, port, receiver, smtp)
    good = config.read_text()
    daemon = launch(daemons, tmp_path, config)
    assert metric(port, "radar_monitor_config_last_reload_successful") == 1

    config.write_text(good.replace("threshold: 0.8", "threshold: 1.5"))
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: "reload rejected" in daemon.log, what="the reload error")
    assert "rules[2] (low-visibility).threshold: must be between 0 and 1, got 1.5" in daemon.log
    assert metric(port, "radar_monitor_config_last_reload_successful") == 0
    before = len(fake.requests)
    wait_for(lambda: len(fake.requests) >= before + 4, what="polling to go on")

    reloading = daemon.notify.having("RELOADING")
    assert reloading and int(reloading[0]["MONOTONIC_USEC"]) > 0
    index = daemon.notify.messages.index(reloading[0])
    assert any("READY" in m for m in daemon.notify.messages[index + 1 :])

    extra = "  - {prefix: 203.0.113.0/24, origins: [64502]}"
    config.write_text(good.replace("rules:\n", f"{extra}\nrules:\n", 1))
    daemon.signal(signal.SIGHUP)
    wait_for(
        lambda: metric(
            port, 'radar_monitor_prefix_last_success_timestamp_seconds{prefix="203.0.113.0/24"}'
        ),
        what="the new prefix to be polled",
    )
    assert metric(port, "radar_monitor_config_last_reload_successful") == 1
    assert len(daemon.notify.having("RELOADING")) == 2
    assert daemon.stop() == 0


def test_metrics_pass_promtool_and_watchdog_and_status_reach_systemd(
    tmp_path: Path,
    fake: FakeRadar,
    receiver: Receiver,
    smtp: SmtpServer,
    loop: LoopThread,
    daemons: list[DaemonProcess],
) -> None:
    promtool = require_tool("promtool")
    loop.run(smtp.start())  # the warning mail leaves at once: a refused one fails /readyz
    fake.set_prefix(VICTIM, HIJACK, n_routes=300)
    port = free_port()
    daemon = launch(
        daemons,
        tmp_path,
        daemon_config(tmp_path, fake, port, receiver, smtp),
        WATCHDOG_USEC="1000000",
    )
    wait_for(lambda: metric(port, "radar_monitor_alert_active") is not None, what="alert series")
    status, body = http_get(port, "/metrics")
    assert status == 200
    lint = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, text=True
    )
    assert lint.returncode == 0 and lint.stdout + lint.stderr == "", lint.stdout + lint.stderr
    assert (
        f'radar_monitor_prefix_rpki_status{{origin="666",prefix="{VICTIM}",status="invalid"}} 1.0'
        in body
    )
    assert http_get(port, "/readyz")[0] == 200
    assert http_get(port, "/healthz")[0] == 200
    wait_for(lambda: len(daemon.notify.having("WATCHDOG")) >= 2, what="WATCHDOG=1 pings")
    status_lines = [m["STATUS"] for m in daemon.notify.having("STATUS")]
    assert any("watching 2 prefixes" in s and "firing" in s for s in status_lines)
    assert daemon.stop() == 0
    assert daemon.notify.having("STOPPING")


def test_outbox_delivers_after_smtp_returns_even_across_a_restart(
    tmp_path: Path,
    fake: FakeRadar,
    receiver: Receiver,
    smtp: SmtpServer,
    loop: LoopThread,
    daemons: list[DaemonProcess],
) -> None:
    # The SMTP server is down from the start: connection refused.
    fake.set_prefix(VICTIM, [OriginSpec(64501, ratio=0.5)], n_routes=300)
    port = free_port()
    config = daemon_config(tmp_path, fake, port, receiver, smtp)
    first = launch(daemons, tmp_path, config)
    wait_for(
        lambda: (
            (
                metric(port, 'radar_monitor_notifications_total{channel="mail",outcome="failure"}')
                or 0
            )
            >= 1
        ),
        what="a failed mail",
    )
    assert metric(port, "radar_monitor_notification_queue_length") == 1
    assert first.stop() == 0  # the outage outlives this process

    loop.run(smtp.start())
    second = launch(daemons, tmp_path, config)
    wait_for(lambda: smtp.mailbox.messages, within=60, what="the mail after the outage")
    time.sleep(2)
    assert len(smtp.mailbox.messages) == 1
    assert "low-visibility" in mails(smtp)[0] and VICTIM in mails(smtp)[0]
    wait_for(
        lambda: metric(port, "radar_monitor_notification_queue_length") == 0, what="empty outbox"
    )
    assert second.stop() == 0


def test_a_failing_channel_shows_in_metrics_status_page_and_readyz(
    tmp_path: Path,
    fake: FakeRadar,
    receiver: Receiver,
    smtp: SmtpServer,
    loop: LoopThread,
    daemons: list[DaemonProcess],
) -> None:
    loop.run(smtp.start())
    receiver.statuses["pager"] = [500]  # the pager's webhook refuses the first attempt
    port = free_port()
    daemon = launch(daemons, tmp_path, daemon_config(tmp_path, fake, port, receiver, smtp))
    assert http_get(port, "/readyz")[0] == 200

    fake.set_prefix(VICTIM, HIJACK, n_routes=300)
    wait_for(lambda: http_get(port, "/readyz")[0] == 503, what="/readyz failing")
    why = http_get(port, "/readyz")[1]
    assert "channel pager is failing" in why
    assert metric(port, 'radar_monitor_channel_failing{channel="pager"}') == 1
    assert metric(port, 'radar_monitor_channel_failing{channel="mail"}') == 0
    failures = metric(port, 'radar_monitor_notifications_total{channel="pager",outcome="failure"}')
    assert (failures or 0) >= 1
    page = http_get(port, "/")[1]
    assert "Channel pager is failing" in page and "notifications queued since" in page
    assert URL_PASSWORD not in page and URL_PASSWORD not in why

    # The webhook comes back: the queued alert is delivered and everything clears.
    wait_for(lambda: http_get(port, "/readyz")[0] == 200, within=60, what="/readyz ready")
    assert metric(port, 'radar_monitor_channel_failing{channel="pager"}') == 0
    # Both alerts of the hijack were retried together, as the one message they began as.
    last = texts(receiver, "pager")[-1]
    assert "unexpected-origin" in last and "rpki-invalid" in last
    assert "is failing" not in http_get(port, "/")[1]
    assert daemon.stop() == 0
