"""AS scale: the real daemon watching 10,000 prefixes of 3 synced ASes on one real-sized budget.

Run: python bench/bench_as_scale.py [--prefixes 10000] [--realtime 300] [--minutes 6]
(about 2 minutes to READY=1, then --warmup 120 s, then --minutes; progress every 30 s, a table
at the end). Also: --interval (60 s), --snapshot-interval (2m), --budget (1000 per 5 m),
--updates-per-minute (12), --stream-prefixes (50), --special (10), --scrape-every (15 s),
--fault-rate (0), --log-level, --keep-log FILE, --profile FILE (cProfile).

What it does. It makes `--prefixes` distinct prefixes (90% IPv4 /24s, 10% IPv6 /48s, as
bench_load.py does) and splits them evenly over AS64500, AS64501 and AS64502. The fake Radar
(`testkit/fakeradar.py`, in a thread of this process) answers `pfx2as?origin=ASN` with every
prefix of the AS, SYNTHETIC: peer counts 1,700-1,950 of 2,000 peers, RPKI valid or unknown,
`--special` of them RPKI-invalid and as many seen by only 300 peers, so that `rpki_invalid`
and `visibility_below` fire from the snapshot. The daemon (`python -m monitor run`, a
subprocess at `--log-level info`) has one `asns:` entry per AS with `tier: snapshot`, so that
the first sync (one pfx2as request per AS) turns them into 10,000 watches read from one
pfx2as request per AS every `source.snapshot_interval`. `--realtime` of them (spread over the
three ASes) are also listed under `prefixes:` with `tier: realtime` (the important ones): the
realtime cycle fetches only those, each answered with 200 SYNTHETIC routes from 50 collectors,
at `source.interval`, stretched by the budget plan when it does not fit. The rules are those
of bench_load.py plus `radar_hijack` and `radar_leak` (one events request per AS and kind
every 5 minutes; the fake lists no event). The budget is Cloudflare-sized: 1,000 requests per
5 minutes (`budget`, `budget_window` at their defaults). The stream is on, against a loopback
fake RIS Live (`testkit/fakerislive.py`, another thread here) that the daemon subscribes
every watched prefix at (10,000 subscriptions take some 200 s after start). It plays
`--updates-per-minute` SYNTHETIC announcements with the expected path, each for the next of
`--stream-prefixes` snapshot-tier prefixes in turn (once subscribed): each asks for one
confirming realtime fetch, so the confirmations are the realtime requests for snapshot-tier
prefixes. /metrics is scraped every `--scrape-every` seconds with `Accept-Encoding: gzip`, as
Prometheus does, and `/api/v1/prefixes` read once a minute for the data ages.

The measured window runs from the end of the warm-up (`--warmup` s after READY=1, by when
the subscriptions are done and a snapshot round has judged every prefix) to the end.

How to read the numbers.
- The plan: computed here with `monitor.planning.plan_for` on the same config with the three
  ASes synced, and printed next to the daemon's own `watching N prefixes after an AS sync:`
  log line. Its total counts the stream confirmations at their full reserved share.
- Requests per window: every request the fake saw (realtime, pfx2as, events), by its arrival,
  counted over every sliding `budget_window` (300 s) that starts at a request. "Planned
  classes" are the realtime cycle plus the background polls (syncs, snapshots, events): the
  measured window's sliding windows give min and max, against the plan without the
  confirmations' reserve (target: within 1%). Confirmations are counted apart against their
  reserve. "Budget overruns" counts the windows of the whole run, start-up included, with more
  requests than the budget (target 0; the client's RequestBudget enforces it).
- Data age per tier: the age of each prefix's `last_success` in `/api/v1/prefixes`, the
  worst over the minute-by-minute reads of the measured window, max and p95 per tier, against
  the tier's planned interval (`fetch_interval`, the plan's worst-case age): a prefix is
  "late" past 1.1 planned intervals plus 10 s. Snapshot-tier prefixes that the stream
  confirmed are shown apart (their newest view is the confirmation's, see the README). The
  snapshot's data is as old as Radar's RIB snapshot on top (the fake dates it two hours back;
  the status page's "Radar's snapshot taken ... ago").
- RSS, scrape time and size, loop lag, CPU and "Machine: other processes" as in bench_load.py
  (the loop-lag percentiles are bucket upper bounds over the measured window). PASS/FAIL is
  information for humans; the exit code is non-zero only when the daemon dies or never
  becomes ready (1), or stops answering /metrics (2).
"""

