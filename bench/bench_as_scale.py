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
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from as_report import report
from as_workload import Streamer, Workload, daemon_config, make_workload, planned
from probe import Ages, Sample, read_ages, stop
from sampling import Sampling, start
from summary import MIB, fmt_bound, lag_delta, quantile_bound

from monitor.budget import Plan
from testkit.daemon import DaemonProcess
from testkit.fakeradar import FakeRadar
from testkit.fakerislive import FakeRisLive

AGES_EVERY = 60.0


class AsSampling(Sampling):
    """The sampling loop with bench_as_scale's progress line, reading the data ages too."""

    died = "the daemon died; log tail:"
    unresponsive = "the daemon did not answer for {limit:g}s: giving up"

    def __init__(
        self, args: argparse.Namespace, daemon: DaemonProcess, fake: FakeRadar, ready: float
    ) -> None:
        super().__init__(args, daemon, args.port, fake, ready)
        self.reads: list[Ages] = []
        self._last_ages = -1e9

    def progress(self, sample: Sample) -> None:
        """One line: elapsed, RSS, scrape time, loop-lag p99 since the previous progress line."""
        previous, fake = self.last_line, self.fake
        lag = ""
        if previous is not None and previous.scraped and sample.scraped and sample.lag_buckets:
            lag = f", loop lag p99 {fmt_bound(quantile_bound(lag_delta(previous, sample), 0.99))}"
        print(
            f"  +{sample.at - self.ready:5.0f}s  RSS {sample.rss / MIB:6.1f} MiB, scrape "
            f"{sample.scrape_seconds * 1e3:4.0f} ms, requests {len(fake.requests):,} "
            f"realtime+events / {len(fake.routes.requests)} pfx2as{lag}",
            flush=True,
        )

    def read_more(self, now: float) -> None:
        """The data ages from the status page, once a minute and at the end."""
        if self.warm is not None and (now - self._last_ages >= AGES_EVERY or now >= self.end_at):
            ages = read_ages(self.port)
            if ages is not None:
                self.reads.append(ages)
                self._last_ages = now

    def done(self) -> bool:
        """The report needs at least one reading of the ages."""
        return bool(self.reads)


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
    started_up = start(daemon, within=3 * plan.effective_interval + 120)
    if started_up is None:
        return 1
    ready, took = started_up
    synced = [ln for ln in daemon.log.splitlines() if "after an AS sync: " in ln]
    logged = synced[-1].split("after an AS sync: ", 1)[1].strip() if synced else "none"
    same = "the same plan" if logged == plan.describe() else f"another plan: {logged}"
    print(f"daemon ready after {took:.1f}s; its log after the sync gives {same}")
    streamer = Streamer(ris, work, 60.0 / args.updates_per_minute)
    streamer.start()
    sampling = AsSampling(args, daemon, fake, ready)
    try:
        code = sampling.run()
    finally:
        streamer.close()
    if code:
        return code
    assert sampling.warm is not None
    samples, reads = sampling.samples, sampling.reads
    report(args, samples, sampling.warm, samples[-1], fake, work, plan, reads, streamer, started)
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
