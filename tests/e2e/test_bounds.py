"""One hostile answer with thousands of origins: the real daemon stays small and responsive."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from testkit.answers import OriginSpec
from testkit.config import (
    FAST_POLLING,
    RPKI_INVALID,
    UNEXPECTED_ORIGIN,
    daemon_yaml,
    webhook,
    write_config,
)
from testkit.daemon import DaemonProcess, alerts, http_get, launch, metric
from testkit.fakeradar import FakeRadar
from testkit.receivers import Receiver, free_port
from testkit.waiting import wait_for

PREFIX = "192.0.2.0/24"
#: 3,000 origins (a 300 KB body) passed 4 GiB in seconds before evidence was bounded.
ORIGINS = 3_000
#: The judged origins (monitor.core.bounds.MAX_ORIGINS): the expected one and 199 others.
JUDGED = 200


def vm_hwm_mib(daemon: DaemonProcess) -> float:
    """The daemon's peak resident memory."""
    status = Path(f"/proc/{daemon.pid}/status").read_text()
    return int(next(x for x in status.splitlines() if x.startswith("VmHWM:")).split()[1]) / 1024


def test_thousands_of_origins_stay_bounded_in_memory_database_and_lag(
    tmp_path: Path, fake: FakeRadar, receiver: Receiver, daemons: list[DaemonProcess]
) -> None:
    crowd = [OriginSpec(64500, visible=900, total=1000)]
    crowd += [OriginSpec(100_000 + i, rpki="invalid", visible=1 + i % 50) for i in range(ORIGINS)]
    fake.set_prefix(PREFIX, crowd, n_routes=ORIGINS)
    port = free_port()
    text = daemon_yaml(
        fake.base_url,
        [f"{{prefix: {PREFIX}, origins: [64500]}}"],
        [RPKI_INVALID, UNEXPECTED_ORIGIN],
        source=FAST_POLLING,
        notifications=webhook(receiver.url("h")),
        port=port,
        state=tmp_path / "state.db",
    )
    daemon = launch(daemons, tmp_path, write_config(tmp_path, text))
    wait_for(lambda: len(alerts(port)) == 2 * (JUDGED - 1), within=60, what="the alerts")
    time.sleep(5)  # several more polls of the same crowded answer

    assert len(alerts(port)) == 2 * (JUDGED - 1)
    assert "only the 200 most visible are judged" in daemon.log
    warned = [x for x in daemon.log.splitlines() if "WARNING" in x and "most visible" in x]
    assert len(warned) == 1  # said once, not every poll
    wait_for(lambda: receiver.at("h"), what="the notification")
    assert "398 alerts: 398 firing" in receiver.at("h")[0].doc["message"]
    # Linear, small: before, 500 origins gave a 141 MB database after 20 s.
    database = sum(p.stat().st_size for p in tmp_path.glob("state.db*"))
    assert database < 20 * 2**20, f"state database {database / 2**20:.1f} MiB"
    assert vm_hwm_mib(daemon) < 300
    # The loop stayed responsive: no lag probe reached a second (the benchmark measures finer).
    over = metric(port, 'radar_monitor_event_loop_lag_seconds_bucket{le="1.0"}')
    total = metric(port, "radar_monitor_event_loop_lag_seconds_count")
    assert over is not None and over == total
    assert http_get(port, "/healthz")[0] == 200
    assert daemon.stop() == 0


def test_collector_names_that_keep_changing_stay_capped(
    tmp_path: Path, fake: FakeRadar, daemons: list[DaemonProcess]
) -> None:
    port = free_port()
    text = daemon_yaml(
        fake.base_url,
        [f"{{prefix: {PREFIX}, origins: [64500]}}"],
        ["{name: stale, type: stale_collector, max_age: 30m, severity: warning}"],
        source={**FAST_POLLING, "max_collectors": 300},
        port=port,
        state=tmp_path / "state.db",
    )
    daemon = launch(daemons, tmp_path, write_config(tmp_path, text))
    for batch in range(6):  # 200 new stale collector names per answer, as in the attack
        ages = {f"x{batch}-{i}": timedelta(hours=2) for i in range(200)}
        fake.set_prefix(PREFIX, [OriginSpec(64500)], n_collectors=200, collector_age=ages)
        before = len(fake.requests)
        wait_for(lambda: len(fake.requests) > before + 1, what="the answer to be polled")  # noqa: B023
    # 300 tracked: the 50 fresh ones of the first answer, then 250 stale names, then no more.
    series = http_get(port, "/metrics")[1].count("radar_monitor_collector_peers{")
    assert series == 3 * 300
    assert len(alerts(port)) == 250
    assert "tracking the limit of 300 collectors" in daemon.log
    assert daemon.stop() == 0
