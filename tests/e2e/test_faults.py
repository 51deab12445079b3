"""Fault suite: the real daemon keeps watching, shows the fault, never resolves on missing data,
and recovers by itself. Every fault runs against real fake servers on loopback."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from testkit.config import ANY_UNEXPECTED_ORIGIN, daemon_yaml, write_config
from testkit.daemon import (
    TOKEN,
    URL_PASSWORD,
    DaemonProcess,
    alerts,
    http_get,
    launch,
    metric,
    texts,
)
from testkit.fakeradar import FakeRadar
from testkit.receivers import LoopThread, Receiver, free_port
from testkit.waiting import wait_for
from tests.incidents import CLEAN_HIJACKED, CLEAN_ORIGINS

HEALTHY = ("192.0.2.0/24", "2001:db8::/32")
#: One watched prefix per Radar fault, so they all run at once beside the healthy ones.
FAULTY = {
    "500": "198.51.100.0/24",
    "502_html": "198.51.101.0/24",
    "timeout": "198.51.102.0/24",
    "trickle": "198.51.103.0/24",
    "success_false": "198.51.104.0/24",
    "truncated": "198.51.105.0/24",
    "wrong_types": "198.51.106.0/24",
    "huge": "198.51.107.0/24",
    "huge_chunked": "198.51.108.0/24",
    "drop": "198.51.109.0/24",
    "other_prefix": "198.51.110.0/24",
    "deep_json": "198.51.111.0/24",
    "bad_timestamp": "198.51.112.0/24",
}
#: What the log says for each fault (the client's error message).
LOGGED = {
    "500": "HTTP 500",
    "502_html": "HTML error page",
    "timeout": "no complete answer within",
    "trickle": "no complete answer within",
    "success_false": "2001",
    "truncated": "not JSON",
    "wrong_types": "unexpected shape",
    "huge": "cap",
    "huge_chunked": "cap",
    "drop": "connection failed",
    "other_prefix": "the answer is for 203.0.113.0/24, not for 198.51.110.0/24",
    "deep_json": "nested deeper than any realtime answer",
    "bad_timestamp": "not an ISO 8601 timestamp in the years 1 to 9999",
}
INTERVAL = 3.0


@pytest.fixture(autouse=True)
def scenario(fake: FakeRadar) -> None:
    """A timeout outlives the client's 1.5 s deadline; a trickle sends 5 bytes a second."""
    fake.delay, fake.trickle_interval = 30.0, 0.2
    for prefix in HEALTHY:
        fake.set_prefix(prefix, CLEAN_ORIGINS, n_routes=200)


def config(
    tmp: Path, base_url: str, port: int, prefixes: list[str], channels: list[str], **source: str
) -> Path:
    """`prefixes` watched for AS64500 with one rule, notifying `channels`."""
    settings = {
        "interval": f"{INTERVAL}s",
        "timeout": "1.5s",
        "retries": "1",
        "max_failures": "2",
        "concurrency": "8",
    }
    settings.update(source)
    text = daemon_yaml(
        base_url,
        [f"{{prefix: '{p}', origins: [64500]}}" for p in prefixes],
        [ANY_UNEXPECTED_ORIGIN],
        source=settings,
        notifications=["group_wait: 0.2s", "channels:", *channels],
        port=port,
        state=tmp / "state.db",
    )
    return write_config(tmp, text)


def pager(receiver: Receiver) -> list[str]:
    return [f'  - {{name: pager, url: "{receiver.url("pager", f"ops:{URL_PASSWORD}")}"}}']


def firing(port: int) -> set[tuple[str, str | None]]:
    return {
        (a["finding"]["rule"], a["finding"]["prefix"])
        for a in alerts(port)
        if a["state"] == "firing"
    }


def polled_on_time(fake: FakeRadar, prefix: str, since: float, slack: float = 1.5) -> None:
    times = [r.at for r in fake.requests if r.prefix == prefix and r.at >= since]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) >= 3, f"{prefix} was polled {len(times)} times"
    assert max(gaps) <= INTERVAL * slack, f"{prefix} waited {max(gaps):.1f}s between polls"


