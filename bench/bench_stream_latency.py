"""Detection latency: a stream frame of a sub-prefix hijack → the webhook receiving the page.

Run: python bench/bench_stream_latency.py [TRIALS]   (default 100; prints p50, p90, p99, max)
The real daemon process streams from a fake RIS Live on loopback and notifies a local JSON
webhook through Apprise; the frames are synthetic (testkit/rislive_frames.py). Each trial
announces a new /24 inside the watched /16 from three RIS peers, waits for its page, then
withdraws it and waits out the grouping window (`group_wait` 0.5 s here), so that each page is
the leading edge of a group, as a real incident after quiet is. BGPalerter writes its alert
0.15-0.5 s after the frame; the target here is p50 at most 0.5 s and p99 at most 1 s, and the
page never waits for the confirming fetch.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testkit.config import daemon_yaml, webhook, write_config
from testkit.daemon import DaemonProcess
from testkit.fakeradar import FakeRadar
from testkit.fakerislive import FakeRisLive
from testkit.receivers import LoopThread, Receiver, free_port
from testkit.waiting import wait_for

WATCHED = "10.20.0.0/16"
PEERS = ("192.0.2.1", "192.0.2.2", "192.0.2.3")
GROUP_WAIT = 0.5


def main(trials: int) -> None:
    loop = LoopThread()
    receiver = Receiver()
    loop.run(receiver.start())
    with tempfile.TemporaryDirectory() as tmp, FakeRadar() as fake, FakeRisLive() as ris:
        text = daemon_yaml(
            fake.base_url,
            [f"{{prefix: {WATCHED}, origins: [64500]}}"],
            ["{name: sub-prefix, type: more_specific, severity: critical}"],
            source={"interval": "10m"},
            # The leading edge of a group leaves at once; what follows within group_wait waits
            # for the window. Trials are spaced beyond it, so each is a first alert.
            notifications=webhook(receiver.url("hook"), f"{GROUP_WAIT}s"),
            port=free_port(),
            state=Path(tmp) / "state.db",
            stream={"url": ris.url, "confirm_interval": "1s"},
        )
        daemon = DaemonProcess(Path(tmp), write_config(Path(tmp), text), log_level="warning")
        daemon.start()
        try:
            daemon.wait_ready()
            wait_for(lambda: WATCHED in ris.subscriptions(), what="the subscription")
            latencies = []
            for i in range(trials):
                prefix = f"10.20.{i % 250}.0/24"
                before = len(receiver.at("hook"))
                sent = time.monotonic()
                for peer in PEERS:
                    ris.announce(prefix, [3356, 666], peer=peer)

                def paged(n: int = before, p: str = prefix) -> bool:
                    posts = receiver.at("hook")[n:]
                    return any(
                        p in x.doc["title"] and "firing" in x.doc["title"].lower() for x in posts
                    )

                wait_for(paged, within=30, what=f"the page for {prefix}")
                first = next(x.at for x in receiver.at("hook")[before:] if prefix in x.doc["title"])
                latencies.append(first - sent)
                for peer in PEERS:
                    ris.withdraw(prefix, peer=peer)
                time.sleep(2 * GROUP_WAIT + 0.2)  # the resolution's window, then quiet
        finally:
            daemon.stop()
    loop.run(receiver.stop())
    loop.stop()
    ordered = sorted(latencies)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    print(f"{trials} trials, frame → webhook, seconds:")
    print(
        f"  p50 {statistics.median(ordered):.3f}  p90 {pick(0.9):.3f}  p99 {pick(0.99):.3f}  "
        f"max {ordered[-1]:.3f}   (target p50 <= 0.5, p99 <= 1.0; BGPalerter 0.15-0.5)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
