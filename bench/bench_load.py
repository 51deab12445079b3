"""Load: the real daemon watching 2,000 prefixes against the fake Radar for several minutes.

Run: python bench/bench_load.py [--prefixes 2000] [--interval 20] [--minutes 4] [--warmup 60]
(about warm-up + minutes + one interval; prints a table at the end, progress every 30 s).
Also: --scrape-every S (default 5), --fault-rate F (0.01), --special N (hijacked and
low-visibility prefixes, 10 each), --log-level, --keep-log FILE, --profile FILE (cProfile),
--no-gzip (scrape without `Accept-Encoding: gzip`, which Prometheus always sends).

What it does. It builds `--prefixes` distinct prefixes (90% IPv4 /24s, 10% IPv6 /48s), each
answered by the fake Radar (`testkit/fakeradar.py`, in a thread of this process) with its own
SYNTHETIC realtime answer of 200-500 routes from 50 collectors: 50 answers are made with
`make_answer` and re-keyed per prefix (every route and origin carries that prefix), a few
prefixes are hijacked (an unexpected RPKI-invalid origin) or poorly visible so that alerts fire.
The fake fails `--fault-rate` (1%) of requests at random with a 500, an HTML 502, truncated JSON
or a timeout. The daemon (`python -m monitor run`, a subprocess at `--log-level info`, not the
test harness's debug level, so logging costs what it costs in production) polls every prefix
once per `--interval` with concurrency 16, timeout 5 s, one retry, no notification channels,
state in a temporary directory, metrics on a free loopback port. The request budget is set far
above the fake's needs: Cloudflare's real limit of 1,200 requests per 5 minutes would stretch
the cycle (2,000 prefixes every 20 s is 30,000 per 5 minutes); that stretch is tested elsewhere
(tests/unit/test_schedule.py), this benchmark measures the daemon, not the plan.

Warm-up starts when the daemon reports READY=1 (its first full cycle). Every `--sample`
seconds the benchmark reads the daemon's resident memory (VmRSS in /proc/PID/status) and
scrapes /metrics (as Prometheus would; the scrape is part of the load). The measured window
runs from the end of the warm-up to the end of the run.

How to read the numbers.
- RSS: warm-up end vs run end, growth in %, and the least-squares slope over the window
  (MiB/min). "Flat" means end/warm-up <= 1.05; a small positive slope over minutes is allocator
  noise unless it keeps going in a longer run (`--minutes 30`).
- Loop lag: how late the daemon's 0.25 s probe timer fired, from the deltas of the
  `radar_monitor_event_loop_lag_seconds` histogram over the window. Percentiles are bucket
  upper bounds: "p99 <= 25 ms" means 99% of the probes were at most 25 ms late. Target: p99
  under 100 ms.
- Polls: poll starts per prefix seen by the fake in the window (a request right after one the
  fake failed on purpose is a retry, not a poll), min / median / max against window / interval.
  "Every prefix polled each cycle" means no prefix has fewer than expected - 1 (a window
  boundary can cut one) and the daemon skipped no slot ("previous poll still running" in its
  log). "Oldest last success" (from /metrics at the end) should stay under two intervals.
- Scrapes: 2,000 prefixes make some 22,000 series (1.7 MiB) per /metrics GET, 10,000 some
  110,000 (8.5 MiB). The daemon formats them in a thread from a snapshot of its state; when it
  did so on the event loop, every scrape stalled the loop for the whole GET and p99 was 500 ms.
  The GET asks for gzip as Prometheus does; the time includes decompressing (also given: until
  the last byte was read, which is what the daemon costs), the summary gives
  the text's size, the bytes on the wire and the series. The
  lag percentiles include the scrapes, as production would; `--scrape-every 1000` (only the
  two boundary scrapes) shows the polling alone.
- Ratios compare with the targets in the same run: RSS end / warm-up, polls min / expected,
  lag p99 / 100 ms. PASS/FAIL is information for humans; the exit code is non-zero only when the
  daemon dies or never becomes ready (1), or stops answering /metrics for minutes (2).
- "Machine: other processes" is CPU used by neither the daemon nor this benchmark (with the
  fake) during the window: on a shared machine, anything but ~0 means the numbers are noisy.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import gzip
import ipaddress
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testkit.answers import OriginSpec, encode, make_answer
from testkit.config import RPKI_INVALID, daemon_yaml, write_config
from testkit.daemon import DaemonProcess
from testkit.fakeradar import FakeRadar
from testkit.faults import DEFAULT_RANDOM_FAULTS
from testkit.receivers import free_port

V4_PLACEHOLDER = "192.0.2.0/24"
V6_PLACEHOLDER = "2001:db8::/48"
LAG_TARGET = 0.1
RSS_FLAT = 1.05
LAG_METRIC = "radar_monitor_event_loop_lag_seconds"
REQUESTS_METRIC = "radar_monitor_api_requests_total"
LAST_SUCCESS_METRIC = "radar_monitor_prefix_last_success_timestamp_seconds"
PROGRESS_EVERY = 30.0
#: How long past the end the benchmark keeps trying to read /metrics before giving up.
UNRESPONSIVE_LIMIT = 120.0
MIB = 1024 * 1024
#: Set by --no-gzip: scrape without Accept-Encoding: gzip.
SCRAPE_GZIP = True
#: Past this many prefixes the config has no per-prefix `labels` (see `daemon_config`).
LABELS_UP_TO = 8000


# --- the workload -----------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """One synthetic answer, made for a placeholder prefix, and the origins to expect."""

    body: bytes
    placeholder: bytes
    origins: tuple[int, ...]
    kind: str  # normal, moas, hijacked, low-visibility
    routes: int


@dataclass(frozen=True)
class Watched:
    """One prefix of the run: its config entry and the bytes the fake serves for it."""

    prefix: str
    origins: tuple[int, ...]
    kind: str
    body: bytes


def make_prefixes(count: int, rng: random.Random) -> list[str]:
    """`count` distinct global prefixes: 90% IPv4 /24s, the rest IPv6 /48s."""
    v6_count = count // 10
    seen: set[str] = set()
    v4: list[str] = []
    while len(v4) < count - v6_count:
        a, b, c = rng.randint(1, 223), rng.randrange(256), rng.randrange(256)
        net = ipaddress.ip_network(f"{a}.{b}.{c}.0/24")
        if net.is_global and not net.is_multicast and str(net) not in seen:
            seen.add(str(net))
            v4.append(str(net))
    v6: list[str] = []
    while len(v6) < v6_count:
        text = (
            f"2a{rng.randrange(16):02x}:{rng.randrange(1, 65536):x}:{rng.randrange(65536):x}::/48"
        )
        net6 = str(ipaddress.ip_network(text))
        if net6 not in seen:
            seen.add(net6)
            v6.append(net6)
    mixed = v4 + v6
    rng.shuffle(mixed)
    return mixed


def make_templates(count: int, rng: random.Random) -> dict[tuple[int, str], list[Template]]:
    """Answers by (IP version, kind): mostly normal, a few MOAS, hijacked and low-visibility."""
    v6_count = max(5, count // 5)  # 20% of the templates are IPv6 (10% of the prefixes)
    plan: list[tuple[int, str]] = []
    for version, total, few in ((4, count - v6_count, 2), (6, v6_count, 1)):
        kinds = ["hijacked"] * few + ["low-visibility"] * few + ["moas"] * (few + 1)
        plan += [(version, kind) for kind in kinds + ["normal"] * (total - len(kinds))]
    templates: dict[tuple[int, str], list[Template]] = collections.defaultdict(list)
    for i, (version, kind) in enumerate(plan):
        asn = 64500 + i if i % 7 else 13335
        routes = rng.randint(200, 500)
        specs: list[OriginSpec]
        origins: tuple[int, ...] = (asn,)
        if kind == "hijacked":
            specs = [OriginSpec(asn, ratio=0.9), OriginSpec(64666, rpki="invalid", ratio=0.3)]
        elif kind == "low-visibility":
            specs = [OriginSpec(asn, ratio=0.5)]
        elif kind == "moas":
            origins = (asn, 65000 + i)
            specs = [OriginSpec(asn, ratio=0.6), OriginSpec(65000 + i, ratio=0.5)]
        else:
            rpki = rng.choice(("valid", "valid", "valid", "unknown"))
            specs = [OriginSpec(asn, rpki=rpki, ratio=rng.uniform(0.93, 0.99))]
        placeholder = V6_PLACEHOLDER if version == 6 else V4_PLACEHOLDER
        body = encode(make_answer(placeholder, specs, n_routes=routes, seed=i))
        templates[(version, kind)].append(
            Template(body, f'"{placeholder}"'.encode(), origins, kind, routes)
        )
    return templates


def make_workload(count: int, special: int, n_templates: int, seed: int) -> list[Watched]:
    """`count` prefixes with their own answers; `special` each of hijacked and low-visibility."""
    rng = random.Random(seed)
    templates = make_templates(n_templates, rng)
    prefixes = make_prefixes(count, rng)
    watched: list[Watched] = []
    for i, prefix in enumerate(prefixes):
        version = ipaddress.ip_network(prefix).version
        kind = "hijacked" if i < special else "low-visibility" if i < 2 * special else "normal"
        if kind == "normal" and rng.random() < 0.05:
            kind = "moas"
        template = rng.choice(templates[(version, kind)])
        body = template.body.replace(template.placeholder, f'"{prefix}"'.encode())
        watched.append(Watched(prefix, template.origins, kind, body))
    rng.shuffle(watched)
    return watched


def daemon_config(
    folder: Path, base_url: str, watched: list[Watched], args: argparse.Namespace, port: int
) -> Path:
    """The daemon's config in `folder`: every prefix with its expected origins, five rules, no
    channels; its path."""
    source = {
        "interval": f"{args.interval:g}s",
        "timeout": f"{args.timeout:g}s",
        "concurrency": args.concurrency,
        "budget": args.budget,
        "budget_window": "5m",
        "retries": args.retries,
        "max_failures": 3,
    }
    # The config loader refuses more than 100,000 YAML nodes: a labels mapping is 4 per prefix.
    with_labels = len(watched) <= LABELS_UP_TO
    prefixes = [
        f"{{prefix: {w.prefix}, origins: [{', '.join(map(str, w.origins))}],"
        f" description: {w.kind} {i}" + (f", labels: {{team: t{i % 8}}}}}" if with_labels else "}")
        for i, w in enumerate(watched)
    ]
    rules = [
        RPKI_INVALID,
        "{name: unexpected-origin, type: unexpected_origin, severity: critical,"
        " min_visibility: 0.01, min_peers: 2}",
        "{name: low-visibility, type: visibility_below, threshold: 0.8, for: 1m,"
        " severity: warning}",
        # The answers' timestamps date from their generation: generous ages keep hours-long
        # runs from turning every prefix stale halfway through.
        "{name: stale-collectors, type: stale_collector, max_age: 6h, severity: warning}",
        "{name: stale-radar, type: stale_data, max_age: 6h, severity: warning}",
    ]
    text = daemon_yaml(
        base_url, prefixes, rules, source=source, port=port, state=folder / "state.db"
    )
    return write_config(folder, text)


# --- the daemon and what it shows ------------------------------------------------------------


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


# --- the numbers -----------------------------------------------------------------------------


def lag_delta(first: Sample, last: Sample) -> list[tuple[float, float]]:
    """(upper bound, cumulative count) of the lag probes between two scrapes."""
    return sorted(
        (le, last.lag_buckets[le] - first.lag_buckets.get(le, 0.0)) for le in last.lag_buckets
    )


def quantile_bound(buckets: list[tuple[float, float]], q: float) -> float:
    """The smallest bucket bound that holds at least `q` of the observations."""
    total = buckets[-1][1]
    for le, count in buckets:
        if count >= q * total:
            return le
    return float("inf")


def fmt_bound(seconds: float) -> str:
    """`<= 25 ms`, `> 2.5 s` for the +Inf bucket."""
    if seconds == float("inf"):
        return "> 2.5 s"
    return f"<= {seconds * 1e3:g} ms"


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per minute."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0


def poll_counts(
    fake: FakeRadar, prefixes: list[str], start: float, end: float, retries: int
) -> dict[str, int]:
    """Poll starts per prefix within [start, end), retries left out.

    A request is a retry when the request before it for the same prefix got a random fault and
    fewer than `retries` retries preceded it: the fake fails nothing else, and the daemon never
    runs two polls of one prefix at once, so each fault belongs to the latest earlier request.
    """
    faults: dict[str, list[float]] = collections.defaultdict(list)
    for fault in list(fake.random_fault_log):
        faults[fault.prefix].append(fault.at)
    requests: dict[str, list[float]] = collections.defaultdict(list)
    for record in list(fake.requests):
        if record.prefix is not None and record.at < end:
            requests[record.prefix].append(record.at)
    polls = dict.fromkeys(prefixes, 0)
    for prefix, times in requests.items():
        fault_times = faults.get(prefix, [])
        chain = 0  # retries so far in the current poll
        faulted = False  # whether the previous request got a fault
        for i, at in enumerate(times):
            if faulted and chain < retries:
                chain += 1
            else:
                chain = 0
                if at >= start:
                    polls[prefix] = polls.get(prefix, 0) + 1
            following = times[i + 1] if i + 1 < len(times) else float("inf")
            j = bisect.bisect_left(fault_times, at)
            faulted = j < len(fault_times) and fault_times[j] < following
    return polls


def verdict(ok: bool) -> str:
    """PASS or FAIL."""
    return "PASS" if ok else "FAIL"


def report(
    args: argparse.Namespace,
    samples: list[Sample],
    warm: Sample,
    end: Sample,
    fake: FakeRadar,
    watched: list[Watched],
    port: int,
    failed_lines: list[str],
) -> None:
    """Print the results table."""
    window = end.at - warm.at
    measured = [s for s in samples if warm.at <= s.at <= end.at]
    scrapes = [s for s in samples if s.scraped]

    # Memory.
    rss_warm, rss_end = warm.rss / MIB, end.rss / MIB
    rss_ratio = rss_end / rss_warm if rss_warm else float("inf")
    slope = slope_per_minute([(s.at - warm.at, s.rss / MIB) for s in measured])
    rss_max = max(s.rss for s in measured) / MIB

    # Loop lag.
    buckets = lag_delta(warm, end)
    probes = buckets[-1][1]
    p50, p95, p99 = (quantile_bound(buckets, q) for q in (0.5, 0.95, 0.99))
    at_100ms = next((c for le, c in buckets if le >= LAG_TARGET), probes)
    late = probes - at_100ms
    mean_lag = (end.lag_sum - warm.lag_sum) / probes if probes else 0.0

    # Polls.
    prefixes = [w.prefix for w in watched]
    polls = poll_counts(fake, prefixes, warm.at, end.at, args.retries)
    counts = sorted(polls.values())
    expected = window / args.interval
    short = sum(1 for c in counts if c < round(expected) - 1)
    skipped = end.skipped_slots - warm.skipped_slots
    failed_polls = end.failed_polls - warm.failed_polls
    ages = last_successes(port)
    now = time.time()
    oldest = max((now - ages.get(p, 0.0) for p in prefixes), default=float("inf"))

    # Requests.
    fake_rate = (end.fake_requests - warm.fake_requests) / window
    outcomes = {k: end.requests.get(k, 0.0) - warm.requests.get(k, 0.0) for k in end.requests}
    attempts = sum(outcomes.values())
    failures = {k: int(v) for k, v in outcomes.items() if k != "success" and v}
    faults = collections.Counter(f.kind for f in fake.random_fault_log[warm.faults : end.faults])
    cpu = (end.cpu - warm.cpu) / window
    bench_cpu = (end.bench_cpu - warm.bench_cpu) / window
    machine = (end.machine_busy - warm.machine_busy) / window
    other = max(0.0, machine - cpu - bench_cpu)
    failed_scrapes = sum(1 for s in measured if s.scrape_error)
    scrape_times = [s.scrape_seconds * 1e3 for s in scrapes]
    read_times = [s.scrape_read_seconds * 1e3 for s in scrapes]
    sizes = [len(w.body) for w in watched]

    print()
    print("== radar-monitor load benchmark ==")
    print(
        f"workload: {len(watched)} prefixes, interval {args.interval:g}s "
        f"(expected {len(watched) / args.interval:.1f} polls/s), answers "
        f"{min(sizes) // 1024}-{max(sizes) // 1024} KiB "
        f"(mean {statistics.fmean(sizes) / 1024:.0f} KiB)"
    )
    print(
        f"measured window: {window:.0f}s after a {args.warmup:g}s warm-up from READY=1; "
        f"{len(measured)} RSS samples, /metrics scraped every {args.scrape_every:g}s "
        f"(GET {statistics.median(scrape_times):.0f} ms median, {max(scrape_times):.0f} ms max;"
        f" read before decompressing {statistics.median(read_times):.0f} / "
        f"{max(read_times):.0f} ms; "
        f"{scrapes[-1].scrape_bytes / MIB:.1f} MiB, {scrapes[-1].scrape_wire_bytes / MIB:.2f} MiB"
        f" on the wire, {scrapes[-1].scrape_series:,} series"
        + (f"; {failed_scrapes} scrapes FAILED" if failed_scrapes else "")
        + ")"
    )
    print()
    rows = [
        (
            "RSS warm-up -> end",
            f"{rss_warm:.1f} -> {rss_end:.1f} MiB ({(rss_ratio - 1) * 100:+.1f}%), "
            f"max {rss_max:.1f}",
            f"flat (<= {(RSS_FLAT - 1) * 100:+.0f}%)",
            f"{rss_ratio:.3f} end/warm-up",
            verdict(rss_ratio <= RSS_FLAT),
        ),
        (
            "RSS slope after warm-up",
            f"{slope:+.2f} MiB/min ({slope * 60 * 24:+.0f} MiB/day if it kept on)",
            "",
            "",
            "",
        ),
        (
            "loop lag p50 / p95 / p99",
            f"{fmt_bound(p50)} / {fmt_bound(p95)} / {fmt_bound(p99)}",
            f"p99 < {LAG_TARGET * 1e3:.0f} ms",
            f"{p99 / LAG_TARGET:.2f} p99/100 ms (bound)",
            verdict(p99 <= LAG_TARGET),
        ),
        (
            "loop lag mean, > 100 ms",
            f"{mean_lag * 1e3:.1f} ms mean; {late:.0f} of {probes:.0f} probes over 100 ms",
            "",
            "",
            "",
        ),
        (
            "polls per prefix",
            f"min {counts[0]} / median {statistics.median(counts):g} / max {counts[-1]}"
            f" (expected {expected:.1f})",
            "every prefix, each cycle",
            f"{counts[0] / expected:.2f} min/expected",
            verdict(short == 0 and skipped == 0),
        ),
        (
            "  short (< expected - 1)",
            f"{short} prefixes; {skipped} slots skipped (poll still running)",
            "0 and 0",
            "",
            "",
        ),
        (
            "  oldest last success",
            f"{oldest:.1f}s ago at the end",
            f"< 2 x {args.interval:g}s",
            f"{oldest / args.interval:.2f} intervals",
            "",
        ),
        (
            "requests/s achieved",
            f"{fake_rate:.1f}/s at the fake ({attempts / window:.1f}/s attempts in the daemon)",
            f"{len(watched) / args.interval:.1f}/s + retries",
            f"{fake_rate / (len(watched) / args.interval):.3f} of planned",
            "",
        ),
        (
            "failed attempts",
            ", ".join(f"{k} {v}" for k, v in sorted(failures.items())) or "none",
            "",
            f"{sum(failures.values()) / attempts * 100:.2f}% of attempts" if attempts else "",
            "",
        ),
        (
            "  random faults served",
            ", ".join(f"{k} {v}" for k, v in sorted(faults.items())) or "none",
            f"{args.fault_rate:.1%} of requests",
            "",
            "",
        ),
        (
            "  polls failed after retry",
            f"{failed_polls} (from the daemon log)",
            "",
            "",
            "",
        ),
        (
            "CPU",
            f"daemon {cpu:.0%} of a core; bench + fake {bench_cpu:.0%}",
            "",
            "",
            "",
        ),
        (
            "machine",
            f"{machine:.0%} of {os.cpu_count()} cores busy; other processes {other:.0%} of a core",
            "other ~ 0%",
            "",
            "",
        ),
    ]
    header = ("measure", "value", "target", "ratio", "result")
    widths = [max(len(r[i]) for r in [header, *rows]) + 2 for i in range(4)]
    for row in [header, *rows]:
        print("".join(f"{cell:<{w}}" for cell, w in zip(row, widths, strict=False)) + row[4])
    states = alert_states(port)
    if failed_lines:
        print()
        print("polls that failed after the retries (first 5 of the whole run):")
        for line in failed_lines[:5]:
            print(f"  {line[-160:]}")
    print()
    print(
        "alerts at the end: "
        + (", ".join(f"{k}: {v}" for k, v in sorted(states.items())) or "none")
    )


# --- the run ---------------------------------------------------------------------------------


def progress(first: Sample, previous: Sample, sample: Sample) -> None:
    """One line: elapsed, RSS, request rate, loop-lag p99 since the previous scrape."""
    rate = (sample.fake_requests - previous.fake_requests) / max(sample.at - previous.at, 1e-9)
    lag = ""
    if sample.scraped and previous.scraped:
        buckets = lag_delta(previous, sample)
        if buckets[-1][1]:
            lag = f", loop lag p99 {fmt_bound(quantile_bound(buckets, 0.99))}"
    print(
        f"  +{sample.at - first.at:5.0f}s  RSS {sample.rss / MIB:6.1f} MiB, "
        f"{rate:5.1f} requests/s{lag}",
        flush=True,
    )


def main() -> int:
    """Run the benchmark; 1 if the daemon died or never became ready, else 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--prefixes", type=int, default=2000)
    parser.add_argument("--interval", type=float, default=20.0, help="seconds")
    parser.add_argument("--minutes", type=float, default=4.0, help="measured after warm-up")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds after READY=1")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--scrape-every", type=float, default=5.0, help="/metrics, seconds")
    parser.add_argument("--fault-rate", type=float, default=0.01)
    parser.add_argument("--special", type=int, default=10, help="hijacked, and low-visibility")
    parser.add_argument("--templates", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--retries", type=int, default=1)
    parser.add_argument("--budget", type=int, default=1_000_000, help="requests per 5 minutes")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", type=Path, help="run the daemon under cProfile, to FILE")
    parser.add_argument("--keep-log", type=Path, help="copy the daemon's log to FILE at the end")
    parser.add_argument(
        "--no-gzip", action="store_true", help="scrape without Accept-Encoding: gzip"
    )
    args = parser.parse_args()
    global SCRAPE_GZIP
    SCRAPE_GZIP = not args.no_gzip
    if not 0 <= 2 * args.special <= args.prefixes:
        parser.error("--special must be between 0 and half of --prefixes")

    started = time.monotonic()
    watched = make_workload(args.prefixes, args.special, args.templates, args.seed)
    print(
        f"generated {len(watched)} answers in {time.monotonic() - started:.1f}s "
        f"({sum(len(w.body) for w in watched) / MIB:.0f} MiB): "
        + ", ".join(
            f"{k} {v}" for k, v in sorted(collections.Counter(w.kind for w in watched).items())
        ),
        flush=True,
    )
    print(
        f"daemon: concurrency {args.concurrency}, timeout {args.timeout:g}s, retries "
        f"{args.retries}, budget {args.budget}/5m (far above Cloudflare's real 1,200/5m: the plan "
        f"stretch is tested elsewhere), log level {args.log_level}, no notification channels"
        + (f", under cProfile -> {args.profile}" if args.profile else ""),
        flush=True,
    )
    fake = FakeRadar(fault_rate=args.fault_rate, fault_seed=args.seed)
    fake.delay = args.timeout + 1  # a "timeout" outlives the client's deadline, then goes away
    for w in watched:
        fake.set_prefix(w.prefix, body=w.body)
    print(
        f"fake: {args.fault_rate:.1%} random faults ({', '.join(DEFAULT_RANDOM_FAULTS)}), "
        "no added latency",
        flush=True,
    )

    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp_dir, fake:
        tmp = Path(tmp_dir)
        port = free_port()
        config = daemon_config(tmp, fake.base_url, watched, args, port)
        profiler = ("-m", "cProfile", "-o", str(args.profile)) if args.profile else ()
        daemon = DaemonProcess(tmp, config, log_level=args.log_level, interpreter_args=profiler)
        try:
            return run(args, daemon, port, fake, watched, started)
        finally:
            daemon.close()
            if args.keep_log is not None:
                shutil.copyfile(daemon.log_path, args.keep_log)


def stop(daemon: DaemonProcess, within: float = 60.0) -> str:
    """SIGTERM the daemon and wait; what happened, in words (SIGKILL after `within`)."""
    started = time.monotonic()
    try:
        code = daemon.stop(timeout=within)
    except subprocess.TimeoutExpired:
        daemon.kill()
        return f"daemon ignored SIGTERM for {within:g}s (event loop starved?): killed"
    return f"daemon stopped by SIGTERM in {time.monotonic() - started:.1f}s, exit code {code}"


def run(
    args: argparse.Namespace,
    daemon: DaemonProcess,
    port: int,
    fake: FakeRadar,
    watched: list[Watched],
    started: float,
) -> int:
    """Start the daemon, sample it through warm-up and window, stop it, report."""
    daemon.start()
    launched = time.monotonic()
    try:
        daemon.wait_ready(within=3 * args.interval + 60)
    except AssertionError:
        print(f"the daemon never became ready; its log:\n{daemon.log[-4000:]}")
        return 1
    ready = time.monotonic()
    plan = [line.split("plan: ", 1)[1] for line in daemon.log.splitlines() if "plan: " in line]
    print(f"daemon ready after {ready - launched:.1f}s; the budget plan:")
    for line in plan:
        print(f"  {line}")
    print(f"sampling every {args.sample:g}s (warm-up {args.warmup:g}s, then {args.minutes:g} min)")

    samples: list[Sample] = []
    warm: Sample | None = None
    last_scraped: Sample | None = None
    warm_at, end_at = ready + args.warmup, ready + args.warmup + args.minutes * 60
    next_at, last_scrape, last_print = ready, -1e9, ready
    while True:
        time.sleep(max(0.0, next_at - time.monotonic()))
        if not daemon.alive():
            print(f"the daemon died (exit {daemon.proc and daemon.proc.returncode}); log tail:")
            print(daemon.log[-4000:])
            return 1
        now = time.monotonic()
        # The window's two ends need a scrape; a failed one is tried again at the next sample.
        boundary = (warm is None and now >= warm_at) or now >= end_at
        with_scrape = boundary or now - last_scrape >= args.scrape_every - 0.01
        sample = take_sample(daemon, port, fake, with_scrape)
        samples.append(sample)
        if with_scrape:
            last_scrape = now
        if sample.scrape_error:
            print(f"  +{now - ready:5.0f}s  /metrics failed: {sample.scrape_error}", flush=True)
        if warm is None and now >= warm_at and sample.scraped:
            warm = sample
            print(f"  warm-up over: RSS {sample.rss / MIB:.1f} MiB; measuring", flush=True)
        if sample.scraped:
            if last_scraped is not None and now - last_print >= PROGRESS_EVERY:
                progress(samples[0], last_scraped, sample)
                last_print = now
            last_scraped = sample
        if warm is not None and now >= end_at and sample.scraped:
            break
        if now >= end_at + UNRESPONSIVE_LIMIT:
            print(f"the daemon did not answer /metrics for {UNRESPONSIVE_LIMIT:g}s: giving up")
            print(stop(daemon))  # SIGTERM, so that a profile still gets written
            return 2
        next_at = max(next_at + args.sample, time.monotonic())

    assert warm is not None
    failed = [line for line in daemon.log.splitlines() if "fetch failed" in line]
    report(args, samples, warm, sample, fake, watched, port, failed)
    fake.fault_rate = 0.0  # no new "timeout" handlers, which would outlive the daemon
    stop_started = time.monotonic()
    print(f"\n{stop(daemon)}; benchmark took {time.monotonic() - started:.0f}s")
    time.sleep(max(0.0, fake.delay - (time.monotonic() - stop_started)))  # let them finish
    if args.profile:
        print(f"profile written to {args.profile} (python -m pstats {args.profile})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
