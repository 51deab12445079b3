"""The daemon's live state, written by the pipeline and read by metrics, the API and the page."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from datetime import datetime

from monitor.budget import Plan
from monitor.core.collectors import CollectorFreshness
from monitor.core.finding import Finding
from monitor.core.lifecycle import Alert, AlertBook, AlertState
from monitor.core.observation import CollectorView, PrefixView
from monitor.settings import Config, PrefixConfig, Tier
from monitor.sinks.outbox import Outbox

#: Data older than this many cycles (and at least the floor) is not fresh: /readyz fails.
FRESH_CYCLES = 3
FRESH_FLOOR = 120.0
#: The loop may miss this many cycles (plus slack for a slow one) before it counts as stalled:
#: /healthz fails and the systemd watchdog is no longer pinged.
HEARTBEAT_CYCLES = 3
HEARTBEAT_SLACK = 30.0


@dataclass
class PrefixStatus:
    """The latest we know about one watched prefix."""

    watch: PrefixConfig
    view: PrefixView | None = None  # kept without its routes (see `Pipeline`)
    last_success: float | None = None  # unix time of the last view
    failures: int = 0  # consecutive failed fetches
    error: str | None = None  # the last fetch's error, None after a success
    routes: int = 0  # routes in the last view
    #: Unix time the last answer showed any route (a more-specific is forgotten without one).
    last_shown: float | None = None

    def copy(self) -> PrefixStatus:
        """A shallow copy, every field included; a third of `dataclasses.replace`'s time, which
        matters because a snapshot copies all 10,000 on the event loop."""
        twin = object.__new__(PrefixStatus)
        twin.__dict__.update(self.__dict__)
        return twin


@dataclass
class StreamStats:
    """What the metrics and the status page say about the stream (copied once a second)."""

    connected: bool = False
    down_reason: str = ""
    updates: int = 0
    malformed: int = 0
    reconnects: int = 0
    last_canary: float | None = None
    more_specifics: int = 0
    routes_refused: int = 0
    confirms_done: int = 0
    confirms_dropped: int = 0
    #: Messages by kind (`MESSAGE_KINDS`) and subscriptions by state (`SUBSCRIPTION_STATES`).
    messages: dict[str, int] = field(default_factory=dict)
    subscriptions: dict[str, int] = field(default_factory=dict)


@dataclass
class EventsPollStats:
    """How the polls of one of Radar's detectors went (one per kind: `hijack`, `leak`)."""

    ases: int = 0
    #: Polls of one AS (all its pages) by outcome, since start.
    ok: int = 0
    failed: int = 0
    #: Unix time of the last round in which every AS was fetched.
    last_success: float | None = None
    #: Rounds in a row with a failed AS, and the last failure.
    failures: int = 0
    error: str | None = None


@dataclass
class SnapshotStats:
    """How the reads of the snapshot tier's AS answers went."""

    ases: int = 0
    #: Reads of one AS by outcome, since start.
    ok: int = 0
    failed: int = 0
    #: Unix time of the last round in which every AS was read, and the last failure.
    last_success: float | None = None
    error: str | None = None
    #: When Radar took the oldest snapshot of the last good answers.
    data_time: datetime | None = None


@dataclass
class AsSyncStatus:
    """What the syncs of one `asns:` entry found, kept across syncs and reloads."""

    #: Each synced prefix, and since when (unix time) the AS no longer originates it (None: it
    #: does). A prefix absent for a whole `sync` period is dropped.
    prefixes: dict[str, float | None] = field(default_factory=dict)
    #: Unix time of the last attempt and of the last good sync; None before the first.
    last_sync: float | None = None
    last_success: float | None = None
    #: The last attempt's outcome (None: none yet) and its error.
    ok: bool | None = None
    error: str | None = None
    #: Prefixes beyond `max_prefixes` the last answer listed and that were left out.
    left_out: int = 0
    #: Prefixes the stream saw the AS originate and added before a sync did, and those it
    #: left to the next sync (above the stream's quota): counts since start.
    stream_added: int = 0
    stream_left_out: int = 0


