"""The `asns:` syncs: what each AS originates, re-read every `sync` through the one Radar budget.

A good sync updates the AS's synced prefixes (`AsSyncStatus`); the watch list follows through
`on_change`, the same path a reload takes, so alert state is kept and the stream follows. The
first good sync is the baseline; after it, a newly originated prefix fires `unlisted_prefix`.
A prefix no longer originated stays watched for a whole `sync` period, then raises the
built-in `prefix-gone` once and is dropped. A failed sync, or an answer listing nothing, keeps
the last good list and raises `sync-failed` or `as-originates-nothing`.

With the stream on, RIS Live's origin-path subscription tells within seconds what the sync
would find later (`seen_on_stream`): after the AS's baseline, a prefix it originates that is
not watched, not inside a watched prefix and not excluded fires `unlisted_prefix` at once and
joins the synced prefixes, exactly as the next sync would add it. At most `STREAM_BURST` a
`STREAM_WINDOW` per AS are taken so (a router leaking a full table as its own must not add
900,000 watches); the rest are counted, logged once a minute, and left to the next sync.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Protocol

from monitor.as_watches import watchable
from monitor.config_asns import excluded
from monitor.core.finding import AS_ORIGINATES_NOTHING, PREFIX_GONE, SYNC_FAILED, Finding, Severity
from monitor.core.lifecycle import Policy, Scope, Timing
from monitor.core.origins import AsPrefixes, StreamOrigination, sync_subject
from monitor.ops.throttle import Throttled
from monitor.ops.waiting import until_set
from monitor.pipeline import EventSink
from monitor.rules import UnlistedPrefixRule
from monitor.settings import AsConfig
from monitor.sources.base import SourceError
from monitor.state import AsSyncStatus, MonitorState

log = logging.getLogger(__name__)

#: Timers may wake a hair early: "absent a whole period" allows for it.
SLACK = 0.5
#: Between rounds while no AS is configured (a reload wakes the loop at once).
IDLE = 3600.0
#: Prefixes the stream may add per AS in each window of this many seconds.
STREAM_BURST = 20
STREAM_WINDOW = 600.0


class OriginsFetcher(Protocol):
    """What the sync needs of the source: every prefix `asn` originates."""

    async def originated(self, asn: int) -> AsPrefixes:
        """The prefixes (at most the fetcher's cap), or a SourceError."""


#: The fetcher for an AS's cap of prefixes (None: the source is not Radar).
FetcherFor = Callable[[int], OriginsFetcher]


class AsSync:
    """Syncs every `asns:` entry when it is due and tells `on_change` when the list changed."""

    def __init__(
        self,
        state: MonitorState,
        sink: EventSink,
        fetcher_for: FetcherFor | None,
        on_change: Callable[[], Awaitable[None]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self._sink = sink
        self.fetcher_for = fetcher_for
        self._on_change = on_change
        self._clock = clock
        #: When each AS is due next (unix time); an AS not here is due at once.
        self._due: dict[int, float] = {}
        self._wake = asyncio.Event()
        self._told_no_source = False
        #: The budget plan's stretch of the background polls (1: as configured).
        self.stretch = 1.0
        #: Whether the stream added prefixes the watch list does not have yet.
        self._stream_added = False
        #: Per AS, the start of its stream window and the prefixes added in it.
        self._windows: dict[int, tuple[float, int]] = {}
        self._flood_log = Throttled(log, logging.WARNING)

    def replan(self, fetcher_for: FetcherFor | None) -> None:
        """Sync through `fetcher_for` from now on; ASes a reload added are synced at once."""
        self.fetcher_for = fetcher_for
        self._wake.set()

    async def run(self) -> None:
        """Sync what is due, then sleep until the next AS is, until cancelled."""
        while True:
            self._wake.clear()
            try:
                delay = await self.sync_due()
            except Exception:  # a bug in one round must not end every later sync
                log.exception("AS sync round failed unexpectedly")
                delay = 60.0
            await until_set(self._wake, delay)

    async def sync_due(self) -> float:
        """Sync every AS that is due; the seconds until the next one is."""
        entries = {e.asn: e for e in self.state.config.asns}
        changed = False
        for asn in [a for a in self.state.synced if a not in entries]:
            del self.state.synced[asn]  # a reload removed it: so are its generated watches
            self._due.pop(asn, None)
            self._windows.pop(asn, None)
            self._forget(asn)
            changed = True
        if entries and self.fetcher_for is None:
            if not self._told_no_source:
                log.warning("asns: needs source type radar; not syncing")
                self._told_no_source = True
            entries = {}
        for asn, entry in entries.items():
            now = self._clock()
            if self._due.get(asn, now) <= now:
                self._due[asn] = now + entry.sync * self.stretch
                changed |= await self.sync(entry, now)
        if self._stream_added:
            self._stream_added, changed = False, True
        if changed:
            await self._on_change()
        if not entries:
            return IDLE
        return max(0.0, min(self._due[a] for a in entries) - self._clock())

    async def sync(self, entry: AsConfig, now: float) -> bool:
        """Sync one AS at unix time `now`; whether its synced prefixes changed."""
        assert self.fetcher_for is not None
        status = self.state.synced.setdefault(entry.asn, AsSyncStatus())
        status.last_sync = now
        try:
            answer = await self.fetcher_for(entry.max_prefixes).originated(entry.asn)
        except SourceError as exc:
            return self._failed(entry, status, str(exc), now)
        except Exception:
            log.exception("sync of AS%d: unexpected error", entry.asn)
            return self._failed(entry, status, "internal error (see log)", now)
        baseline = status.last_success is None
        status.ok, status.error, status.last_success = True, None, now
        status.left_out = answer.left_out
        if answer.left_out:
            log.warning(
                "AS%d originates %d prefixes more than max_prefixes %d: they are not watched",
                entry.asn,
                answer.left_out,
                entry.max_prefixes,
            )
        if not answer.prefixes:
            # A typo or a Radar glitch, not a reason to stop watching: the list stays as it is.
            log.warning("AS%d originates nothing per Radar; its watch list is kept", entry.asn)
            self._judge(entry, [self._nothing(entry)], now)
            return False
        originated = watchable(entry, answer)
        new = [p for p in originated if p not in status.prefixes]
        unlisted = [] if baseline else [p for p in new if not self.state.watching(p)]
        before = set(status.prefixes)
        gone = self._age(entry, status, set(originated), now)
        for prefix in originated:
            status.prefixes[prefix] = None
        findings = [
            f
            for rule in entry.rules
            if isinstance(rule, UnlistedPrefixRule)
            for f in rule.judge_new(entry.asn, unlisted, entry.labels)
        ]
        findings += [self._gone(entry, prefix) for prefix in gone]
        self._judge(entry, findings, now)
        log.log(
            logging.INFO if baseline or new or gone else logging.DEBUG,
            "synced AS%d: %d prefixes watched, %d new, %d gone",
            entry.asn,
            len(status.prefixes),
            len(new),
            len(gone),
        )
        return set(status.prefixes) != before

    def seen_on_stream(self, seen: StreamOrigination) -> None:
        """The stream saw a synced AS originate a prefix outside the watch list: after the
        AS's baseline, fire `unlisted_prefix` now and watch the prefix, as the sync would."""
        status = self.state.synced.get(seen.asn)
        if status is None or status.last_success is None or seen.prefix in status.prefixes:
            return  # no baseline yet (before it nothing is new), or synced already
        entry = next((e for e in self.state.config.asns if e.asn == seen.asn), None)
        if entry is None or excluded(seen.prefix, entry.exclude):
            return
        rules = [r for r in entry.rules if isinstance(r, UnlistedPrefixRule)]
        if not rules or self.state.watching(seen.prefix) or not self._admit(entry, seen):
            return
        now = self._clock()
        status.prefixes[seen.prefix] = None
        status.stream_added += 1
        findings = [rule.judge_seen(seen, entry.labels) for rule in rules]
        subjects = {r.name: frozenset({sync_subject(entry.asn, seen.prefix)}) for r in rules}
        self._observe(entry, subjects, findings, now)
        log.info("AS%d originates %s per RIS Live: watched from now on", entry.asn, seen.prefix)
        self._stream_added = True
        self._wake.set()  # the run loop adopts the new watch list, as after a sync

    def _admit(self, entry: AsConfig, seen: StreamOrigination) -> bool:
        """Whether the stream may add one more prefix of `entry` in this window."""
        now = self._clock()
        start, added = self._windows.get(entry.asn, (now, 0))
        if now - start >= STREAM_WINDOW:
            start, added = now, 0
        if added >= STREAM_BURST:
            self.state.synced[entry.asn].stream_left_out += 1
            self._flood_log(
                f"AS{entry.asn} originates more prefixes not watched than the stream may add "
                f"({STREAM_BURST} per {STREAM_WINDOW:.0f}s), e.g. {seen.prefix}: left to the "
                "next sync"
            )
            return False
        self._windows[entry.asn] = (start, added + 1)
        return True

    @staticmethod
    def _age(entry: AsConfig, status: AsSyncStatus, originated: set[str], now: float) -> list[str]:
        """Mark prefixes no longer originated; drop those absent a whole period (returned)."""
        gone = []
        for prefix, since in list(status.prefixes.items()):
            if prefix in originated:
                continue
            if excluded(prefix, entry.exclude):
                del status.prefixes[prefix]  # a reload excluded it: never watched, never told
            elif since is None:
                status.prefixes[prefix] = now
                log.info("AS%d no longer originates %s; still watched for now", entry.asn, prefix)
            elif now - since >= entry.sync - SLACK:
                del status.prefixes[prefix]
                gone.append(prefix)
        return gone

    def _failed(self, entry: AsConfig, status: AsSyncStatus, error: str, now: float) -> bool:
        status.ok, status.error = False, error
        log.warning("sync of AS%d failed: %s; its last good list is kept", entry.asn, error)
        finding = Finding(
            SYNC_FAILED,
            "sync_failed",
            Severity.WARNING,
            None,
            f"what AS{entry.asn} originates could not be fetched: {error}; the last good list "
            f"of {len(status.prefixes)} prefixes stays watched",
            origin=entry.asn,
            labels=dict(entry.labels),
        )
        self._judge(entry, [finding], now, only=SYNC_FAILED)
        return False

    @staticmethod
    def _nothing(entry: AsConfig) -> Finding:
        return Finding(
            AS_ORIGINATES_NOTHING,
            "as_originates_nothing",
            Severity.WARNING,
            None,
            f"Radar lists no prefix originated by AS{entry.asn}: a typo in asns:, or the AS "
            "announces nothing; the last good list (if any) stays watched",
            origin=entry.asn,
            labels=dict(entry.labels),
        )

    @staticmethod
    def _gone(entry: AsConfig, prefix: str) -> Finding:
        return Finding(
            PREFIX_GONE,
            "prefix_gone",
            Severity.INFO,
            None,
            f"AS{entry.asn} has not originated {prefix} for a whole sync period "
            f"({entry.sync:.0f}s); it is no longer watched",
            origin=entry.asn,
            labels=dict(entry.labels),
            event=sync_subject(entry.asn, prefix),
        )

    def _forget(self, asn: int) -> None:
        """Resolve the sync alerts of `asn`, which the config no longer syncs."""
        mine = f"AS{asn} "
        subjects: dict[str, set[str]] = {}
        for key in self.state.book.alerts:
            about = key.subject.startswith(mine) or (
                key.subject == str(asn) and key.rule in (SYNC_FAILED, AS_ORIGINATES_NOTHING)
            )
            if about and not key.prefix:
                subjects.setdefault(key.rule, set()).add(key.subject)
        if not subjects:
            return
        n = self.state.config.notifications
        policy = Policy(n.repeat_interval, n.send_resolved, {}, self.state.config.silences)
        scope = Scope(prefix="", subjects={r: frozenset(s) for r, s in subjects.items()})
        when = datetime.fromtimestamp(self._clock(), UTC)
        self._sink(self.state.book.observe(scope, [], None, when, policy))

    def _judge(
        self, entry: AsConfig, findings: list[Finding], now: float, only: str | None = None
    ) -> None:
        """Raise `findings`; resolve this AS's sync alerts they no longer include (a failed
        sync, `only` set, speaks for `sync-failed` alone)."""
        book = self.state.book
        mine = f"AS{entry.asn} "
        per_prefix = {PREFIX_GONE} | {
            r.name for r in entry.rules if isinstance(r, UnlistedPrefixRule)
        }
        subjects = {
            rule: frozenset(
                k.subject
                for k in book.alerts
                if k.rule == rule and not k.prefix and k.subject.startswith(mine)
            )
            for rule in per_prefix
        }
        subjects |= {SYNC_FAILED: frozenset({str(entry.asn)})}
        subjects |= {AS_ORIGINATES_NOTHING: frozenset({str(entry.asn)})}
        if only is not None:
            subjects = {only: subjects[only]}
        self._observe(entry, subjects, findings, now)

    def _observe(
        self,
        entry: AsConfig,
        subjects: dict[str, frozenset[str]],
        findings: list[Finding],
        now: float,
    ) -> None:
        """Judge `subjects` of `entry`'s alerts by `findings` (those not found resolve)."""
        config = self.state.config
        n = config.notifications
        timings = {r.name: Timing(r.for_, r.keep_firing_for) for r in entry.rules}
        policy = Policy(n.repeat_interval, n.send_resolved, timings, config.silences)
        when = datetime.fromtimestamp(now, UTC)
        scope = Scope(prefix="", subjects=subjects)
        self._sink(self.state.book.observe(scope, findings, None, when, policy))
