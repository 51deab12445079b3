"""Radar's own hijack and leak detectors, asked on their own schedule within the one budget.

Each round asks each detector once per AS (the expected origins of the prefixes a
`radar_hijack` or `radar_leak` rule applies to), keeps each AS's last good list, and judges
the union with the alert book. An AS that could not be fetched keeps its last good list, so
no alert resolves because a poll failed; rounds failing `source.max_failures` times in a row
raise the built-in `events-unreachable` alert for that detector.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Protocol

from monitor.budget import Load, Plan
from monitor.core.finding import EVENTS_UNREACHABLE, Finding, Severity
from monitor.core.lifecycle import Policy, Scope, Timing
from monitor.core.measures import counted
from monitor.core.radar_event import EventKind, RadarEvent
from monitor.ops.waiting import rounds
from monitor.pipeline import EventSink
from monitor.rules import EventRule
from monitor.settings import Config
from monitor.sources.base import SourceError
from monitor.state import EventsPollStats, MonitorState

log = logging.getLogger(__name__)


class EventsFetcher(Protocol):
    """What the poller needs of the source: every recent event of `kind` involving `asn`."""

    async def fetch(self, kind: EventKind, asn: int) -> list[RadarEvent]:
        """The events, or a SourceError."""


def event_rules(config: Config) -> list[EventRule]:
    """The configured rules on Radar's detectors."""
    return [r for r in config.rules if isinstance(r, EventRule)]


def watched_asns(config: Config, rule: EventRule) -> frozenset[int]:
    """The expected origins of every prefix `rule` applies to (a prefix may disable it), and
    every `asns:` entry's AS it applies to."""
    return frozenset(
        asn
        for p in config.prefixes
        if any(r.name == rule.name for r in p.rules)
        for asn in p.origins
    ) | {a.asn for a in config.asns if any(r.name == rule.name for r in a.rules)}


def events_load(config: Config) -> Load | None:
    """What the events polls cost, for the budget plan (None: no rule on Radar's detectors).

    The shortest `events_interval` of the rules paces every detector poll; one page per AS is
    planned (answers cover a week: a second page is rare, and the budget's headroom absorbs it).
    """
    rules = event_rules(config)
    if not rules or config.source.type != "radar":
        return None
    polls = {(r.kind, asn) for r in rules for asn in watched_asns(config, r)}
    ases = len({asn for _, asn in polls})
    return Load(
        "events", counted(ases, "AS", "ASes"), len(polls), min(r.events_interval for r in rules)
    )


class EventsPolling:
    """Polls Radar's detectors every planned interval and turns the events into alerts."""

    def __init__(
        self,
        state: MonitorState,
        sink: EventSink,
        fetcher: EventsFetcher | None,
        schedule: Plan,
    ) -> None:
        self.state = state
        self._sink = sink
        self.fetcher = fetcher
        self.plan = schedule
        #: Each (kind, AS)'s last good list: a failed poll changes nothing about its events.
        self._last: dict[tuple[EventKind, int], list[RadarEvent]] = {}
        self._wake = asyncio.Event()
        self._told_no_source = False

    def replan(self, fetcher: EventsFetcher | None, schedule: Plan) -> None:
        """Poll through `fetcher` under `schedule` from now on, starting a round at once."""
        self.fetcher, self.plan = fetcher, schedule
        self._wake.set()

    async def run(self) -> None:
        """A round at start, then one per planned interval, until cancelled."""
        await rounds(self.poll_once, self._interval, self._wake, "Radar events round")

    def _interval(self) -> float:
        return self.plan.interval_of("events") or 3600.0

    async def poll_once(self, now: datetime | None = None) -> None:
        """One round: each detector a rule needs, for each of its ASes; then judge."""
        config = self.state.config
        rules = event_rules(config)
        kinds = {r.kind for r in rules}
        for kind in list(self.state.events):
            if kind not in kinds:
                del self.state.events[kind]  # a reload removed its rules
        if not rules:
            return
        if self.fetcher is None:
            if not self._told_no_source:
                log.warning("rules on Radar's detectors need source type radar; not polling")
                self._told_no_source = True
            return
        for kind in sorted(kinds):
            mine = [r for r in rules if r.kind is kind]
            asns = frozenset().union(*(watched_asns(config, r) for r in mine))
            failed = await self._fetch_all(kind, asns)
            self._judge(kind, mine, failed, now or datetime.now(UTC))

    async def _fetch_all(self, kind: EventKind, asns: frozenset[int]) -> dict[int, str]:
        """Fetch every AS (the client's budget paces them); what failed, and why."""
        assert self.fetcher is not None
        stats = self.state.events.setdefault(kind.value, EventsPollStats())
        stats.ases = len(asns)
        failed: dict[int, str] = {}
        for asn in sorted(asns):
            try:
                self._last[(kind, asn)] = await self.fetcher.fetch(kind, asn)
            except SourceError as exc:
                failed[asn] = str(exc)
            except Exception:
                log.exception("%s events of AS%d: unexpected error", kind.value, asn)
                failed[asn] = "internal error (see log)"
        stats.ok += len(asns) - len(failed)
        stats.failed += len(failed)
        if failed:
            stats.failures += 1
            stats.error = "; ".join(f"AS{a}: {m}" for a, m in sorted(failed.items()))
            log.log(
                logging.WARNING if stats.failures == 1 else logging.INFO,
                "%s events: %d of %d ASes could not be fetched (%d rounds in a row): %s",
                kind.value,
                len(failed),
                len(asns),
                stats.failures,
                stats.error,
            )
        else:
            stats.failures, stats.error, stats.last_success = 0, None, time.time()
        return failed

    def _judge(
        self, kind: EventKind, rules: list[EventRule], failed: dict[int, str], now: datetime
    ) -> None:
        config = self.state.config
        book = self.state.book
        findings: list[Finding] = []
        subjects: dict[str, frozenset[str]] = {}
        for rule in rules:
            lists = [self._last.get((kind, asn)) for asn in watched_asns(config, rule)]
            events = {e.id: e for found in lists for e in found or ()}
            mine = list(rule.judge_events(events.values()))
            findings += mine
            seen = {f.subject for f in mine}
            if all(found is not None for found in lists):
                # Every AS has a list: an alert whose event none lists (or lists as over) ends.
                seen |= {k.subject for k in book.alerts if k.rule == rule.name and not k.prefix}
            subjects[rule.name] = frozenset(seen)
        stats = self.state.events[kind.value]
        max_failures = config.source.max_failures
        if failed and stats.failures >= max_failures:
            findings.append(self._unreachable(kind, stats, len(failed), max_failures))
        subjects[EVENTS_UNREACHABLE] = frozenset({kind.value})
        n = config.notifications
        timings = {r.name: Timing(r.for_, r.keep_firing_for) for r in rules}
        policy = Policy(n.repeat_interval, n.send_resolved, timings, config.silences)
        self._sink(book.observe(Scope(prefix="", subjects=subjects), findings, None, now, policy))

    @staticmethod
    def _unreachable(
        kind: EventKind, stats: EventsPollStats, failed: int, max_failures: int
    ) -> Finding:
        return Finding(
            EVENTS_UNREACHABLE,
            "events_unreachable",
            Severity.WARNING,
            None,
            f"Radar's {kind.value} events could not be fetched for {failed} of {stats.ases} "
            f"ASes, {stats.failures} rounds in a row: {stats.error}; their last good lists are "
            f"kept, so no {kind.value} alert resolves until they can be fetched again",
            value=float(stats.failures),
            threshold=float(max_failures),
            event=kind.value,
        )