def peak_rss_mib(daemon: DaemonProcess) -> float:
    assert daemon.proc is not None
    status = Path(f"/proc/{daemon.proc.pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def test_radar_faults_freeze_alerts_and_the_daemon_recovers(
    tmp_path: Path, fake: FakeRadar, receiver: Receiver, daemons: list[DaemonProcess]
) -> None:
    for prefix in FAULTY.values():
        fake.set_prefix(prefix, CLEAN_HIJACKED, n_routes=200)
    port = free_port()
    # 15 prefixes every 3 s need more than the default budget's 3.3 requests a second.
    watched = [*HEALTHY, *FAULTY.values()]
    path = config(tmp_path, fake.base_url, port, watched, pager(receiver), budget="2000")
    daemon = launch(daemons, tmp_path, path)
    hijacks = {("unexpected-origin", p) for p in FAULTY.values()}
    wait_for(lambda: hijacks <= firing(port), what="every hijack to fire")

    started = time.monotonic()
    for fault, prefix in FAULTY.items():
        fake.set_fault(fault, prefix=prefix)  # type: ignore[arg-type]
    unreachable = {("source-unreachable", p) for p in FAULTY.values()}
    wait_for(lambda: unreachable <= firing(port), within=40, what="source-unreachable everywhere")
    time.sleep(INTERVAL)

    # The data went missing, the hijacks did not end: nothing resolved, nothing sent as such.
    assert hijacks <= firing(port)
    assert not any("RESOLVED" in t for t in texts(receiver, "pager"))
    for fault, prefix in FAULTY.items():
        failures = metric(port, f'radar_monitor_prefix_fetch_failures{{prefix="{prefix}"}}')
        assert failures is not None and failures >= 2, fault
        assert f"{prefix}: fetch failed" in daemon.log and LOGGED[fault] in daemon.log, fault
    for outcome in ("transient", "api", "bad_answer", "too_large"):
        assert (metric(port, f'radar_monitor_api_requests_total{{outcome="{outcome}"}}') or 0) > 0
    for prefix in HEALTHY:
        polled_on_time(fake, prefix, started)
    # 1 GiB bodies were refused at the 32 MiB cap: memory stayed far below their size.
    assert peak_rss_mib(daemon) < 400
    assert "Traceback" not in daemon.log  # every fault is a clear message, none a crash

    fake.clear_faults()
    for prefix in FAULTY.values():
        fake.set_prefix(prefix, CLEAN_ORIGINS, n_routes=200)
    wait_for(lambda: firing(port) == set(), within=40, what="everything to resolve from data")

    def resolved_pages() -> str:
        return "".join(t for t in texts(receiver, "pager") if "RESOLVED" in t)

    wait_for(lambda: all(p in resolved_pages() for p in FAULTY.values()), what="RESOLVED pages")
    assert metric(port, f'radar_monitor_prefix_fetch_failures{{prefix="{FAULTY["500"]}"}}') == 0
    assert daemon.stop() == 0


def test_429_storm_is_obeyed_and_the_budget_never_exceeded(
    tmp_path: Path, fake: FakeRadar, receiver: Receiver, daemons: list[DaemonProcess]
) -> None:
    fake.retry_after = 2
    port = free_port()
    # Three prefixes every second want 30 requests per 10 s; the budget allows 20.
    prefixes = [*HEALTHY, "203.0.113.0/24"]
    fake.set_prefix(prefixes[2], CLEAN_ORIGINS, n_routes=200)
    path = config(
        tmp_path,
        fake.base_url,
        port,
        prefixes,
        pager(receiver),
        interval="1s",
        budget="20",
        budget_window="10s",
        retries="3",
    )
    daemon = launch(daemons, tmp_path, path)
    assert "more than is left: stretched to every" in daemon.log
    storm_start = len(fake.requests)
    fake.set_fault("429", count=4)
    time.sleep(14)
    storm = fake.requests[storm_start:]
    # The fault answers the next four requests with 429. A request already on the wire when
    # a 429 went out (within 0.1 s) is fine; one started after it, before Retry-After, is not.
    for limited in storm[:4]:
        early = [r for r in storm if limited.at + 0.1 < r.at < limited.at + 2 - 0.05]
        assert not early, f"{len(early)} requests before Retry-After expired"
    starts = [r.at for r in fake.requests]
    worst = max(sum(1 for t in starts if s <= t < s + 10) for s in starts)
    assert worst <= 20, f"{worst} requests within 10 s"
    assert (metric(port, 'radar_monitor_api_requests_total{outcome="rate_limited"}') or 0) == 4
    wait_for(
        lambda: all(
            (metric(port, f'radar_monitor_prefix_fetch_failures{{prefix="{p}"}}') == 0)
            for p in prefixes
        ),
        what="recovery after the storm",
    )
    assert daemon.stop() == 0


