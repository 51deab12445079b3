"""Observation → rules → lifecycle → events: the one path for `run`, `once` and `demo`.

`judge` and `judge_failure` are pure: they say which findings a view (or a failed fetch)
produces and which alert keys it decides about. `Pipeline` feeds them into the alert book
and hands the resulting events on; `merge_findings` is what `once` does with them instead.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from monitor.core.bounds import capped
from monitor.core.evidence import Evidence, StreamEvidence
from monitor.core.finding import SOURCE_AUTH, SOURCE_UNREACHABLE, AlertKey, Finding, Severity
from monitor.core.lifecycle import AlertEvent, Policy, Scope, Timing
from monitor.core.observation import ErrorKind, FetchFailure, Observation, PrefixView
from monitor.settings import Config, PrefixConfig
from monitor.state import MonitorState, PrefixStatus

log = logging.getLogger(__name__)

#: Where events go: log, outbox, store, and the demo's printer.
EventSink = Callable[[list[AlertEvent]], None]


class StreamCompanion(Protocol):
    """The stream's side of a prefix, which a Radar answer is judged together with."""

    def refresh(self, prefix: str, now: datetime) -> None:
        """Judge the stream's view of `prefix` again with Radar's latest answer."""

    def evidence(self, prefix: str, expected: frozenset[int]) -> StreamEvidence | None:
        """What RIS peers route of `prefix` now."""


@dataclass(frozen=True)
class Judgement:
    """The findings of one observation, and the alert keys it speaks for."""

    scope: Scope
    findings: list[Finding]
    evidence: Evidence


def judge(watch: PrefixConfig, view: PrefixView, now: datetime) -> Judgement:
    """Every rule that applies to `watch`, evaluated on `view` (on a snapshot, the rules that
    judge one: the others' alerts stay as they are until a realtime answer)."""
    target = watch.target
    rules = [r for r in watch.rules if r.on_snapshot] if view.snapshot else watch.rules
    findings = [f for rule in rules for f in rule.evaluate(target, view, now)]
    collectors = frozenset(c.name for c in view.collectors)
    scope = Scope(
        prefix=watch.prefix,
        rules=frozenset(r.name for r in rules if r.per_prefix) | {SOURCE_UNREACHABLE},
        subjects={r.name: collectors for r in rules if not r.per_prefix}
        | {SOURCE_AUTH: frozenset({""})},
    )
    return Judgement(scope, findings, Evidence.capture(target, watch.description, view))


def judge_failure(
    watch: PrefixConfig, failure: FetchFailure, failures: int, max_failures: int
) -> Judgement:
    """The built-in source alerts for the `failures`-th failed fetch in a row.

    No data is not "resolved": only the built-in source alerts change on a failure.
    """
    evidence = Evidence.capture(watch.target, watch.description, None)
    if failure.kind is ErrorKind.AUTH:
        # The source-wide alert explains every prefix's failure: paging per prefix as well
        # would bury it. Source-unreachable is neither raised nor resolved meanwhile.
        auth = Finding(SOURCE_AUTH, "source_auth", Severity.CRITICAL, None, failure.message)
        return Judgement(Scope(prefix=watch.prefix), [auth], evidence)
    findings: list[Finding] = []
    # Someone else's more-specific that cannot be fetched is no outage of ours.
    if failures >= max_failures and watch.parent is None:
        findings.append(
            Finding(
                SOURCE_UNREACHABLE,
                "source_unreachable",
                Severity.WARNING,
                watch.prefix,
                f"{watch.prefix} could not be fetched {failures} times in a row: "
                f"{failure.message}; its other alerts are frozen until data returns",
                value=float(failures),
                threshold=float(max_failures),
                labels=dict(watch.labels),
            )
        )
    scope = Scope(prefix=watch.prefix, rules=frozenset({SOURCE_UNREACHABLE}))
    return Judgement(scope, findings, evidence)


def merge_findings(judgements: Iterable[Judgement]) -> list[Finding]:
    """Findings over all prefixes of one check; source-wide findings (collectors) appear once."""
    merged: dict[AlertKey, Finding] = {}
    for judgement in judgements:
        for finding in judgement.findings:
            merged.setdefault(finding.key, finding)
    return list(merged.values())


def union(first: list[Finding], second: list[Finding]) -> list[Finding]:
    """Both views' findings of a prefix, one per alert key (the first view's wins)."""
    held = {f.key for f in first}
    return [*first, *(f for f in second if f.key not in held)]


def policy(config: Config, watch: PrefixConfig | None) -> Policy:
    """The lifecycle settings for `watch`'s rules (None: only what every alert shares)."""
    n = config.notifications
    timings = {r.name: Timing(r.for_, r.keep_firing_for) for r in (watch.rules if watch else ())}
    return Policy(n.repeat_interval, n.send_resolved, timings, config.silences)