from __future__ import annotations

import argparse
import bisect
import collections
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_load import (
    MIB,
    Sample,
    alert_states,
    fmt_bound,
    lag_delta,
    make_prefixes,
    quantile_bound,
    slope_per_minute,
    stop,
    take_sample,
    verdict,
)

from monitor.as_watches import expand
from monitor.budget import Plan
from monitor.config import load_config
from monitor.core.measures import duration
from monitor.planning import plan_for
from monitor.state import AsSyncStatus
from testkit.answers import OriginSpec
from testkit.config import RPKI_INVALID, daemon_yaml, write_config
from testkit.daemon import DaemonProcess
from testkit.fakeradar import FakeRadar
from testkit.fakeradar_routes import Announcement
from testkit.fakerislive import FakeRisLive
from testkit.receivers import free_port

ASNS = (64500, 64501, 64502)
UPSTREAM = 174
RSS_TARGET = 150e6  # bytes: "under 150 MB"
SCRAPE_TARGET = 0.25
LAG_TARGET = 0.1
PLAN_TOLERANCE = 0.01
PROGRESS_EVERY = 30.0
AGES_EVERY = 60.0
UNRESPONSIVE_LIMIT = 120.0
EVENT_KINDS = ("hijacks:", "leaks:")


# --- the workload -----------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """The run's prefixes: each one's AS, and which are realtime, special or streamed."""

    origin: dict[str, int]
    realtime: list[str]
    streamed: list[str]
    kinds: collections.Counter[str]


def make_workload(args: argparse.Namespace, fake: FakeRadar) -> Workload:
    """The prefixes, served by `fake` (pfx2as for all, realtime for those that get fetched)."""
    rng = random.Random(args.seed)
    prefixes = make_prefixes(args.prefixes, rng)
    origin = {p: ASNS[i % len(ASNS)] for i, p in enumerate(prefixes)}
    realtime = prefixes[: args.realtime]
    snapshot = prefixes[args.realtime :]
    invalid = set(snapshot[: args.special])
    low = set(snapshot[args.special : 2 * args.special])
    streamed = snapshot[2 * args.special : 2 * args.special + args.stream_prefixes]
    kinds: collections.Counter[str] = collections.Counter()
    for p in prefixes:
        if p in invalid:
            kind, peers, rpki = "rpki-invalid", rng.randint(1700, 1950), "INVALID"
        elif p in low:
            kind, peers, rpki = "low-visibility", 300, "VALID"
        else:
            kind, peers = "normal", rng.randint(1700, 1950)
            rpki = "UNKNOWN" if rng.random() < 0.2 else "VALID"
        kinds[kind] += 1
        fake.routes.announce(Announcement(p, origin[p], peers, rpki))
    for i, p in enumerate([*realtime, *streamed]):
        spec = OriginSpec(origin[p], ratio=rng.uniform(0.93, 0.99))
        fake.set_prefix(p, [spec], n_routes=200, seed=i)
    return Workload(origin, realtime, streamed, kinds)


def daemon_config(
    folder: Path, fake: FakeRadar, ris: FakeRisLive, work: Workload, args: argparse.Namespace
) -> tuple[Path, int]:
    """The config: three snapshot-tier ASes, the realtime ones listed, the stream; its path
    and the metrics port."""
    port = free_port()
    source = {
        "interval": f"{args.interval:g}s",
        "snapshot_interval": f"{args.snapshot_interval:g}s",
        "timeout": "5s",
        "retries": args.retries,
        "budget": args.budget,
        "budget_window": "5m",
        "max_failures": 3,
    }
    prefixes = [
        f"{{prefix: {p}, origins: [{work.origin[p]}], tier: realtime, description: important {i}}}"
        for i, p in enumerate(work.realtime)
    ]
    rules = [
        RPKI_INVALID,
        "{name: unexpected-origin, type: unexpected_origin, severity: critical,"
        " min_visibility: 0.01, min_peers: 2}",
        "{name: low-visibility, type: visibility_below, threshold: 0.8, for: 1m,"
        " severity: warning}",
        "{name: stale-collectors, type: stale_collector, max_age: 6h, severity: warning}",
        "{name: stale-radar, type: stale_data, max_age: 6h, severity: warning}",
        "{name: radar-hijack, type: radar_hijack, severity: critical}",
        "{name: radar-leak, type: radar_leak, severity: warning}",
    ]
    text = daemon_yaml(
        fake.base_url,
        prefixes,
        rules,
        source=source,
        port=port,
        state=folder / "state.db",
        stream={"url": ris.url},
    )
    text += "asns:\n" + "".join(
        f"  - {{asn: {asn}, description: synthetic AS{asn}, sync: 6h, tier: snapshot,"
        f" upstreams: [{UPSTREAM}]}}\n"
        for asn in ASNS
    )
    return write_config(folder, text), port


