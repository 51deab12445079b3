"""bench_load's results: the polls counted at the fake, and the table."""

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

from load_workload import Watched
from probe import Sample, alert_states, last_successes
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

from testkit.fakeradar import FakeRadar

RSS_FLAT = 1.05


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
    cpu, bench_cpu, machine, other = cpu_shares(warm, end)
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
    print_table(rows)
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