class Pipeline:
    """Judges each observation, runs the alert book, and hands the events to `sink`."""

    def __init__(self, state: MonitorState, sink: EventSink) -> None:
        self.state = state
        self._sink = sink
        #: Prefixes whose answers had too many origins, already said in the log.
        self._capped: set[str] = set()
        self._limit_logged = False
        #: The stream's judge, while a stream runs: both views decide an alert together.
        self.stream: StreamCompanion | None = None

    def observe(self, observation: Observation, now: datetime | None = None) -> None:
        """Apply one source observation (a view or a failed fetch) at `now` (default: now)."""
        prefix = observation.prefix
        status = self.state.status_of(prefix)
        if status is None:
            return  # no longer watched: a reload removed it while the fetch ran
        now = now or datetime.now(UTC)
        if isinstance(observation, FetchFailure):
            judgement = self._failed(status, observation)
        elif _older_snapshot(status, observation):
            judgement = self._kept(status)
        else:
            judgement = self._viewed(status, observation, now)
            self.state.radar_findings[prefix] = list(judgement.findings)
            if self.stream is not None:
                # The stream's findings with Radar's RPKI status, and its counts as evidence.
                self.stream.refresh(prefix, now)
                ris = self.stream.evidence(prefix, status.watch.origins)
                judgement = dataclasses.replace(
                    judgement, evidence=dataclasses.replace(judgement.evidence, stream=ris)
                )
            # What the stream still sees keeps its alert: both views must agree it is gone.
            stream = self.state.stream_findings.get(prefix, [])
            judgement = dataclasses.replace(judgement, findings=union(judgement.findings, stream))
        events = self.state.book.observe(
            judgement.scope,
            judgement.findings,
            judgement.evidence,
            now,
            policy(self.state.config, status.watch),
        )
        self._sink(events)

    def tick(self, now: datetime | None = None) -> None:
        """Repeats that came due, silences that began or ended, collectors gone quiet."""
        now = now or datetime.now(UTC)
        events = self.state.book.tick(now, policy(self.state.config, None))
        self._sink(events + self._forget_collectors(now))

    def _forget_collectors(self, now: datetime) -> list[AlertEvent]:
        """Resolve the alerts of collectors that no answer listed for an hour."""
        book = self.state.book
        alerted = {a.finding.collector for a in book.alerts.values() if a.finding.collector}
        gone = self.state.freshness.forget(now, (c for c in alerted if c))
        if not gone:
            return []
        log.info("forgetting collectors no answer listed for an hour: %s", ", ".join(sorted(gone)))
        subjects: dict[str, set[str]] = {}
        for key, alert in book.alerts.items():
            if not key.prefix and alert.finding.collector in gone:
                subjects.setdefault(key.rule, set()).add(key.subject)
        scope = Scope(prefix="", subjects={r: frozenset(s) for r, s in subjects.items()})
        return book.observe(scope, [], None, now, policy(self.state.config, None))

    def _viewed(self, status: PrefixStatus, view: PrefixView, now: datetime) -> Judgement:
        view, dropped = capped(view, status.watch.origins)
        if dropped:
            first = view.prefix not in self._capped
            self._capped.add(view.prefix)
            log.log(
                logging.WARNING if first else logging.DEBUG,
                "%s: the answer lists %d origins; only the %d most visible are judged",
                view.prefix,
                dropped + len(view.origins),
                len(view.origins),
            )
        # Routes are most of a view's memory (thousands per prefix) and nothing after the
        # judgement needs them: keep the counts, origins and collectors only.
        status.view = dataclasses.replace(view, routes=())
        status.routes = len(view.routes)
        status.last_success, status.failures, status.error = time.time(), 0, None
        if view.origins:
            status.last_shown = status.last_success
        if self.state.auth_error is not None:
            log.warning("Radar accepts the API token again")
            self.state.auth_error = None
        freshness = self.state.freshness
        freshness.limit = self.state.config.source.max_collectors  # a reload may change it
        view = dataclasses.replace(view, collectors=freshness.merge(view.collectors, now))
        if freshness.refused and not self._limit_logged:
            self._limit_logged = True
            log.warning(
                "tracking the limit of %d collectors: answers list more; new ones are ignored",
                freshness.limit,
            )
        return judge(status.watch, view, now)

    def _kept(self, status: PrefixStatus) -> Judgement:
        """A snapshot older than the realtime answer already judged: that answer stands, but
        the prefix was read, a success for the source alerts. Else its last success would stay
        at the realtime fetch until Radar's next RIB snapshot, hours on: `RadarMonitorNotPolling`
        would page, and a `source-unreachable` from failed rounds before would not resolve."""
        status.last_success, status.failures, status.error = time.time(), 0, None
        watch = status.watch
        evidence = Evidence.capture(watch.target, watch.description, status.view)
        return Judgement(
            Scope(prefix=watch.prefix, rules=frozenset({SOURCE_UNREACHABLE})), [], evidence
        )

    def _failed(self, status: PrefixStatus, failure: FetchFailure) -> Judgement:
        status.failures += 1
        status.error = failure.message
        if failure.kind is ErrorKind.AUTH:
            # One line per outage, not one per prefix and interval: the advice is long.
            if self.state.auth_error is None:
                log.error("Radar authentication failed: %s", failure.message)
            self.state.auth_error = failure.message
        else:
            first = status.failures == 1 or status.failures % 10 == 0
            log.log(
                logging.WARNING if first else logging.INFO,
                "%s: fetch failed (%d in a row): %s",
                failure.prefix,
                status.failures,
                failure.message,
            )
        max_failures = self.state.config.source.max_failures
        return judge_failure(status.watch, failure, status.failures, max_failures)


def _older_snapshot(status: PrefixStatus, view: PrefixView) -> bool:
    """Whether `view` is a snapshot older than the realtime answer `status` already holds."""
    known = status.view
    if not view.snapshot or known is None or known.snapshot:
        return False
    return (
        known.data_time is not None
        and view.data_time is not None
        and known.data_time >= view.data_time
    )
