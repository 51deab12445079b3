"""One /metrics render at 10,000 prefixes in this process: where a scrape's CPU goes.

Run: python bench/bench_metrics.py [--prefixes 10000] [--scrapes 20] [--changed 0.125]
[--moas 0.05] [--same] [--profile FILE]

It builds a daemon state (SYNTHETIC: `--prefixes` /24s, one expected origin each, RPKI valid,
`--moas` of them also originated by a second, unexpected AS) and renders it with the daemon's
`Metrics.render_snapshot`, gzip as Prometheus asks, `--scrapes` times. Before each render
`--changed` of the prefixes get a new answer (new numbers and data time), as polling every
120 s between scrapes every 15 s does; with `--same` the new answers keep their numbers (a new
data time only), as a snapshot round over a quiet RIB does (`--changed 1 --same`). It prints
the median and max milliseconds of a render (snapshot, text, gzip) and its CPU time, the text
and gzip sizes and the series; `--profile` writes cProfile's stats of the renders. No event
loop or HTTP: bench/bench_load.py measures the whole daemon.
"""

from __future__ import annotations

import argparse
import cProfile
import random
import statistics
import sys
import time
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.config import parse_config
from monitor.core.lifecycle import AlertBook
from monitor.core.observation import OriginView, PrefixView, RpkiStatus
from monitor.exposition.metrics import Metrics
from monitor.sinks.outbox import Outbox
from monitor.state import MonitorState

OWNER, OTHER = 64500, 64999


def build_state(prefixes: int) -> MonitorState:
    """`prefixes` watched /24s, each expected from OWNER (synthetic, no answers yet)."""
    nets = [f"10.{i // 256 % 256}.{i % 256}.0/24" for i in range(prefixes)]
    watched = "\n".join(f"  - {{prefix: {n}, origins: [{OWNER}]}}" for n in nets)
    config = parse_config(f"prefixes:\n{watched}\nrules: []")
    state = MonitorState(config, AlertBook(), Outbox())
    state.apply_config(config)
    return state


def answer(
    state: MonitorState, prefix: str, moas: bool, rng: random.Random, same: bool = False
) -> None:
    """A new answer for `prefix`: OWNER seen by most peers, and OTHER too when `moas`; with
    `same`, the numbers of the last answer again (in new objects), as a quiet RIB gives."""
    status = state.prefixes[prefix]
    if same and status.view is not None:
        origins = [replace(o) for o in status.view.origins]
    else:
        total = rng.randint(900, 1000)
        seen = rng.randint(800, total)
        origins = [OriginView(OWNER, prefix, RpkiStatus.VALID, seen, total, seen / total)]
        if moas:
            origins.append(OriginView(OTHER, prefix, RpkiStatus.INVALID, 10, total, 10 / total))
    now = datetime.now(UTC) - timedelta(seconds=rng.randint(0, 60))
    status.view = PrefixView(prefix, now, now, tuple(origins), (), ())
    status.routes = rng.randint(200, 500)
    status.last_success = time.time()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefixes", type=int, default=10_000)
    parser.add_argument("--scrapes", type=int, default=20)
    parser.add_argument("--changed", type=float, default=0.125, help="share per scrape")
    parser.add_argument("--moas", type=float, default=0.05, help="share with a second origin")
    parser.add_argument(
        "--same",
        action="store_true",
        help="changed answers keep their numbers (new data time only), as a snapshot round does",
    )
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the renders here")
    args = parser.parse_args()
    rng = random.Random(1)
    state = build_state(args.prefixes)
    prefixes = list(state.prefixes)
    moas = set(rng.sample(prefixes, int(len(prefixes) * args.moas)))
    for prefix in prefixes:
        answer(state, prefix, prefix in moas, rng)
    metrics = Metrics(lambda: state)
    metrics.render_snapshot(state.snapshot(), gzip=True)  # the first render formats everything
    profiler = cProfile.Profile() if args.profile else None
    times: list[float] = []
    cpu: list[float] = []
    body = b""
    for _ in range(args.scrapes):
        for prefix in rng.sample(prefixes, int(len(prefixes) * args.changed)):
            answer(state, prefix, prefix in moas, rng, args.same)
        started, cpu_started = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        body, _ = metrics.render_snapshot(state.snapshot(), gzip=True)
        if profiler:
            profiler.disable()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    if profiler and args.profile:
        profiler.dump_stats(args.profile)
    text = zlib.decompress(body, wbits=31)
    series = sum(1 for line in text.splitlines() if line and not line.startswith(b"#"))
    ms = sorted(t * 1000 for t in times)
    print(
        f"{args.prefixes} prefixes ({len(moas)} with two origins), {args.changed:.1%} changed"
        f"{' (same numbers, new data time)' if args.same else ''}"
        f" before each of {args.scrapes} renders"
    )
    print(
        f"render (snapshot, text, gzip): median {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms"
        f" ({statistics.median(cpu) * 1000:.0f} ms CPU median: the machine's other load aside)"
    )
    print(
        f"size: {len(text) / 2**20:.2f} MiB text, {len(body) / 2**20:.2f} MiB gzip,"
        f" {series:,} series"
    )


if __name__ == "__main__":
    main()
