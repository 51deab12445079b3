"""Stream updates → the RIB → findings on what RIS peers route now, and confirming fetches.

The stream judges who announces a prefix and how (`STREAM_RULE_TYPES`), at once, for a
watched prefix and for each more-specific seen inside one (a temporary watch, see
`more_specifics.py`). Radar's answers judge the rest, and their RPKI status re-judges the
stream's view (`refresh`): an origin Radar calls valid is dropped by the rules that say so.
An alert resolves only when both views agree it is gone: each judgement adds the other view's
latest findings (`MonitorState.stream_findings`, `radar_findings`), and a stream view learnt before
a reconnect resolves nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from monitor.core.evidence import Evidence, StreamEvidence
from monitor.core.finding import Finding
from monitor.core.lifecycle import AlertEvent, Scope
from monitor.core.rib import StreamRib
from monitor.core.stream import StreamUpdate
from monitor.core.stream_view import STREAM_RULE_TYPES, stream_evidence, stream_view
from monitor.more_specifics import MoreSpecifics
from monitor.pipeline import EventSink, policy, union
from monitor.rules import Rule
from monitor.state import MonitorState, PrefixStatus

log = logging.getLogger(__name__)

#: Changed prefixes wait this long to be judged together (a burst of frames, one judgement).
JUDGE_DELAY = 0.02
#: Under a flood the wait grows with the last batch (20 ms per 100 prefixes judged), up to
#: this: a batch of thousands of distinct prefixes in 20 ms is a flood, in which judging each
#: prefix once per 20 ms costs more than the frames themselves.
MAX_JUDGE_DELAY = 0.25
_PREFIXES_PER_DELAY = 100
#: Asks for a confirming Radar fetch of one exact prefix.
Confirm = Callable[[str], None]


class StreamJudge:
    """Applies stream updates to the RIB and judges every prefix they changed."""

    def __init__(
        self,
        state: MonitorState,
        rib: StreamRib,
        sink: EventSink,
        confirm: Confirm,
        watches: MoreSpecifics,
    ) -> None:
        self.state = state
        self._watches = watches
        self.rib = rib
        self._sink = sink
        self._confirm = confirm
        self._dirty: set[str] = set()
        self._flush_handle: asyncio.TimerHandle | None = None
        self._last_batch = 0

    @property
    def delay(self) -> float:
        """Seconds the next batch waits: `JUDGE_DELAY`, longer after a large batch."""
        return min(MAX_JUDGE_DELAY, JUDGE_DELAY * max(1.0, self._last_batch / _PREFIXES_PER_DELAY))

    def observe(self, update: StreamUpdate) -> None:
        """Take in one update; its prefixes are judged together within `delay`.

        A busy prefix changes many times a second (one frame per peer); judging it once per
        batch keeps the cost per frame at the RIB's, not at the rules' (which read every
        peer's route), and costs at most `delay` of detection time (20 ms, and at most
        `MAX_JUDGE_DELAY` under a flood).
        """
        changed = self.rib.apply(update)
        if not changed:
            return
        self._dirty |= changed
        if self._flush_handle is None:
            loop = asyncio.get_running_loop()
            self._flush_handle = loop.call_later(self.delay, self.flush)

    def close(self) -> None:
        """Drop the batch still waiting (the daemon stops)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None

    @property
    def pending(self) -> bool:
        """Whether changed prefixes wait to be judged."""
        return self._flush_handle is not None

    def flush(self, now: datetime | None = None) -> None:
        """Judge and confirm every prefix changed since the last flush (now, if called)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()  # harmless if it is the timer running this
            self._flush_handle = None
        now = now or datetime.now(UTC)
        dirty, self._dirty = self._dirty, set()
        self._last_batch = len(dirty)
        # One hand-over for the batch: the sink writes the state database once, not per prefix.
        events: list[AlertEvent] = []
        for prefix in sorted(dirty):
            events += self.judge(prefix, now)
            self._confirm(prefix)
        self._sink(events)

    def judge(self, prefix: str, now: datetime, *, adopt: bool = True) -> list[AlertEvent]:
        """The stream's judgement of `prefix`, through the alert book.

        A more-specific seen for the first time becomes a temporary watch (`adopt`).
        """
        status = self._status(prefix, adopt)
        if status is None:
            return []
        watch = status.watch
        rules, findings = self._findings(status, now)
        stale = prefix in self.rib.possibly_stale
        names = frozenset(r.name for r in rules)
        # What Radar still shows for this prefix keeps its alert, whatever the stream says.
        radar = [f for f in self.state.radar_findings.get(prefix, []) if f.rule in names]
        scope = Scope(prefix=prefix, rules=frozenset() if stale else names)
        found = union(findings, radar)
        # Evidence goes to this prefix's alerts only: most judgements of a flood have none.
        evidence = None
        if found or self.state.book.keys_of(prefix):
            evidence = Evidence.capture(
                watch.target, watch.description, status.view, self.evidence(prefix, watch.origins)
            )
        return self.state.book.observe(
            scope, found, evidence, now, policy(self.state.config, watch)
        )

    def refresh(self, prefix: str, now: datetime) -> None:
        """Judge `prefix`'s stream view again with what Radar just said (its RPKI status)."""
        status = self.state.status_of(prefix)
        if status is not None and self.rib.tracks(prefix):
            self._findings(status, now)

    def evidence(self, prefix: str, expected: frozenset[int]) -> StreamEvidence | None:
        """What RIS peers route of `prefix` now (None while the stream never mentioned it)."""
        return stream_evidence(self.rib, prefix, expected)

    def _status(self, prefix: str, adopt: bool) -> PrefixStatus | None:
        """`prefix`'s watch: its own, or that of the more-specific inside a watched prefix."""
        status = self.state.status_of(prefix)
        if status is not None or not adopt:
            return status
        parent = self.rib.parent_of(prefix)
        owner = self.state.prefixes.get(parent) if parent else None
        if owner is None or parent is None:
            return None
        # Past the limit of temporary watches: judged from the stream all the same.
        return self._watches.adopt(prefix, parent) or PrefixStatus(
            owner.watch.more_specific(prefix)
        )

    def _findings(self, status: PrefixStatus, now: datetime) -> tuple[list[Rule], list[Finding]]:
        """The stream's rules of the watch, and their findings on what RIS peers route now
        (RPKI as Radar last said), kept as the stream's side of the prefix."""
        watch = status.watch
        rules = [r for r in watch.rules if r.type in STREAM_RULE_TYPES]
        known = {o.origin: o.rpki for o in status.view.origins} if status.view else {}
        view = stream_view(self.rib, watch.prefix, now, known)
        findings = [f for rule in rules for f in rule.evaluate(watch.target, view, now)]
        self.state.stream_findings[watch.prefix] = findings
        return rules, findings

    def forget(self, now: datetime) -> list[AlertEvent]:
        """Forget more-specifics no update mentioned for `forget_after`; what Radar still
        shows keeps its alerts, and a watch neither view showed that long is dropped."""
        config = self.state.config.stream
        if config is None:
            return []
        events: list[AlertEvent] = []
        for prefix in self.rib.forget(now, config.forget_after):
            events += self.judge(prefix, now, adopt=False)
            self.state.stream_findings.pop(prefix, None)
        return events + self._watches.expire(now, config.forget_after, self.rib.tracks)