@dataclass
class MonitorState:
    """Everything the sinks show; mutated only on the daemon's event loop."""

    config: Config
    book: AlertBook
    outbox: Outbox
    prefixes: dict[str, PrefixStatus] = field(default_factory=dict)
    #: More-specifics the stream found inside watched prefixes: temporary watches (their
    #: `watch.parent` names the watched prefix), polled and judged like the others.
    more_specifics: dict[str, PrefixStatus] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    first_cycle_done: bool = False
    last_cycle_completed: float | None = None
    effective_interval: float = 60.0
    loop_heartbeat: float = field(default_factory=time.monotonic)
    reload_ok: bool = True
    reload_time: float = field(default_factory=time.time)
    store_error: str | None = None
    auth_error: str | None = None
    freshness: CollectorFreshness = field(default_factory=CollectorFreshness)
    #: Each view's latest findings per prefix: an alert resolves only when both agree.
    radar_findings: dict[str, list[Finding]] = field(default_factory=dict)
    stream_findings: dict[str, list[Finding]] = field(default_factory=dict)
    #: None while no stream is configured.
    stream: StreamStats | None = None
    #: The polls of Radar's detectors, by kind, while a rule on them is configured.
    events: dict[str, EventsPollStats] = field(default_factory=dict)
    #: The `asns:` syncs, by AS, while the config has the AS.
    synced: dict[int, AsSyncStatus] = field(default_factory=dict)
    #: None while no prefix is of the snapshot tier.
    snapshots: SnapshotStats | None = None
    #: The budget plan in force: each prefix's planned fetch interval follows from it.
    plan: Plan | None = None

    def snapshot(self) -> MonitorState:
        """A copy that later changes on the loop do not reach (views are immutable, shared)."""
        return dataclasses.replace(
            self,
            prefixes={k: v.copy() for k, v in self.prefixes.items()},
            more_specifics={k: v.copy() for k, v in self.more_specifics.items()},
            book=AlertBook(self.book.alerts.values()),
            outbox=Outbox(self.outbox.items.values()),
            freshness=CollectorFreshness(self.freshness.views),
            events={k: dataclasses.replace(v) for k, v in self.events.items()},
            snapshots=dataclasses.replace(self.snapshots) if self.snapshots else None,
            synced={
                k: dataclasses.replace(v, prefixes=dict(v.prefixes)) for k, v in self.synced.items()
            },
        )

    def collectors(self) -> dict[str, CollectorView]:
        """The freshest view of every collector across all prefixes."""
        return self.freshness.views

    def status_of(self, prefix: str) -> PrefixStatus | None:
        """The status of a watched prefix or of a more-specific watched for a while."""
        return self.prefixes.get(prefix) or self.more_specifics.get(prefix)

    def watching(self, prefix: str) -> bool:
        """Whether `prefix` is watched, by the config or as a more-specific inside it."""
        return prefix in self.prefixes or prefix in self.more_specifics

    def apply_config(self, config: Config) -> None:
        """Adopt a new config: keep the status of prefixes still watched, drop the others.

        A more-specific stays while its parent is watched (with the parent's new settings),
        and stops being temporary once the config watches it.
        """
        self.config = config
        old = self.prefixes
        self.prefixes = {}
        for watch in config.prefixes:
            status = old.get(watch.prefix) or PrefixStatus(watch)
            status.watch = watch
            self.prefixes[watch.prefix] = status
        temporary, self.more_specifics = self.more_specifics, {}
        for prefix, status in temporary.items():
            parent = self.prefixes.get(status.watch.parent or "")
            if parent is not None and prefix not in self.prefixes:
                status.watch = parent.watch.more_specific(prefix)
                self.more_specifics[prefix] = status

    def active_alerts(self) -> list[Alert]:
        """Pending and firing alerts, most severe first, then by prefix, rule and subject."""
        alerts = [
            a
            for a in self.book.alerts.values()
            if a.state in (AlertState.PENDING, AlertState.FIRING)
        ]
        return sorted(
            alerts, key=lambda a: (a.finding.severity.rank, a.key.prefix, a.key.rule, a.key.subject)
        )

    def fetch_interval(self, watch: PrefixConfig) -> float:
        """How often `watch` is fetched under the plan in force: its planned data age."""
        snapshots = self.plan.interval_of("snapshots") if self.plan else None
        if watch.tier is Tier.SNAPSHOT and snapshots is not None:
            return snapshots
        return self.effective_interval

    @property
    def max_data_age(self) -> float:
        """How old the newest view may be while the data still counts as fresh (read live):
        some cycles of the tier that fetches most often."""
        tiers = {s.watch.tier: s.watch for s in self.prefixes.values()}
        fastest = min((self.fetch_interval(w) for w in tiers.values()), default=0.0)
        return max(FRESH_CYCLES * (fastest or self.effective_interval), FRESH_FLOOR)

    def health_problem(self) -> str | None:
        """Why the daemon's loop looks stuck, or None while it keeps beating."""
        silent = time.monotonic() - self.loop_heartbeat
        limit = HEARTBEAT_CYCLES * self.effective_interval + HEARTBEAT_SLACK
        if silent < limit:
            return None
        return f"scheduler loop stalled: no heartbeat for {silent:.0f}s (limit {limit:.0f}s)"

    def readiness_problems(self) -> list[str]:
        """Every reason not to trust what the daemon reports now; empty when ready."""
        problems = []
        if not self.first_cycle_done:
            problems.append("no cycle completed yet")
        successes = [s.last_success for s in self.prefixes.values() if s.last_success is not None]
        if not successes:
            problems.append("no fresh data: no successful answer yet")
        else:
            age = time.time() - max(successes)
            if age >= self.max_data_age:
                problems.append(f"no fresh data: last answer {age:.0f}s ago")
        if self.store_error:
            problems.append(f"state database unavailable: {self.store_error}")
        for b in self.outbox.backlogs().values():
            # An alert that cannot reach on-call is as bad as no data.
            problems.append(f"channel {b.channel} is failing: {b.queued} queued; {b.error}")
        return problems
