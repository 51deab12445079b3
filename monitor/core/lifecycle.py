"""The alert lifecycle: findings become pending, firing and resolved alerts, and events.

Pure and time-injected: every method takes `now`, so tests drive it without a clock.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from monitor.core.evidence import Evidence
from monitor.core.finding import AlertKey, Finding
from monitor.core.measures import from_jsonable_time, to_jsonable
from monitor.core.silence import Silence


class AlertState(enum.StrEnum):
    """Where an alert is in its life."""

    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


class EventKind(enum.StrEnum):
    """Why a notification is sent."""

    FIRING = "firing"
    REPEAT = "repeat"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Alert:
    """One finding identity (rule, prefix, subject) through time."""

    finding: Finding
    state: AlertState
    started_at: datetime
    last_seen: datetime
    fired_at: datetime | None = None
    resolved_at: datetime | None = None
    notified_at: datetime | None = None
    silenced: bool = False
    evidence: Evidence | None = None

    @property
    def key(self) -> AlertKey:
        """The identity (rule, prefix, subject); prefix and subject may be empty."""
        return self.finding.key

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for the state database and the API."""
        return {
            "finding": self.finding.to_json(),
            "state": self.state.value,
            "started_at": to_jsonable(self.started_at),
            "last_seen": to_jsonable(self.last_seen),
            "fired_at": to_jsonable(self.fired_at),
            "resolved_at": to_jsonable(self.resolved_at),
            "notified_at": to_jsonable(self.notified_at),
            "silenced": self.silenced,
            "evidence": self.evidence.to_json() if self.evidence else None,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Alert:
        """The inverse of `to_json`."""
        finding = Finding.from_json(doc["finding"])
        started = from_jsonable_time(doc["started_at"])
        last_seen = from_jsonable_time(doc["last_seen"])
        assert started is not None and last_seen is not None
        return cls(
            finding=finding,
            state=AlertState(doc["state"]),
            started_at=started,
            last_seen=last_seen,
            fired_at=from_jsonable_time(doc.get("fired_at")),
            resolved_at=from_jsonable_time(doc.get("resolved_at")),
            notified_at=from_jsonable_time(doc.get("notified_at")),
            silenced=bool(doc.get("silenced", False)),
            evidence=Evidence.from_json(doc["evidence"]) if doc.get("evidence") else None,
        )


@dataclass(frozen=True)
class AlertEvent:
    """A transition that on-call should hear about."""

    kind: EventKind
    alert: Alert
    at: datetime

    @property
    def duration(self) -> float:
        """Seconds the alert had been firing (for RESOLVED and REPEAT messages)."""
        return (self.at - (self.alert.fired_at or self.alert.started_at)).total_seconds()


@dataclass(frozen=True)
class Timing:
    """A rule's `for` and `keep_firing_for`."""

    for_: float = 0.0
    keep_firing_for: float = 0.0


@dataclass(frozen=True)
class Scope:
    """Which alert keys one observation speaks for: absent findings in scope mean "resolved".

    `rules` are the per-prefix rules evaluated for `prefix`; `subjects` maps each source-wide
    rule to the subjects (collectors) the answer showed.
    """

    prefix: str
    rules: frozenset[str] = frozenset()
    subjects: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def covers(self, key: AlertKey) -> bool:
        """Whether the observation decided about `key`."""
        if key.prefix:
            return key.prefix == self.prefix and key.rule in self.rules
        return key.subject in self.subjects.get(key.rule, frozenset())


@dataclass(frozen=True)
class Policy:
    """The notification settings the lifecycle needs."""

    repeat_interval: float = 4 * 3600.0
    send_resolved: bool = True
    timings: Mapping[str, Timing] = field(default_factory=dict)
    silences: Sequence[Silence] = ()

    def silenced(self, finding: Finding, now: datetime) -> bool:
        """Whether an active silence matches the finding."""
        return any(
            s.active(now)
            and s.matches(finding.rule, finding.prefix, finding.origin, finding.collector)
            for s in self.silences
        )


class AlertBook:
    """The current alerts, updated by observations; tracks which keys changed since a flush."""

    def __init__(self, alerts: Iterable[Alert] = ()) -> None:
        self.alerts: dict[AlertKey, Alert] = {a.key: a for a in alerts}
        self.dirty: set[AlertKey] = set()
        # Keys by prefix ("" for source-wide ones), so that one observation looks at its own
        # prefix's alerts, not at all of them: a stream judges thousands of prefixes a second.
        # Rebuilt when `alerts` was changed from outside (a reload dropping keys).
        self._by_prefix: dict[str, dict[AlertKey, None]] = {}  # ordered sets
        self._indexed = -1

    def _put(self, alert: Alert) -> None:
        self._index()
        if alert.key not in self.alerts:
            self._by_prefix.setdefault(alert.key.prefix, {})[alert.key] = None
            self._indexed += 1
        self.alerts[alert.key] = alert
        self.dirty.add(alert.key)

    def _drop(self, key: AlertKey) -> None:
        self._index()
        if self.alerts.pop(key, None) is not None:
            self._by_prefix.get(key.prefix, {}).pop(key, None)
            self._indexed -= 1
        self.dirty.add(key)

    def _index(self) -> None:
        if self._indexed != len(self.alerts):
            self._by_prefix = {}
            for key in self.alerts:
                self._by_prefix.setdefault(key.prefix, {})[key] = None
            self._indexed = len(self.alerts)

    def keys_of(self, prefix: str) -> list[AlertKey]:
        """The keys of `prefix`'s alerts ("" for the source-wide ones), without a scan."""
        self._index()
        return list(self._by_prefix.get(prefix, {}))

    def _candidates(self, scope: Scope) -> list[AlertKey]:
        """The keys `scope` may cover: its prefix's, and the source-wide ones if it has any."""
        self._index()
        keys = list(self._by_prefix.get(scope.prefix, {}))
        if scope.subjects and scope.prefix:
            keys += self._by_prefix.get("", {})
        return keys

    def observe(
        self,
        scope: Scope,
        findings: Sequence[Finding],
        evidence: Evidence | None,
        now: datetime,
        policy: Policy,
    ) -> list[AlertEvent]:
        """Apply one evaluation: new or continued findings, and resolutions of keys in scope.

        `evidence` describes the observed prefix, so only that prefix's alerts carry it: a
        source-wide alert (a collector, the token) never shows one prefix's origins and paths.
        """
        events: list[AlertEvent] = []
        present: set[AlertKey] = set()
        for finding in findings:
            present.add(finding.key)
            about = evidence.about(finding.origin) if evidence and finding.prefix else None
            events += self._seen(finding, about, now, policy)
        for key in [k for k in self._candidates(scope) if k not in present and scope.covers(k)]:
            alert = self.alerts[key]
            about = evidence.about(alert.finding.origin) if evidence and key.prefix else None
            events += self._absent(alert, about, now, policy)
        return events

    def _seen(
        self, finding: Finding, evidence: Evidence | None, now: datetime, policy: Policy
    ) -> list[AlertEvent]:
        timing = policy.timings.get(finding.rule, Timing())
        old = self.alerts.get(finding.key)
        silenced = policy.silenced(finding, now)
        if old is None:
            alert = Alert(
                finding,
                AlertState.PENDING,
                started_at=now,
                last_seen=now,
                silenced=silenced,
                evidence=evidence,
            )
        else:
            alert = replace(
                old,
                finding=finding,
                last_seen=now,
                silenced=silenced,
                evidence=evidence or old.evidence,
            )
        if (
            alert.state is AlertState.PENDING
            and (now - alert.started_at).total_seconds() >= timing.for_
        ):
            alert = replace(alert, state=AlertState.FIRING, fired_at=now)
        events: list[AlertEvent] = []
        if alert.state is AlertState.FIRING:
            alert, events = self._due(alert, now, policy)
        if alert != old:
            self._put(alert)
        return events

    def _due(self, alert: Alert, now: datetime, policy: Policy) -> tuple[Alert, list[AlertEvent]]:
        """A FIRING event if nobody was told yet, a REPEAT when the repeat interval passed."""
        if alert.silenced:
            return alert, []
        if alert.notified_at is None:
            kind = EventKind.FIRING
        elif policy.repeat_interval > 0 and (
            (now - alert.notified_at).total_seconds() >= policy.repeat_interval
        ):
            kind = EventKind.REPEAT
        else:
            return alert, []
        alert = replace(alert, notified_at=now)
        return alert, [AlertEvent(kind, alert, now)]

    def _absent(
        self, alert: Alert, evidence: Evidence | None, now: datetime, policy: Policy
    ) -> list[AlertEvent]:
        if alert.state is AlertState.PENDING:
            self._drop(alert.key)
            return []
        timing = policy.timings.get(alert.finding.rule, Timing())
        if (now - alert.last_seen).total_seconds() < timing.keep_firing_for:
            return []
        resolved = replace(
            alert, state=AlertState.RESOLVED, resolved_at=now, evidence=evidence or alert.evidence
        )
        self._drop(alert.key)
        if alert.notified_at is None or not policy.send_resolved:
            return []
        return [AlertEvent(EventKind.RESOLVED, resolved, now)]

    def tick(self, now: datetime, policy: Policy) -> list[AlertEvent]:
        """Repeats that came due and silences that began or ended, between observations."""
        events: list[AlertEvent] = []
        for alert in list(self.alerts.values()):
            silenced = policy.silenced(alert.finding, now)
            # Copy only what changes: thousands of alerts are ticked every second.
            updated = alert if silenced == alert.silenced else replace(alert, silenced=silenced)
            if updated.state is AlertState.FIRING:
                updated, due = self._due(updated, now, policy)
                events += due
            if updated is not alert:
                self._put(updated)
        return events

    def take_dirty(self) -> tuple[list[Alert], list[AlertKey]]:
        """The alerts changed and the keys removed since the last call."""
        changed = [self.alerts[k] for k in self.dirty if k in self.alerts]
        removed = [k for k in self.dirty if k not in self.alerts]
        self.dirty = set()
        return changed, removed

    def restore_dirty(self, keys: Iterable[AlertKey]) -> None:
        """Mark keys dirty again after a failed flush, so the next one writes them."""
        self.dirty.update(keys)
