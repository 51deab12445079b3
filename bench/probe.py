"""Looking at the running daemon from outside, as the benchmarks do while it runs.

Its resident memory and the machine's CPU from /proc, its /metrics scraped and parsed into a
`Sample`, its alerts and data ages from the API, and stopping it.
"""

from __future__ import annotations

import collections
import gzip
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testkit.daemon import DaemonProcess
from testkit.fakeradar import FakeRadar

LAG_METRIC = "radar_monitor_event_loop_lag_seconds"
REQUESTS_METRIC = "radar_monitor_api_requests_total"
LAST_SUCCESS_METRIC = "radar_monitor_prefix_last_success_timestamp_seconds"
#: Set by bench_load's --no-gzip: scrape without Accept-Encoding: gzip.
SCRAPE_GZIP = True


@dataclass
class Sample:
    """What one look at the daemon found (`at` is `time.monotonic()`)."""

    at: float
    rss: float  # bytes, from /proc
    scraped: bool = False
    scrape_error: str = ""  # why /metrics could not be read, if it was tried and failed
    scrape_seconds: float = 0.0
    scrape_read_seconds: float = 0.0  # until the last byte, before decompressing
    scrape_bytes: int = 0
    scrape_wire_bytes: int = 0  # as sent: gzipped when the daemon gzips
    scrape_series: int = 0
    lag_buckets: dict[float, float] = field(default_factory=dict)
    lag_sum: float = 0.0
    requests: dict[str, float] = field(default_factory=dict)
    cpu: float = 0.0
    fake_requests: int = 0
    bench_cpu: float = 0.0
    faults: int = 0  # random faults drawn by the fake so far
    skipped_slots: int = 0  # "previous poll still running" in the daemon log so far
    failed_polls: int = 0  # "fetch failed" (after the retries) in the daemon log so far
    machine_busy: float = 0.0  # CPU seconds of every process on the machine so far


def rss_bytes(pid: int) -> float:
    """VmRSS of `pid` in bytes (0 if the process is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1]) * 1024
    return 0.0


def machine_busy_seconds() -> float:
    """CPU seconds all processes have used since boot (the non-idle fields of /proc/stat)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def scrape(port: int) -> tuple[str, float, float, int]:
    """The /metrics text, how long the GET took (read and decoded; read alone) and the bytes on
    the wire.

    It asks for gzip, as Prometheus does with every scrape (`SCRAPE_GZIP`).
    """
    headers = {"Accept-Encoding": "gzip"} if SCRAPE_GZIP else {}
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers=headers)
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=30) as resp:
        body: bytes = resp.read()
        read = time.monotonic() - started
        if resp.headers.get("Content-Encoding") == "gzip":
            wire, body = len(body), gzip.decompress(body)
        else:
            wire = len(body)
    text = body.decode()
    return text, time.monotonic() - started, read, wire


def label(line: str, name: str) -> str:
    """The value of label `name` in one exposition line."""
    start = line.index(f'{name}="') + len(name) + 2
    return line[start : line.index('"', start)]


def value(line: str) -> float:
    """The sample value of one exposition line."""
    return float(line.rsplit(" ", 1)[1])


def take_sample(daemon: DaemonProcess, port: int, fake: FakeRadar, with_scrape: bool) -> Sample:
    """RSS always; the loop-lag histogram, request counters and CPU when `with_scrape`."""
    sample = Sample(
        time.monotonic(),
        rss_bytes(daemon.pid),
        fake_requests=len(fake.requests),
        bench_cpu=time.process_time(),
    )
    if not with_scrape:
        return sample
    log = daemon.log
    sample.skipped_slots = log.count("previous poll still running")
    sample.failed_polls = log.count("fetch failed")
    sample.faults = len(fake.random_fault_log)
    sample.machine_busy = machine_busy_seconds()
    try:
        text, seconds, read, wire = scrape(port)
    except OSError as exc:  # refused, reset or timed out: a daemon too busy to answer
        sample.scrape_error = str(exc) or type(exc).__name__
        return sample
    sample.scraped, sample.scrape_seconds, sample.scrape_bytes = True, seconds, len(text)
    sample.scrape_read_seconds = read
    sample.scrape_wire_bytes = wire
    sample.scrape_series = sum(1 for line in text.splitlines() if line and line[0] != "#")
    for line in text.splitlines():
        if line.startswith(f"{LAG_METRIC}_bucket"):
            le = label(line, "le")
            sample.lag_buckets[float("inf") if le == "+Inf" else float(le)] = value(line)
        elif line.startswith(f"{LAG_METRIC}_sum"):
            sample.lag_sum = value(line)
        elif line.startswith(f"{REQUESTS_METRIC}{{"):
            sample.requests[label(line, "outcome")] = value(line)
        elif line.startswith("process_cpu_seconds_total"):
            sample.cpu = value(line)
    return sample


def last_successes(port: int) -> dict[str, float]:
    """Per prefix, the Unix time of its last successful fetch (empty if /metrics fails)."""
    try:
        text, _, _, _ = scrape(port)
    except OSError:
        return {}
    return {
        label(line, "prefix"): value(line)
        for line in text.splitlines()
        if line.startswith(f"{LAST_SUCCESS_METRIC}{{")
    }


def alert_states(port: int) -> collections.Counter[str]:
    """Active alerts by `rule state` (`unreadable` if the API fails)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/alerts", timeout=30) as resp:
            doc = json.loads(resp.read())
    except OSError as exc:
        return collections.Counter({f"unreadable ({exc})": 1})
    return collections.Counter(f"{a['finding']['rule']} {a['state']}" for a in doc["alerts"])


def stop(daemon: DaemonProcess, within: float = 60.0) -> str:
    """SIGTERM the daemon and wait; what happened, in words (SIGKILL after `within`)."""
    started = time.monotonic()
    try:
        code = daemon.stop(timeout=within)
    except subprocess.TimeoutExpired:
        daemon.kill()
        return f"daemon ignored SIGTERM for {within:g}s (event loop starved?): killed"
    return f"daemon stopped by SIGTERM in {time.monotonic() - started:.1f}s, exit code {code}"


@dataclass
class Ages:
    """One read of /api/v1/prefixes: per prefix its tier, planned interval and data age."""

    at: float
    tier: dict[str, str]
    planned: dict[str, float]
    age: dict[str, float]  # inf: never fetched
    snapshot_taken: str = ""


def read_ages(port: int) -> Ages | None:
    """The prefixes' ages now (None if the API fails) and the status page's snapshot age."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/prefixes", timeout=60) as r:
            doc = json.loads(r.read())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60) as r:
            page = r.read().decode()
    except OSError:
        return None
    now, at = time.time(), time.monotonic()
    ages = Ages(at, {}, {}, {})
    for p in doc["prefixes"]:
        if p["parent"]:
            continue  # a more-specific watched for a while
        ages.tier[p["prefix"]] = p["tier"]
        ages.planned[p["prefix"]] = p["fetch_interval"]
        last = p["last_success"]
        ages.age[p["prefix"]] = float("inf") if last is None else now - last
    taken = re.search(r"Radar's snapshot taken ([^<;]+)", page)
    ages.snapshot_taken = taken.group(1).strip() if taken else "not shown"
    return ages