def planned(config: Path, work: Workload) -> Plan:
    """The plan for `config` once its three ASes are synced, as the daemon makes it."""
    synced = {asn: AsSyncStatus() for asn in ASNS}
    for prefix, asn in work.origin.items():
        synced[asn].prefixes[prefix] = None
    return plan_for(expand(load_config(config), synced))


class Streamer:
    """Plays one expected-path announcement every `every` seconds, for the next streamed
    prefix that the daemon has subscribed, from a thread."""

    def __init__(self, ris: FakeRisLive, work: Workload, every: float) -> None:
        self.ris, self.work, self.every = ris, work, every
        self.sent: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        turn = 0
        while not self._stop.wait(self.every):
            subscribed = self.ris.subscriptions()
            ready = [p for p in self.work.streamed if p in subscribed]
            if not ready:
                continue
            prefix = ready[turn % len(ready)]
            turn += 1
            self.ris.announce(prefix, [64496, UPSTREAM, self.work.origin[prefix]])
            self.sent.append((time.monotonic(), prefix))


# --- what the daemon shows ----------------------------------------------------------------


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


def request_times(fake: FakeRadar, work: Workload) -> dict[str, list[float]]:
    """Arrival times at the fake by class: realtime cycle, confirmations, events, pfx2as."""
    realtime = set(work.realtime)
    times: dict[str, list[float]] = collections.defaultdict(list)
    for r in list(fake.requests):
        key = r.prefix or ""
        if key.startswith(EVENT_KINDS):
            times["events"].append(r.at)
        elif key in realtime:
            times["cycle"].append(r.at)
        else:
            times["confirmations"].append(r.at)
    times["pfx2as"] = [r.at for r in list(fake.routes.requests)]
    return {k: sorted(v) for k, v in times.items()}


def per_window(times: list[float], window: float, start: float, end: float) -> list[int]:
    """Requests in each sliding `window` that starts at a request (or at `start`) within
    [start, end - window]."""
    starts = [start, *(t for t in times if start <= t <= end - window)]
    return [bisect.bisect_left(times, s + window) - bisect.bisect_left(times, s) for s in starts]


def overruns(times: list[float], window: float, budget: int) -> tuple[int, int]:
    """Windows (each starting at a request) of the whole run with more than `budget`
    requests, and the most any window had."""
    counts = [bisect.bisect_left(times, t + window) - i for i, t in enumerate(times)]
    return sum(1 for c in counts if c > budget), max(counts, default=0)


# --- the report ---------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """The `q` quantile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def age_rows(reads: list[Ages], work: Workload, plan: Plan) -> list[tuple[str, ...]]:
    """One row per tier (and the streamed snapshot prefixes apart): worst ages over `reads`."""
    streamed = set(work.streamed)
    groups: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)
    for read in reads:
        for prefix, tier in read.tier.items():
            name = "snapshot, stream-confirmed" if prefix in streamed else tier
            groups[name].append((read.age[prefix], read.planned[prefix]))
    plan_of = {"realtime": plan.effective_interval, "snapshot": plan.interval_of("snapshots")}
    rows: list[tuple[str, ...]] = []
    for name in ("realtime", "snapshot", "snapshot, stream-confirmed"):
        pairs = groups.get(name, [])
        if not pairs:
            continue
        ages = [a for a, _ in pairs]
        late = sum(1 for a, p in pairs if a > 1.1 * p + 10)
        planned_age = plan_of.get(name) or pairs[0][1]
        finite = [a for a in ages if a != float("inf")]
        never = len(ages) - len(finite)
        worst = max(ages)
        rows.append(
            (
                f"data age, {name}",
                f"max {worst:.0f}s, p95 {pct(finite, 0.95):.0f}s over {len(reads)} reads"
                + (f"; {never} never fetched" if never else ""),
                f"<= {duration(planned_age)} planned (+10%)",
                f"{worst / planned_age:.2f} max/planned",
                verdict(late == 0) if name != "snapshot, stream-confirmed" else f"{late} late",
            )
        )
    return rows


