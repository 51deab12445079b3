"""The loop's work for one answer with many origins: judged, through the alert book, serialised.

Run: python bench/bench_origins.py   (prints ms per answer and the ratio to json.loads of it)
Each answer is synthetic (testkit/answers.py): one expected origin among N RPKI-invalid ones,
every one an unexpected origin too, so each judged origin can become two alerts. What the
daemon's event loop does per answer is the pipeline (cap, rules, alert book) and the JSON of
every alert that changed (what the store and the outbox write). Before evidence was bounded
this grew with N² (3,000 origins passed 4 GiB); the target is linear work and under 100 ms.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.config import parse_config
from monitor.core.lifecycle import AlertBook
from monitor.pipeline import Pipeline
from monitor.settings import Config
from monitor.sinks.outbox import Outbox
from monitor.sources.radar_routes import decode_routes
from monitor.state import MonitorState
from testkit.answers import OriginSpec, encode, make_answer

PREFIX = "192.0.2.0/24"
CONFIG = f"""
prefixes: [{{prefix: {PREFIX}, origins: [64500]}}]
rules:
  - {{name: rpki-invalid, type: rpki_invalid, severity: critical}}
  - {{name: unexpected-origin, type: unexpected_origin, severity: critical}}
  - {{name: low-visibility, type: visibility_below, threshold: 0.8, severity: warning}}
"""


def body(n: int) -> bytes:
    """A synthetic answer with the expected origin and `n` invalid others."""
    crowd = [OriginSpec(64500, visible=900, total=1000)]
    crowd += [OriginSpec(100_000 + i, rpki="invalid", visible=1 + i % 50) for i in range(n)]
    return encode(make_answer(PREFIX, crowd, n_routes=min(n, 5_000)))


def per_answer(config: Config, raw: bytes, polls: int = 5) -> tuple[float, int]:
    """Median seconds the loop spends per poll of `raw`, and the alerts it holds."""
    view = decode_routes(raw, PREFIX).result
    assert view is not None
    state = MonitorState(config, AlertBook(), Outbox())
    state.apply_config(config)
    pipeline = Pipeline(state, lambda events: None)
    times = []
    for _ in range(polls):
        start = time.perf_counter()
        pipeline.observe(view)
        for alert in state.book.alerts.values():
            json.dumps(alert.to_json())  # what the store writes for a changed alert
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2], len(state.book.alerts)


def main() -> None:
    logging.disable(logging.WARNING)  # the daemon's "only the 200 most visible" warning
    config = parse_config(CONFIG)
    head = f"{'origins':>8} {'body KiB':>9} {'alerts':>7} {'ms/answer':>10} {'json.loads ms':>14}"
    print(f"{head} ratio")
    for n in (500, 3_000, 20_000):
        raw = body(n)
        loads = min(_timed(json.loads, raw) for _ in range(5))
        spent, alerts = per_answer(config, raw)
        print(
            f"{n:>8} {len(raw) / 1024:>9.0f} {alerts:>7} {spent * 1000:>10.1f} "
            f"{loads * 1000:>14.1f} {spent / loads:5.2f}x"
        )


def _timed(fn: Callable[[bytes], object], arg: bytes) -> float:
    start = time.perf_counter()
    fn(arg)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
