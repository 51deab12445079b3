"""Decode + evaluate one ~2,000-route Radar answer, against plain `json.loads` of the same bytes.

Run: python bench/bench_decode.py   (prints per-call times and the ratio; target <= 1.5x)
The answer is synthetic (testkit/answers.py): no real realtime answer is public.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.config import parse_config
from monitor.pipeline import judge
from monitor.sources.radar_routes import decode_routes
from testkit.answers import OriginSpec, encode, make_answer

PREFIX = "192.0.2.0/24"
CONFIG = parse_config(
    f"""
prefixes:
  - {{prefix: {PREFIX}, origins: [64500]}}
rules:
  - {{name: rpki-invalid, type: rpki_invalid, severity: critical, include_unknown: true}}
  - {{name: unexpected-origin, type: unexpected_origin, severity: critical}}
  - {{name: low-visibility, type: visibility_below, threshold: 0.8, severity: warning}}
  - {{name: stale-collectors, type: stale_collector, max_age: 30m, severity: warning}}
  - {{name: stale-radar, type: stale_data, max_age: 15m, severity: warning}}
"""
)


def best_of(fn: Callable[[], object], repeat: int = 7, number: int = 20) -> float:
    """Median seconds per call over `repeat` runs of `number` calls."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - start) / number)
    return statistics.median(runs)


def main() -> None:
    body = encode(
        make_answer(
            PREFIX,
            [OriginSpec(64500, ratio=0.9), OriginSpec(64666, rpki="invalid", ratio=0.05)],
            n_routes=2000,
            n_collectors=50,
            ts_style="fraction",
            seed=1,
        )
    )
    watch = CONFIG.prefixes[0]
    now = datetime.now(UTC)

    def ours() -> object:
        envelope = decode_routes(body, PREFIX)
        assert envelope.result is not None
        return judge(watch, envelope.result, now).findings

    answer = decode_routes(body, PREFIX).result
    assert answer is not None and len(answer.routes) >= 1900, "expected ~2,000 routes"
    baseline = best_of(lambda: json.loads(body))
    measured = best_of(ours)
    print(
        f"answer: {len(body) / 1024:.0f} KiB, {len(answer.routes)} routes, "
        f"{len(answer.collectors)} collectors, {len(judge(watch, answer, now).findings)} findings"
    )
    print(f"json.loads:         {baseline * 1e3:8.3f} ms")
    print(f"decode + evaluate:  {measured * 1e3:8.3f} ms")
    print(f"ratio:              {measured / baseline:8.2f}x json.loads (target <= 1.5x)")


if __name__ == "__main__":
    main()
