"""bench_as_scale's workload: three synthetic ASes at the fake Radar, the daemon's config and
plan, and the stream's announcements."""

from __future__ import annotations

import argparse
import collections
import random
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_workload import RULES, make_prefixes

from monitor.as_watches import expand
from monitor.budget import Plan
from monitor.config import load_config
from monitor.planning import plan_for
from monitor.state import AsSyncStatus
from testkit.answers import OriginSpec
from testkit.config import daemon_yaml, write_config
from testkit.fakeradar import FakeRadar
from testkit.fakeradar_routes import Announcement
from testkit.fakerislive import FakeRisLive
from testkit.receivers import free_port

ASNS = (64500, 64501, 64502)
UPSTREAM = 174


@dataclass(frozen=True)
class Workload:
    """The run's prefixes: each one's AS, and which are realtime, special or streamed."""

    origin: dict[str, int]
    realtime: list[str]
    streamed: list[str]
    kinds: collections.Counter[str]


def make_workload(args: argparse.Namespace, fake: FakeRadar) -> Workload:
    """The prefixes, served by `fake` (pfx2as for all, realtime for those that get fetched)."""
    rng = random.Random(args.seed)
    prefixes = make_prefixes(args.prefixes, rng)
    origin = {p: ASNS[i % len(ASNS)] for i, p in enumerate(prefixes)}
    realtime = prefixes[: args.realtime]
    snapshot = prefixes[args.realtime :]
    invalid = set(snapshot[: args.special])
    low = set(snapshot[args.special : 2 * args.special])
    streamed = snapshot[2 * args.special : 2 * args.special + args.stream_prefixes]
    kinds: collections.Counter[str] = collections.Counter()
    for p in prefixes:
        if p in invalid:
            kind, peers, rpki = "rpki-invalid", rng.randint(1700, 1950), "INVALID"
        elif p in low:
            kind, peers, rpki = "low-visibility", 300, "VALID"
        else:
            kind, peers = "normal", rng.randint(1700, 1950)
            rpki = "UNKNOWN" if rng.random() < 0.2 else "VALID"
        kinds[kind] += 1
        fake.routes.announce(Announcement(p, origin[p], peers, rpki))
    for i, p in enumerate([*realtime, *streamed]):
        spec = OriginSpec(origin[p], ratio=rng.uniform(0.93, 0.99))
        fake.set_prefix(p, [spec], n_routes=200, seed=i)
    return Workload(origin, realtime, streamed, kinds)


def daemon_config(
    folder: Path, fake: FakeRadar, ris: FakeRisLive, work: Workload, args: argparse.Namespace
) -> tuple[Path, int]:
    """The config: three snapshot-tier ASes, the realtime ones listed, the stream; its path
    and the metrics port."""
    port = free_port()
    source = {
        "interval": f"{args.interval:g}s",
        "snapshot_interval": f"{args.snapshot_interval:g}s",
        "timeout": "5s",
        "retries": args.retries,
        "budget": args.budget,
        "budget_window": "5m",
        "max_failures": 3,
    }
    prefixes = [
        f"{{prefix: {p}, origins: [{work.origin[p]}], tier: realtime, description: important {i}}}"
        for i, p in enumerate(work.realtime)
    ]
    rules = [
        *RULES,
        "{name: radar-hijack, type: radar_hijack, severity: critical}",
        "{name: radar-leak, type: radar_leak, severity: warning}",
    ]
    text = daemon_yaml(
        fake.base_url,
        prefixes,
        rules,
        source=source,
        port=port,
        state=folder / "state.db",
        stream={"url": ris.url},
    )
    text += "asns:\n" + "".join(
        f"  - {{asn: {asn}, description: synthetic AS{asn}, sync: 6h, tier: snapshot,"
        f" upstreams: [{UPSTREAM}]}}\n"
        for asn in ASNS
    )
    return write_config(folder, text), port


def planned(config: Path, work: Workload) -> Plan:
    """The plan for `config` once its three ASes are synced, as the daemon makes it."""
    synced = {asn: AsSyncStatus() for asn in ASNS}
    for prefix, asn in work.origin.items():
        synced[asn].prefixes[prefix] = None
    return plan_for(expand(load_config(config), synced))


class Streamer:
    """Plays one expected-path announcement every `every` seconds, for the next streamed
    prefix that the daemon has subscribed, from a thread."""

    def __init__(self, ris: FakeRisLive, work: Workload, every: float) -> None:
        self.ris, self.work, self.every = ris, work, every
        self.sent: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        turn = 0
        while not self._stop.wait(self.every):
            subscribed = self.ris.subscriptions()
            ready = [p for p in self.work.streamed if p in subscribed]
            if not ready:
                continue
            prefix = ready[turn % len(ready)]
            turn += 1
            self.ris.announce(prefix, [64496, UPSTREAM, self.work.origin[prefix]])
            self.sent.append((time.monotonic(), prefix))
