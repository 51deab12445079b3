"""The numbers both load reports compute from `Sample`s, and their table.

Loop-lag percentiles (bucket upper bounds), least-squares slopes, CPU shares, PASS/FAIL and the
aligned results table.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from probe import Sample

MIB = 1024 * 1024
#: The loop-lag target: p99 under 100 ms.
LAG_TARGET = 0.1


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


def cpu_shares(warm: Sample, end: Sample) -> tuple[float, float, float, float]:
    """Cores used between two samples: the daemon, this benchmark (with its fakes), the whole
    machine, and other processes (the machine less the first two)."""
    window = end.at - warm.at
    cpu = (end.cpu - warm.cpu) / window
    bench_cpu = (end.bench_cpu - warm.bench_cpu) / window
    machine = (end.machine_busy - warm.machine_busy) / window
    return cpu, bench_cpu, machine, max(0.0, machine - cpu - bench_cpu)


def verdict(ok: bool) -> str:
    """PASS or FAIL."""
    return "PASS" if ok else "FAIL"


def print_table(rows: Sequence[tuple[str, ...]]) -> None:
    """The results: measure, value, target, ratio and result, in aligned columns."""
    header = ("measure", "value", "target", "ratio", "result")
    widths = [max(len(r[i]) for r in [header, *rows]) + 2 for i in range(4)]
    for row in [header, *rows]:
        print("".join(f"{cell:<{w}}" for cell, w in zip(row, widths, strict=False)) + row[4])
