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
import collections
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import probe
from load_report import report
from load_workload import Watched, daemon_config, make_workload
from probe import Sample, stop
from sampling import Sampling, start
from summary import MIB, fmt_bound, lag_delta, quantile_bound

from testkit.daemon import DaemonProcess
from testkit.fakeradar import FakeRadar
from testkit.faults import DEFAULT_RANDOM_FAULTS
from testkit.receivers import free_port


class LoadSampling(Sampling):
    """The sampling loop with bench_load's progress line."""

    def progress(self, sample: Sample) -> None:
        """One line: elapsed, RSS, request rate, loop-lag p99 since the previous scrape."""
        first, previous = self.samples[0], self.last_scraped
        assert previous is not None
        elapsed = max(sample.at - previous.at, 1e-9)
        rate = (sample.fake_requests - previous.fake_requests) / elapsed
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
    probe.SCRAPE_GZIP = not args.no_gzip
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


def run(
    args: argparse.Namespace,
    daemon: DaemonProcess,
    port: int,
    fake: FakeRadar,
    watched: list[Watched],
    started: float,
) -> int:
    """Start the daemon, sample it through warm-up and window, stop it, report."""
    started_up = start(daemon, within=3 * args.interval + 60)
    if started_up is None:
        return 1
    ready, took = started_up
    plan = [line.split("plan: ", 1)[1] for line in daemon.log.splitlines() if "plan: " in line]
    print(f"daemon ready after {took:.1f}s; the budget plan:")
    for line in plan:
        print(f"  {line}")
    print(f"sampling every {args.sample:g}s (warm-up {args.warmup:g}s, then {args.minutes:g} min)")

    sampling = LoadSampling(args, daemon, port, fake, ready)
    code = sampling.run()
    if code:
        return code
    warm, samples = sampling.warm, sampling.samples
    assert warm is not None
    failed = [line for line in daemon.log.splitlines() if "fetch failed" in line]
    report(args, samples, warm, samples[-1], fake, watched, port, failed)
    fake.fault_rate = 0.0  # no new "timeout" handlers, which would outlive the daemon
    stop_started = time.monotonic()
    print(f"\n{stop(daemon)}; benchmark took {time.monotonic() - started:.0f}s")
    time.sleep(max(0.0, fake.delay - (time.monotonic() - stop_started)))  # let them finish
    if args.profile:
        print(f"profile written to {args.profile} (python -m pstats {args.profile})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
