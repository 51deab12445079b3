"""What following an AS by its origin path costs the stream's hot path, per frame.

Run: python bench/bench_origin_tap.py [FRAMES]   (default 500,000)
Hands the same SYNTHETIC frames (`churn` in testkit/rislive_frames.py: announcements of 10,000
watched /24s, nineteen in twenty originated by AS64500) to a RisLiveSource's frame handler
three times: following no AS, following AS64500 (every route is looked at, all are watched, so
none is handed on) and following AS64500 with nothing watched (every such route is handed on,
as before the AS's first sync). Prints frames/s and µs per frame for each; no socket, no RIB.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.core.origins import StreamOrigination
from monitor.sources.rislive import RisLiveSource
from testkit.rislive_frames import churn

PREFIXES = [f"10.{i // 256}.{i % 256}.0/24" for i in range(10_000)]


def run(frames: list[str], total: int, watched: list[str], origins: list[int]) -> tuple[float, int]:
    """Seconds to handle `total` frames, and how many originations were handed on."""
    handed: list[StreamOrigination] = []
    source = RisLiveSource(
        watched,
        on_update=lambda update, at: None,
        on_status=lambda status: None,
        on_canary=lambda at: None,
        on_error=lambda message: None,
        on_malformed=lambda reason: None,
        origins=origins,
        on_origination=handed.append,
    )
    handle = source._handle  # the frame handler the socket reader calls
    started = time.perf_counter()
    for i in range(total):
        handle(frames[i % len(frames)], 0.0)
    return time.perf_counter() - started, len(handed)


def main(total: int) -> None:
    frames = churn(PREFIXES, 50_000)
    run(frames, len(frames), PREFIXES, [])  # warm the decoder's caches
    for label, watched, origins in (
        ("no AS followed", PREFIXES, []),
        ("AS64500 followed, all watched", PREFIXES, [64500]),
        ("AS64500 followed, none watched", [], [64500]),
    ):
        seconds, handed = run(frames, total, watched, origins)
        print(
            f"{label}: {total / seconds:,.0f} frames/s ({seconds / total * 1e6:.2f} µs/frame), "
            f"{handed:,} originations handed on"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500_000)
