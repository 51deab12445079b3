"""Decode RIS Live UPDATE frames into stream updates, against plain `json.loads` of the same bytes.

Run: python bench/bench_stream_decode.py   (prints frames/s and the cost per frame; target
at least 50,000 frames/s). Two workloads: the real captured single-prefix announcement
(`shared/radar-samples/rislive/ris_message_update_rrc21_v4.json`) again and again, and 20,000
distinct synthetic single-prefix frames (testkit/rislive_frames.py: 10,000 prefixes, 200 peers
on 20 collectors, paths of 2-8 hops, announcements and withdrawals, every timestamp different).
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.core.stream import StreamUpdate
from monitor.sources.rislive_wire import decode_frame
from testkit.rislive_frames import announcement, encode, withdrawal

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT.parent / "shared" / "radar-samples" / "rislive" / "ris_message_update_rrc21_v4.json"
TARGET = 50_000


def synthetic(count: int, seed: int = 1) -> list[bytes]:
    """`count` distinct frames: nine announcements to one withdrawal, as in a quiet stream."""
    rng = random.Random(seed)
    prefixes = [f"10.{i // 256}.{i % 256}.0/24" for i in range(5000)]
    prefixes += [f"2001:db8:{i:x}::/48" for i in range(5000)]
    peers = [(f"rrc{c:02d}", f"192.0.2.{p + 1}", 64496 + p) for c in range(20) for p in range(10)]
    frames = []
    for i in range(count):
        collector, peer, asn = rng.choice(peers)
        prefix = rng.choice(prefixes)
        stamp = 1_700_000_000 + i * 0.01
        if i % 10 == 9:
            frame = withdrawal(
                prefix, peer=peer, peer_asn=asn, collector=collector, timestamp=stamp
            )
        else:
            path = [asn, *(rng.randrange(1, 400_000) for _ in range(rng.randrange(1, 7))), 64511]
            frame = announcement(prefix, path, peer=peer, collector=collector, timestamp=stamp)
        frames.append(encode(frame).encode())
    return frames


def per_frame(
    fn: Callable[[bytes], object], frames: Sequence[bytes], repeat: int = 7
) -> tuple[float, float]:
    """Seconds per frame of the first pass over `frames` and the median of `repeat` passes."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        for frame in frames:
            fn(frame)
        runs.append((time.perf_counter() - start) / len(frames))
    return runs[0], statistics.median(runs)


def report(name: str, frames: Sequence[bytes]) -> None:
    _, baseline = per_frame(json.loads, frames)
    cold, ours = per_frame(decode_frame, frames)
    assert all(isinstance(decode_frame(f), StreamUpdate) for f in frames)
    size = statistics.mean(len(f) for f in frames)
    verdict = "meets" if 1 / ours >= TARGET else "MISSES"
    print(f"{name}: {len(frames)} frames of {size:.0f} bytes on average")
    print(f"  json.loads:     {baseline * 1e6:6.2f} us/frame  {1 / baseline:>9,.0f} frames/s")
    print(f"  decode_frame:   {ours * 1e6:6.2f} us/frame  {1 / ours:>9,.0f} frames/s")
    print(f"  first pass:     {cold * 1e6:6.2f} us/frame  {1 / cold:>9,.0f} frames/s (cold caches)")
    print(
        f"  ratio:          {ours / baseline:6.2f}x json.loads; "
        f"{verdict} the target of {TARGET:,} frames/s"
    )


def main() -> None:
    report("real frame (rrc21, one IPv4 prefix, repeated)", [SAMPLE.read_bytes()] * 20_000)
    report("synthetic frames (distinct, one prefix each)", synthetic(20_000))


if __name__ == "__main__":
    main()
