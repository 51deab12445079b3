"""The snapshot tier: each AS's RIB snapshot read every planned interval, judged per prefix.

One `pfx2as?origin=ASN` answer gives the origin, RPKI status and peer count of every prefix
the AS originates. Each watched prefix of the snapshot tier becomes one snapshot view
(`PrefixView.snapshot`) from the answers of its expected origins, judged by the rules that make
sense on it. A prefix no answer lists is seen by no peer, and `visibility_below` says so. A
prefix fetched in real time since the snapshot was taken (a stream confirmation) keeps that
newer answer. An AS that cannot be fetched, or whose answer lists nothing (a glitch rather
than every prefix gone at once), is a failed fetch of each of its prefixes: their alerts freeze.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.as_sync import FetcherFor
from monitor.budget import Load, Plan
from monitor.core.measures import counted
from monitor.core.observation import ErrorKind, FetchFailure, Observation, OriginView, PrefixView
from monitor.core.origins import MAX_PREFIXES, AsPrefixes, OriginatedPrefix
from monitor.ops.waiting import rounds
from monitor.settings import Config, PrefixConfig, Tier
from monitor.sources.base import SourceError
from monitor.state import MonitorState, SnapshotStats

log = logging.getLogger(__name__)

#: Between rounds while no prefix is of the snapshot tier (a reload wakes the loop at once).
IDLE = 3600.0
#: Views handed on between two yields to the loop: 10,000 at once would stall it for a second.
CHUNK = 200


def snapshot_watches(config: Config) -> list[PrefixConfig]:
    """The watched prefixes of the snapshot tier."""
    return [p for p in config.prefixes if p.tier is Tier.SNAPSHOT]


def snapshot_asns(watches: Iterable[PrefixConfig]) -> list[int]:
    """The ASes whose snapshots cover `watches`: their expected origins."""
    return sorted({asn for w in watches for asn in w.origins})


def snapshot_load(config: Config) -> Load | None:
    """What the snapshots cost, for the budget plan (None: no prefix of the snapshot tier)."""
    asns = snapshot_asns(snapshot_watches(config))
    if not asns or config.source.type != "radar":
        return None
    what = counted(len(asns), "AS", "ASes")
    return Load("snapshots", what, len(asns), config.source.snapshot_interval)


@dataclass(frozen=True)
class Answered:
    """One AS's good answer and the peer count its visibilities are over."""

    answer: AsPrefixes
    total_peers: int


@dataclass(frozen=True)
class Snapshots:
    """One round's reads: each AS's good answer, and why the others failed."""

    answers: dict[int, Answered]
    failed: dict[int, tuple[ErrorKind, str]]


async def read_snapshots(
    fetcher_for: FetcherFor, asns: Iterable[int], caps: Mapping[int, int]
) -> Snapshots:
    """Each AS's snapshot (at most its cap of prefixes; the client's budget paces them)."""
    answers: dict[int, Answered] = {}
    failed: dict[int, tuple[ErrorKind, str]] = {}
    for asn in asns:
        try:
            answer = await fetcher_for(caps.get(asn, MAX_PREFIXES)).originated(asn)
        except SourceError as exc:
            failed[asn] = (exc.kind, f"the snapshot of AS{asn} could not be read: {exc}")
            continue
        except Exception:
            log.exception("snapshot of AS%d: unexpected error", asn)
            failed[asn] = (ErrorKind.INTERNAL, "internal error (see log)")
            continue
        if not answer.prefixes:
            failed[asn] = (
                ErrorKind.BAD_ANSWER,
                f"Radar's snapshot of AS{asn} lists no prefix at all",
            )
            continue
        peers = answer.total_peers or max(p.peer_count for p in answer.prefixes)
        answers[asn] = Answered(answer, peers)
    return Snapshots(answers, failed)


def snapshot_view(
    prefix: str, listed: Iterable[tuple[OriginatedPrefix, Answered]], data_time: datetime | None
) -> PrefixView:
    """The snapshot view of `prefix` from the answers' entries that list it, as of the
    `data_time` of the answers it was looked up in."""
    origins = tuple(
        OriginView(
            origin=entry.origin,
            prefix=prefix,
            rpki=entry.rpki,
            visible_peers=entry.peer_count,
            total_peers=got.total_peers,
            visibility=min(entry.peer_count / got.total_peers, 1.0) if got.total_peers else 0.0,
        )
        for entry, got in listed
    )
    return PrefixView(
        prefix=prefix,
        data_time=data_time,
        query_time=datetime.now(UTC),
        origins=origins,
        routes=(),
        collectors=(),
        snapshot=True,
    )