def report(
    args: argparse.Namespace,
    samples: list[Sample],
    warm: Sample,
    end: Sample,
    fake: FakeRadar,
    work: Workload,
    plan: Plan,
    reads: list[Ages],
    streamer: Streamer,
    started: float,
) -> None:
    """Print the results table."""
    window = end.at - warm.at
    wall_offset = time.time() - time.monotonic()  # the daemon's log is in wall-clock time
    measured = [s for s in samples if warm.at <= s.at <= end.at]
    scrapes = [s for s in measured if s.scraped]
    rss_end, rss_max = end.rss / MIB, max(s.rss for s in measured) / MIB
    slope = slope_per_minute([(s.at - warm.at, s.rss / MIB) for s in measured])
    buckets = lag_delta(warm, end)
    probes = buckets[-1][1]
    p50, p99 = quantile_bound(buckets, 0.5), quantile_bound(buckets, 0.99)
    late_probes = probes - next((c for le, c in buckets if le >= LAG_TARGET), probes)
    times = [s.scrape_seconds for s in scrapes]
    last = scrapes[-1]
    cpu = (end.cpu - warm.cpu) / window
    bench_cpu = (end.bench_cpu - warm.bench_cpu) / window
    machine = (end.machine_busy - warm.machine_busy) / window
    other = max(0.0, machine - cpu - bench_cpu)

    # Requests per window.
    w = plan.window
    by_class = request_times(fake, work)
    planned_times = sorted(t for k in ("cycle", "pfx2as", "events") for t in by_class.get(k, []))
    every = sorted(t for v in by_class.values() for t in v)
    counts = per_window(planned_times, w, warm.at, end.at)
    confirms = per_window(by_class.get("confirmations", []), w, warm.at, end.at)
    totals = per_window(every, w, warm.at, end.at)
    over, most = overruns(every, w, plan.budget)
    plan_rest = plan.requests - plan.confirmations
    off = max(abs(max(counts) - plan_rest), abs(min(counts) - plan_rest)) / plan_rest
    classes = {
        k: statistics.fmean(per_window(by_class.get(k, []), w, warm.at, end.at))
        for k in ("cycle", "pfx2as", "events", "confirmations")
    }
    background = {b.name: b.cost(w, plan.stretch) for b in plan.background}

    print()
    print("== radar-monitor AS-scale benchmark ==")
    print(
        f"workload: {args.prefixes:,} prefixes of {len(ASNS)} synced ASes ("
        + ", ".join(f"{k} {v}" for k, v in sorted(work.kinds.items()))
        + f"); {len(work.realtime)} of them tier realtime, the rest tier snapshot; stream on, "
        f"{len(streamer.sent)} announcements played for {len(work.streamed)} snapshot prefixes"
    )
    print(
        f"measured window: {window:.0f}s after a {args.warmup:g}s warm-up from READY=1; "
        f"/metrics scraped every {args.scrape_every:g}s with gzip ({len(scrapes)} scrapes: "
        f"{last.scrape_bytes / MIB:.2f} MiB of text, {last.scrape_wire_bytes / MIB:.2f} MiB on "
        f"the wire, {last.scrape_series:,} series); ran {time.monotonic() - started:.0f}s"
    )
    print(
        f"per window of {duration(w)}, mean over the sliding windows: realtime cycle "
        f"{classes['cycle']:.1f} (planned {plan.prefixes * w / plan.effective_interval:.1f}), "
        f"pfx2as {classes['pfx2as']:.1f} (planned snapshots {background.get('snapshots', 0):.1f}"
        f" + syncs {background.get('syncs', 0):.2f}), events {classes['events']:.1f} (planned "
        f"{background.get('events', 0):.1f}), confirmations {classes['confirmations']:.1f} "
        f"(reserve {plan.confirmations})"
    )
    print()
    rows = [
        (
            "RSS end (max)",
            f"{rss_end:.1f} MiB (max {rss_max:.1f}, warm-up {warm.rss / MIB:.1f}); "
            f"slope {slope:+.2f} MiB/min",
            "< 150 MB",
            f"{end.rss / RSS_TARGET:.2f} end/target",
            verdict(max(s.rss for s in measured) < RSS_TARGET),
        ),
        (
            "/metrics GET (gzip)",
            f"median {statistics.median(times) * 1e3:.0f} ms, max {max(times) * 1e3:.0f} ms; "
            f"{last.scrape_wire_bytes / 1024:.0f} KiB on the wire",
            f"< {SCRAPE_TARGET * 1e3:.0f} ms",
            f"{max(times) / SCRAPE_TARGET:.2f} max/target",
            verdict(max(times) < SCRAPE_TARGET),
        ),
        (
            "  slowest scrapes",
            ", ".join(
                f"{s.scrape_seconds * 1e3:.0f} ms at +{s.at - warm.at:.0f}s"
                f" ({time.strftime('%H:%M:%S', time.gmtime(s.at + wall_offset))} UTC)"
                for s in sorted(scrapes, key=lambda s: -s.scrape_seconds)[:3]
            ),
            "",
            "",
            "",
        ),
        (
            "loop lag p50 / p99",
            f"{fmt_bound(p50)} / {fmt_bound(p99)}; {late_probes:.0f} of {probes:.0f} probes "
            "over 100 ms",
            f"p99 < {LAG_TARGET * 1e3:.0f} ms",
            f"{p99 / LAG_TARGET:.2f} p99/100 ms (bound)",
            verdict(p99 <= LAG_TARGET),
        ),
        (
            "planned classes per window",
            f"min {min(counts)} / max {max(counts)} over {len(counts)} windows",
            f"{plan_rest:.1f} +-1%",
            f"{max(counts) / plan_rest:.3f} max/plan",
            verdict(off <= PLAN_TOLERANCE),
        ),
        (
            "  confirmations per window",
            f"min {min(confirms)} / max {max(confirms)}",
            f"<= {plan.confirmations} reserved",
            "",
            verdict(max(confirms) <= plan.confirmations),
        ),
        (
            "all requests per window",
            f"max {max(totals)} in the window; {most} in the whole run",
            f"<= {plan.budget} budget",
            f"{most / plan.budget:.3f} max/budget",
            "",
        ),
        (
            "budget overruns",
            f"{over} windows over {plan.budget} (whole run, {len(every):,} requests)",
            "0",
            "",
            verdict(over == 0),
        ),
        *age_rows(reads, work, plan),
        (
            "  Radar's snapshot age",
            f"taken {reads[-1].snapshot_taken} (status page; the fake dates it 2 h back)",
            "",
            "",
            "",
        ),
        (
            "CPU",
            f"daemon {cpu:.0%} of a core; bench + fakes {bench_cpu:.0%}",
            "",
            "",
            "",
        ),
        (
            "Machine: other processes",
            f"{other:.0%} of a core ({machine:.0%} of {os.cpu_count()} cores busy)",
            "~ 0%",
            "",
            "",
        ),
    ]
    header = ("measure", "value", "target", "ratio", "result")
    widths = [max(len(r[i]) for r in [header, *rows]) + 2 for i in range(4)]
    for row in [header, *rows]:
        print("".join(f"{cell:<{w}}" for cell, w in zip(row, widths, strict=False)) + row[4])
    print()
    states = alert_states(args.port)
    print("alerts at the end: " + (", ".join(f"{k}: {v}" for k, v in sorted(states.items()))))


