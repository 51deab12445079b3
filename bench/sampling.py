"""Starting the daemon, and the sampling loop both load benchmarks run from READY=1 to the end.

Every `--sample` seconds: check that the daemon lives, take a `Sample` (with a /metrics scrape
every `--scrape-every` seconds, and always at the two ends of the window, a failed one retried at
the next sample), note the end of the warm-up, print a progress line now and then, and stop once
the end is scraped (or give up when the daemon stops answering). A benchmark subclasses
`Sampling` for its progress line and whatever else it reads while sampling.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from probe import Sample, stop, take_sample
from summary import MIB

from testkit.daemon import DaemonProcess
from testkit.fakeradar import FakeRadar

PROGRESS_EVERY = 30.0
#: How long past the end the benchmark keeps trying to read /metrics before giving up.
UNRESPONSIVE_LIMIT = 120.0


def start(daemon: DaemonProcess, within: float) -> tuple[float, float] | None:
    """Start `daemon` and wait for READY=1: (when it was ready, seconds it took), or None (and
    its log printed) if it never was."""
    daemon.start()
    launched = time.monotonic()
    try:
        daemon.wait_ready(within=within)
    except AssertionError:
        print(f"the daemon never became ready; its log:\n{daemon.log[-4000:]}")
        return None
    ready = time.monotonic()
    return ready, ready - launched


class Sampling:
    """Samples `daemon` from `ready` through `--warmup` seconds and `--minutes` of window."""

    #: The first line printed when the daemon died (`code`: its exit code), and when it stopped
    #: answering (`limit`: seconds).
    died = "the daemon died (exit {code}); log tail:"
    unresponsive = "the daemon did not answer /metrics for {limit:g}s: giving up"

    def __init__(
        self,
        args: argparse.Namespace,
        daemon: DaemonProcess,
        port: int,
        fake: FakeRadar,
        ready: float,
    ) -> None:
        self.args, self.daemon, self.port, self.fake, self.ready = args, daemon, port, fake, ready
        self.samples: list[Sample] = []
        self.warm: Sample | None = None  # the first scraped sample after the warm-up
        self.last_scraped: Sample | None = None  # the scraped sample before this one
        self.last_line: Sample | None = None  # the scraped sample of the last progress line
        self.warm_at = ready + args.warmup
        self.end_at = ready + args.warmup + args.minutes * 60

    def progress(self, sample: Sample) -> None:
        """Print one progress line for `sample` (scraped)."""
        raise NotImplementedError

    def read_more(self, now: float) -> None:
        """Read whatever else the benchmark needs after a sample (nothing here)."""

    def done(self) -> bool:
        """Whether the benchmark has what it needs to end, besides the final scrape."""
        return True

    def run(self) -> int:
        """Sample to the end: 0, or 1 if the daemon died, 2 if it stopped answering."""
        args, daemon = self.args, self.daemon
        next_at, last_scrape, last_print = self.ready, -1e9, self.ready
        while True:
            time.sleep(max(0.0, next_at - time.monotonic()))
            if not daemon.alive():
                print(self.died.format(code=daemon.proc and daemon.proc.returncode))
                print(daemon.log[-4000:])
                return 1
            now = time.monotonic()
            # The window's two ends need a scrape; a failed one is tried again at the next sample.
            boundary = (self.warm is None and now >= self.warm_at) or now >= self.end_at
            with_scrape = boundary or now - last_scrape >= args.scrape_every - 0.01
            sample = take_sample(daemon, self.port, self.fake, with_scrape)
            self.samples.append(sample)
            if with_scrape:
                last_scrape = now
            if sample.scrape_error:
                print(
                    f"  +{now - self.ready:5.0f}s  /metrics failed: {sample.scrape_error}",
                    flush=True,
                )
            if self.warm is None and now >= self.warm_at and sample.scraped:
                self.warm = sample
                print(f"  warm-up over: RSS {sample.rss / MIB:.1f} MiB; measuring", flush=True)
            self.read_more(now)
            if sample.scraped:
                if self.last_scraped is not None and now - last_print >= PROGRESS_EVERY:
                    self.progress(sample)
                    last_print, self.last_line = now, sample
                self.last_scraped = sample
                self.last_line = self.last_line or sample
            if self.warm is not None and now >= self.end_at and sample.scraped and self.done():
                return 0
            if now >= self.end_at + UNRESPONSIVE_LIMIT:
                print(self.unresponsive.format(limit=UNRESPONSIVE_LIMIT))
                print(stop(daemon))  # SIGTERM, so that a profile still gets written
                return 2
            next_at = max(next_at + args.sample, time.monotonic())
