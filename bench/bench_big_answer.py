"""Worst event-loop lag while the Radar client takes in one large answer, inline vs as shipped.

Run: python bench/bench_big_answer.py   (prints the worst lag of a 10 ms timer, in ms)
The answers are synthetic (testkit/answers.py), served by the fake Radar on loopback. The
baseline decodes the same bytes on the loop, as the client did before; the client itself
decodes bodies above THREAD_DECODE_BYTES in a thread. Target: under 100 ms up to the cap.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.settings import SourceConfig
from monitor.sources.factory import make_source
from monitor.sources.radar_routes import decode_routes
from testkit.answers import OriginSpec, encode, make_answer
from testkit.fakeradar import DEFAULT_TOKEN, FakeRadar

PREFIX = "192.0.2.0/24"


async def worst_lag(work: asyncio.Future[object]) -> float:
    """The largest extra delay of a 10 ms timer while `work` runs."""
    worst = 0.0
    while not work.done():
        start = time.perf_counter()
        await asyncio.sleep(0.01)
        worst = max(worst, time.perf_counter() - start - 0.01)
    await work
    return worst


async def main() -> None:
    async with FakeRadar() as fake:
        config = SourceConfig(base_url=fake.base_url, timeout=60.0, retries=0)
        print(f"{'routes':>8} {'MiB':>6} {'inline ms':>10} {'client ms':>10} ratio")
        for n in (20_000, 60_000, 150_000):
            body = encode(make_answer(PREFIX, [OriginSpec(64500)], n_routes=n))
            fake.set_prefix(PREFIX, body=body)
            started = time.perf_counter()
            decode_routes(body, PREFIX)  # on the loop: the whole time is a stall
            inline = time.perf_counter() - started
            source = make_source(config, require_token=True)
            try:
                client = await worst_lag(asyncio.ensure_future(source.fetch(PREFIX)))
            finally:
                await source.close()
            print(
                f"{n:>8} {len(body) / 2**20:>6.1f} {inline * 1000:>10.0f} "
                f"{client * 1000:>10.0f} {client / inline:5.2f}x"
            )


if __name__ == "__main__":
    os.environ.setdefault("CLOUDFLARE_API_TOKEN", DEFAULT_TOKEN)  # as the daemon reads it
    asyncio.run(main())