# --- the run ------------------------------------------------------------------------------


def progress(ready: float, previous: Sample, sample: Sample, fake: FakeRadar) -> None:
    """One line: elapsed, RSS, scrape time, loop-lag p99 since the previous progress line."""
    lag = ""
    if previous.scraped and sample.scraped and sample.lag_buckets:
        lag = f", loop lag p99 {fmt_bound(quantile_bound(lag_delta(previous, sample), 0.99))}"
    print(
        f"  +{sample.at - ready:5.0f}s  RSS {sample.rss / MIB:6.1f} MiB, scrape "
        f"{sample.scrape_seconds * 1e3:4.0f} ms, requests {len(fake.requests):,} realtime+events"
        f" / {len(fake.routes.requests)} pfx2as{lag}",
        flush=True,
    )


def run(
    args: argparse.Namespace,
    daemon: DaemonProcess,
    fake: FakeRadar,
    ris: FakeRisLive,
    work: Workload,
    plan: Plan,
    started: float,
) -> int:
    """Start the daemon and the stream's announcements, sample, stop, report."""
    port = args.port
    daemon.start()
    launched = time.monotonic()
    try:
        daemon.wait_ready(within=3 * plan.effective_interval + 120)
    except AssertionError:
        print(f"the daemon never became ready; its log:\n{daemon.log[-4000:]}")
        return 1
    ready = time.monotonic()
    synced = [ln for ln in daemon.log.splitlines() if "after an AS sync: " in ln]
    logged = synced[-1].split("after an AS sync: ", 1)[1].strip() if synced else "none"
    same = "the same plan" if logged == plan.describe() else f"another plan: {logged}"
    print(f"daemon ready after {ready - launched:.1f}s; its log after the sync gives {same}")
    streamer = Streamer(ris, work, 60.0 / args.updates_per_minute)
    streamer.start()
    samples: list[Sample] = []
    reads: list[Ages] = []
    warm: Sample | None = None
    previous: Sample | None = None
    warm_at, end_at = ready + args.warmup, ready + args.warmup + args.minutes * 60
    next_at, last_scrape, last_print, last_ages = ready, -1e9, ready, -1e9
    try:
        while True:
            time.sleep(max(0.0, next_at - time.monotonic()))
            if not daemon.alive():
                print(f"the daemon died; log tail:\n{daemon.log[-4000:]}")
                return 1
            now = time.monotonic()
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
            if warm is not None and (now - last_ages >= AGES_EVERY or now >= end_at):
                ages = read_ages(port)
                if ages is not None:
                    reads.append(ages)
                    last_ages = now
            if sample.scraped:
                if previous is not None and now - last_print >= PROGRESS_EVERY:
                    progress(ready, previous, sample, fake)
                    last_print, previous = now, sample
                previous = previous or sample
            if warm is not None and now >= end_at and sample.scraped and reads:
                break
            if now >= end_at + UNRESPONSIVE_LIMIT:
                print(f"the daemon did not answer for {UNRESPONSIVE_LIMIT:g}s: giving up")
                print(stop(daemon))
                return 2
            next_at = max(next_at + args.sample, time.monotonic())
    finally:
        streamer.close()
    assert warm is not None
    report(args, samples, warm, sample, fake, work, plan, reads, streamer, started)
    print(f"\n{stop(daemon)}")
    if args.profile:
        print(f"profile written to {args.profile} (python -m pstats {args.profile})")
    return 0


