"""What the issue-11 rules cost per evaluation: they run on every stream update of a prefix.

Run: python bench/bench_path_rules.py   (prints µs per evaluation and ns per route)
Each view is synthetic: N routes of 2-8 ASes from RIS-like peers through a few transits to the
origin, a third of them prepended, 5% through a leaking upstream. The rules are loaded from
YAML as the daemon loads them (patterns compiled once). The target is linear work: the ns per
route stays flat as N grows from 100 to 100,000.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.config import parse_config
from monitor.core.observation import OriginView, PrefixView, RouteView, RpkiStatus
from monitor.core.target import Target

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
OWNER, LEAKER = 64500, 64999
TRANSIT = (174, 1299, 2914, 3257, 3356, 6453, 6939)
CONFIG = """
prefixes: [{prefix: 192.0.2.0/23, origins: [64500]}]
rules:
  - {name: more-specific, type: more_specific, severity: critical, origins: any}
  - {name: via-174, type: as_path, severity: warning, match: " 174 64500$", not_match: "^6939 "}
  - {name: long-paths, type: as_path, severity: warning, max_length: 6}
  - {name: new-upstream, type: upstream, severity: critical, upstreams: [174, 3356]}
"""


def view(n: int, seed: int = 0) -> PrefixView:
    """A more-specific's view with `n` routes, an expected and an unexpected origin."""
    rng = random.Random(seed)
    routes = []
    for i in range(n):
        upstream = LEAKER if i % 20 == 0 else rng.choice((174, 3356))
        middle = rng.sample(TRANSIT, rng.randint(0, 5))
        tail = [OWNER] * rng.choice((1, 1, 2, 3))
        path = (rng.randint(1, 400_000), *middle, upstream, *tail)
        routes.append(RouteView(as_path=path, collector=f"rrc{i % 26:02d}", prefix="192.0.2.0/25"))
    origins = (
        OriginView(OWNER, "192.0.2.0/25", RpkiStatus.VALID, n, n + 10, n / (n + 10)),
        OriginView(666, "192.0.2.0/25", RpkiStatus.INVALID, 14, n + 10, 14 / (n + 10)),
    )
    return PrefixView("192.0.2.0/25", NOW, NOW, origins, tuple(routes), ())


def main() -> None:
    rules = parse_config(CONFIG).rules
    target = Target("192.0.2.0/25", frozenset({OWNER}), parent="192.0.2.0/23", max_length=24)
    print(f"{'routes':>8}  " + "  ".join(f"{r.name:>22}" for r in rules))
    for n in (100, 1_000, 10_000, 100_000):
        v = view(n)
        cells = []
        for rule in rules:
            rounds = max(3, 200_000 // n)
            best = float("inf")
            for _ in range(5):
                start = time.perf_counter()
                for _ in range(rounds):
                    list(rule.evaluate(target, v, NOW))
                best = min(best, (time.perf_counter() - start) / rounds)
            cells.append(f"{best * 1e6:10.1f} µs {best * 1e9 / n:6.0f} ns/r")
        print(f"{n:>8}  " + "  ".join(f"{c:>22}" for c in cells))


if __name__ == "__main__":
    main()
