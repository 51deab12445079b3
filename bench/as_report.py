"""bench_as_scale's results: the requests per budget window by class, the data ages per tier,
and the table."""

from __future__ import annotations

import argparse
import bisect
import collections
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from as_workload import ASNS, Streamer, Workload
from probe import Ages, Sample, alert_states
from summary import (
    LAG_TARGET,
    MIB,
    cpu_shares,
    fmt_bound,
    lag_delta,
    print_table,
    quantile_bound,
    slope_per_minute,
    verdict,
)

from monitor.budget import Plan
from monitor.core.measures import duration
from testkit.fakeradar import FakeRadar

RSS_TARGET = 150e6  # bytes: "under 150 MB"
SCRAPE_TARGET = 0.25
PLAN_TOLERANCE = 0.01
EVENT_KINDS = ("hijacks:", "leaks:")


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
    cpu, bench_cpu, machine, other = cpu_shares(warm, end)

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
    print_table(rows)
    print()
    states = alert_states(args.port)
    print("alerts at the end: " + (", ".join(f"{k}: {v}" for k, v in sorted(states.items()))))