def test_authentication_failure_mid_run_alerts_and_recovers(
    tmp_path: Path, fake: FakeRadar, receiver: Receiver, daemons: list[DaemonProcess]
) -> None:
    victim = FAULTY["500"]
    fake.set_prefix(victim, CLEAN_HIJACKED, n_routes=200)
    port = free_port()
    daemon = launch(
        daemons,
        tmp_path,
        config(tmp_path, fake.base_url, port, [HEALTHY[0], victim], pager(receiver)),
    )
    wait_for(lambda: ("unexpected-origin", victim) in firing(port), what="the hijack")

    fake.token = "a-token-that-was-revoked"
    wait_for(lambda: ("source-auth", None) in firing(port), what="the source-auth alert")
    wait_for(lambda: any("source-auth" in t for t in texts(receiver, "pager")), what="its page")
    assert ("unexpected-origin", victim) in firing(port)
    assert "Radar rejected the API token" in daemon.log
    assert (metric(port, 'radar_monitor_api_requests_total{outcome="auth"}') or 0) > 0

    fake.token = TOKEN
    wait_for(lambda: ("source-auth", None) not in firing(port), what="source-auth to resolve")
    assert ("unexpected-origin", victim) in firing(port)
    assert daemon.stop() == 0


def test_connection_refused_until_radar_comes_up(
    tmp_path: Path, receiver: Receiver, daemons: list[DaemonProcess]
) -> None:
    radar_port, port = free_port(), free_port()
    base_url = f"http://127.0.0.1:{radar_port}/client/v4"
    daemon = launch(
        daemons, tmp_path, config(tmp_path, base_url, port, [HEALTHY[0]], pager(receiver))
    )
    wait_for(
        lambda: ("source-unreachable", HEALTHY[0]) in firing(port), within=30, what="unreachable"
    )
    assert "connection failed" in daemon.log
    assert "no fresh data" in _readyz(port) or "no cycle" in _readyz(port)
    with FakeRadar(token=TOKEN, port=radar_port) as fake:
        fake.set_prefix(HEALTHY[0], CLEAN_ORIGINS, n_routes=200)
        wait_for(lambda: firing(port) == set(), within=30, what="recovery")
        wait_for(
            lambda: any(
                "RESOLVED" in t and "source-unreachable" in t for t in texts(receiver, "pager")
            ),
            what="the RESOLVED page",
        )
        assert daemon.stop() == 0


def _readyz(port: int) -> str:
    return http_get(port, "/readyz")[1]


def test_failing_and_hanging_channels_delay_nothing_and_deliver_once(
    tmp_path: Path,
    fake: FakeRadar,
    receiver: Receiver,
    loop: LoopThread,
    daemons: list[DaemonProcess],
) -> None:
    victim = FAULTY["500"]
    receiver.statuses["broken"] = [500] * 10_000
    receiver.hang.add("hung")
    channels = [
        f'  - {{name: {name}, url: "{receiver.url(name)}"}}' for name in ("good", "broken", "hung")
    ]
    port = free_port()
    path = config(tmp_path, fake.base_url, port, [HEALTHY[0], victim], channels)
    first = launch(daemons, tmp_path, path)
    started = time.monotonic()
    fake.set_prefix(victim, CLEAN_HIJACKED, n_routes=200)
    wait_for(lambda: receiver.at("good"), what="the healthy channel")
    assert receiver.at("good")[0].at - started < INTERVAL + 2  # not held up by the others
    wait_for(
        lambda: len(receiver.at("broken")) >= 2, within=30, what="retries of the broken channel"
    )
    assert receiver.at("hung")
    time.sleep(INTERVAL)  # a few polls while one channel fails and another hangs
    polled_on_time(fake, HEALTHY[0], started)
    assert metric(port, "radar_monitor_notification_queue_length") == 2
    assert first.stop() == 0  # mid-outage: the outbox keeps both messages

    receiver.statuses["broken"] = []
    receiver.hang.discard("hung")
    loop.loop.call_soon_threadsafe(receiver.release.set)
    broken_before = len(receiver.at("broken"))
    second = launch(daemons, tmp_path, path)
    wait_for(
        lambda: metric(port, "radar_monitor_notification_queue_length") == 0,
        within=60,
        what="the outbox to drain after the outage",
    )
    time.sleep(2)
    assert len(receiver.at("good")) == 1  # the restart sent nothing twice
    assert len(receiver.at("broken")) == broken_before + 1  # one success after the outage
    assert receiver.at("hung")[-1].doc["title"].startswith("[CRITICAL] FIRING")
    assert second.stop() == 0
