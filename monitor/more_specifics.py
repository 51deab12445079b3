"""More-specifics the stream found inside watched prefixes, watched for a while.

Each one becomes a temporary watch (`MonitorState.more_specifics`): it inherits its parent's
origins, labels and the rules that judge who announces it and how (`PrefixConfig.more_specific`),
is fetched from Radar at once and then on the regular cycle, shows under its parent on the
status page, in the API and in the metrics, and is dropped, its alerts resolved, once neither
the stream nor Radar has shown it for `stream.forget_after`. Alerts of more-specifics restored
from the state database at start-up are adopted again, so that they are judged and can resolve.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime

from monitor.core.finding import Finding
from monitor.core.lifecycle import AlertEvent, Scope
from monitor.pipeline import policy
from monitor.state import MonitorState, PrefixStatus

log = logging.getLogger(__name__)

#: Temporary watches at most. Each costs one request per cycle, so a flood of more-specifics
#: (a de-aggregation, an attack) is judged from the stream alone past this many, and said once.
MAX_TEMPORARY = 100


class MoreSpecifics:
    """Adopts, keeps and forgets the temporary watches of more-specifics."""

    def __init__(
        self,
        state: MonitorState,
        on_change: Callable[[], object],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self._on_change = on_change
        self._clock = clock
        #: More-specifics not watched because `MAX_TEMPORARY` was reached (for the log).
        self.refused = 0

    def adopt(self, prefix: str, parent: str) -> PrefixStatus | None:
        """The temporary watch of `prefix` inside watched `parent`, made on first sight.

        None when `parent` is not watched or the limit is reached.
        """
        status = self.state.more_specifics.get(prefix)
        if status is not None:
            return status
        owner = self.state.prefixes.get(parent)
        if owner is None:
            return None
        if len(self.state.more_specifics) >= MAX_TEMPORARY:
            if not self.refused:
                log.warning(
                    "watching the limit of %d more-specifics: %s and later ones are judged "
                    "from the stream only",
                    MAX_TEMPORARY,
                    prefix,
                )
            self.refused += 1
            return None
        # Shown now: the stream (or a restored alert) has it; it lives `forget_after` at least.
        status = PrefixStatus(owner.watch.more_specific(prefix), last_shown=self._clock())
        self.state.more_specifics[prefix] = status
        log.info("watching %s, a more-specific of %s seen on the stream", prefix, parent)
        self._on_change()
        return status

    def restore(self, findings: Iterable[Finding]) -> None:
        """Adopt the more-specifics of alerts loaded from the state database."""
        for finding in findings:
            if finding.prefix and finding.parent and finding.prefix != finding.parent:
                self.adopt(finding.prefix, finding.parent)

    def expire(
        self, now: datetime, after: float, tracked: Callable[[str], bool]
    ) -> list[AlertEvent]:
        """Drop the watches neither the stream (`tracked`) nor Radar showed for `after` s."""
        cutoff = now.timestamp() - after
        gone = [
            prefix
            for prefix, status in self.state.more_specifics.items()
            if not tracked(prefix) and (status.last_shown or 0.0) <= cutoff
        ]
        events: list[AlertEvent] = []
        for prefix in gone:
            status = self.state.more_specifics.pop(prefix)
            self.state.stream_findings.pop(prefix, None)
            self.state.radar_findings.pop(prefix, None)
            book = self.state.book
            rules = frozenset(k.rule for k in book.keys_of(prefix))
            scope = Scope(prefix=prefix, rules=rules)
            events += book.observe(scope, [], None, now, policy(self.state.config, status.watch))
            log.info("no longer watching %s: neither the stream nor Radar showed it", prefix)
        if gone:
            self._on_change()
        return events