def observations(watches: Iterable[PrefixConfig], read: Snapshots) -> Iterator[Observation]:
    """Each watch's snapshot view, or the failed read of one of its origins' snapshots."""
    listed: dict[str, list[tuple[OriginatedPrefix, Answered]]] = {}
    for got in read.answers.values():
        for entry in got.answer.prefixes:
            listed.setdefault(entry.prefix, []).append((entry, got))
    for watch in watches:
        bad = next((asn for asn in sorted(watch.origins) if asn in read.failed), None)
        if bad is not None:
            kind, message = read.failed[bad]
            yield FetchFailure(watch.prefix, kind, message)
            continue
        entries = listed.get(watch.prefix, [])
        asked = [read.answers[a] for a in watch.origins] + [got for _, got in entries]
        times = [got.answer.data_time for got in asked if got.answer.data_time]
        yield snapshot_view(watch.prefix, entries, min(times, default=None))


class SnapshotPolling:
    """Reads every snapshot AS each planned interval and hands each prefix's view on."""

    def __init__(
        self,
        state: MonitorState,
        observe: Callable[[Observation], None],
        fetcher_for: FetcherFor | None,
        schedule: Plan,
        pause: Callable[[], Awaitable[object]] | None = None,
        judged: Callable[[], None] | None = None,
    ) -> None:
        self.state = state
        self._observe = observe
        #: Waited for between chunks of a round (the exposition's renders), and called after it.
        self._pause = pause
        self._judged = judged
        self.fetcher_for = fetcher_for
        self.plan = schedule
        self._wake = asyncio.Event()
        self._told_no_source = False
        self._asns = snapshot_asns(snapshot_watches(state.config))

    def replan(self, fetcher_for: FetcherFor | None, schedule: Plan) -> None:
        """Read through `fetcher_for` under `schedule` from now on; a round at once if the
        snapshot ASes or the interval changed (a sync within the same ASes costs no round)."""
        asns = snapshot_asns(snapshot_watches(self.state.config))
        changed = (
            asns != self._asns
            or self.plan.interval_of("snapshots") != schedule.interval_of("snapshots")
            or (self.fetcher_for is None) != (fetcher_for is None)
        )
        self.fetcher_for, self.plan, self._asns = fetcher_for, schedule, asns
        if changed:
            self._wake.set()

    async def run(self) -> None:
        """A round at start, then one per planned interval, until cancelled."""
        await rounds(self.poll_once, self._interval, self._wake, "snapshot round")

    def _interval(self) -> float:
        return self.plan.interval_of("snapshots") or IDLE

    async def poll_once(self) -> None:
        """One round: every snapshot AS, then every snapshot prefix."""
        watches = snapshot_watches(self.state.config)
        if not watches:
            self.state.snapshots = None
            return
        if self.fetcher_for is None:
            if not self._told_no_source:
                log.warning("tier: snapshot needs source type radar; those prefixes are not read")
                self._told_no_source = True
            return
        asns = snapshot_asns(watches)
        caps = {a.asn: a.max_prefixes for a in self.state.config.asns}
        read = await read_snapshots(self.fetcher_for, asns, caps)
        self._count(len(asns), read)
        started, handed = time.monotonic(), 0
        for i, observation in enumerate(observations(watches, read)):
            if i and not i % CHUNK:
                await asyncio.sleep(0)
                if self._pause is not None:
                    await self._pause()
            if self.state.status_of(observation.prefix) is None:
                continue  # a reload or sync removed it meanwhile
            handed += 1
            self._observe(observation)
        log.info(
            "snapshot round: %d prefixes of %d ASes judged in %.2fs",
            handed,
            len(asns),
            time.monotonic() - started,
        )
        if self._judged is not None:
            self._judged()

    def _count(self, asns: int, read: Snapshots) -> None:
        stats = self.state.snapshots or SnapshotStats()
        self.state.snapshots = stats
        stats.ases = asns
        stats.ok += len(read.answers)
        stats.failed += len(read.failed)
        if read.failed:
            stats.error = next(message for _, message in read.failed.values())
            log.warning(
                "snapshot round: %d of %d ASes failed: %s", len(read.failed), asns, stats.error
            )
        else:
            stats.error, stats.last_success = None, time.time()
        times = [a.answer.data_time for a in read.answers.values() if a.answer.data_time]
        if times:
            stats.data_time = min(times)
