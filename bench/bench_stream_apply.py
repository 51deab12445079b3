"""Stream throughput: frames decoded and applied (RIB, judged in batches) for 10,000 prefixes.

Run: python bench/bench_stream_apply.py [FRAMES]   (default 1,000,000)
Prints frames/s, the cost per frame against `json.loads` of the same bytes in the same run,
and the peak RSS. The frames are synthetic (`churn` in testkit/rislive_frames.py): 50,000
announcements of the 10,000 watched /24s by 300 RIS peers, one hijacked origin in twenty,
sent again and again. Changed prefixes are judged together in batches of what 50,000 frames/s
bring within the judge's delay, as in the daemon (20 ms, growing to 250 ms under a flood).
Targets: 50,000 frames/s, RSS under 150 MB.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.config import parse_config
from monitor.core.lifecycle import AlertBook
from monitor.core.rib import StreamRib
from monitor.core.stream import StreamUpdate
from monitor.more_specifics import MoreSpecifics
from monitor.sinks.outbox import Outbox
from monitor.sources.rislive_wire import decode_frame
from monitor.state import MonitorState
from monitor.stream_judge import StreamJudge
from testkit.rislive_frames import churn

#: Frames a second the batches are timed for: a batch is what arrives within `judge.delay`.
RATE = 50_000
PREFIXES = [f"10.{i // 256}.{i % 256}.0/24" for i in range(10_000)]
CONFIG = (
    "rules:\n  - {name: hijack, type: unexpected_origin, severity: critical}\nprefixes:\n"
    + "".join(f"  - {{prefix: {p}, origins: [64500]}}\n" for p in PREFIXES)
)


async def main(total: int) -> None:
    config = parse_config(CONFIG)
    state = MonitorState(config, AlertBook(), Outbox())
    state.apply_config(config)
    watches = MoreSpecifics(state, lambda: None)
    rib = StreamRib(PREFIXES)
    judge = StreamJudge(state, rib, lambda events: None, lambda prefix: None, watches)
    batch = churn(PREFIXES, 50_000)
    started = time.perf_counter()
    due = int(judge.delay * RATE)
    for i in range(total):
        message = decode_frame(batch[i % len(batch)])
        if isinstance(message, StreamUpdate):
            judge.observe(message)
        if i == due:
            judge.flush()
            due = i + int(judge.delay * RATE)
    judge.flush()
    applied = time.perf_counter() - started
    started = time.perf_counter()
    for i in range(total):
        json.loads(batch[i % len(batch)])
    loads = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{total} frames: {total / applied:,.0f} frames/s decoded and applied "
        f"({applied / total * 1e6:.1f} µs/frame, {applied / loads:.2f}x json.loads); "
        f"{len(state.book.alerts)} alerts; peak RSS {rss:.0f} MiB (targets 50,000/s, 150 MB)"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000))