def main() -> int:
    """Run the benchmark; 1 if the daemon died or never became ready, 2 if it stopped
    answering, else 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--prefixes", type=int, default=10_000)
    parser.add_argument("--realtime", type=int, default=300, help="of them tier realtime")
    parser.add_argument("--interval", type=float, default=60.0, help="source.interval, seconds")
    parser.add_argument("--snapshot-interval", type=float, default=120.0, help="seconds")
    parser.add_argument("--budget", type=int, default=1000, help="requests per 5 minutes")
    parser.add_argument("--retries", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=6.0, help="measured after warm-up")
    parser.add_argument("--warmup", type=float, default=120.0, help="seconds after READY=1")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument("--scrape-every", type=float, default=15.0, help="/metrics, seconds")
    parser.add_argument("--updates-per-minute", type=float, default=12.0)
    parser.add_argument("--stream-prefixes", type=int, default=50)
    parser.add_argument("--special", type=int, default=10, help="RPKI-invalid, and poorly seen")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", type=Path, help="run the daemon under cProfile, to FILE")
    parser.add_argument("--keep-log", type=Path, help="copy the daemon's log to FILE at the end")
    args = parser.parse_args()
    if args.realtime + 2 * args.special + args.stream_prefixes > args.prefixes:
        parser.error("--realtime + 2 x --special + --stream-prefixes exceed --prefixes")

    started = time.monotonic()
    fake = FakeRadar(fault_rate=args.fault_rate, fault_seed=args.seed)
    fake.delay = 6.0  # a "timeout" outlives the client's 5 s deadline, then goes away
    with tempfile.TemporaryDirectory(prefix="bench-as-") as tmp_dir, fake, FakeRisLive() as ris:
        tmp = Path(tmp_dir)
        work = make_workload(args, fake)
        config, args.port = daemon_config(tmp, fake, ris, work, args)
        plan = planned(config, work)
        print(
            f"generated {args.prefixes:,} prefixes in {time.monotonic() - started:.1f}s; "
            f"fake: {args.fault_rate:.1%} random faults; the plan computed here:",
            flush=True,
        )
        for line in plan.lines():
            print(f"  {line}")
        profiler = ("-m", "cProfile", "-o", str(args.profile)) if args.profile else ()
        daemon = DaemonProcess(tmp, config, log_level=args.log_level, interpreter_args=profiler)
        try:
            return run(args, daemon, fake, ris, work, plan, started)
        finally:
            daemon.close()
            if args.keep_log is not None:
                shutil.copyfile(daemon.log_path, args.keep_log)


if __name__ == "__main__":
    sys.exit(main())
