"""A collector's freshness is a fact about the collector, not about the prefix that reported it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from monitor.core.observation import CollectorView

#: Collectors tracked at most (Radar lists fewer than 100): names that keep changing in hostile
#: answers grew to 105,000 alerts and a 163 MB database in 69 s without a bound.
MAX_COLLECTORS = 1_000
#: A collector no answer listed for this long is forgotten, and its alerts resolve: a renamed
#: or retired collector no longer fires forever.
FORGET_AFTER = 3600.0


class CollectorFreshness:
    """The newest timestamps any view reported for each collector; they never go backwards.

    Views of different prefixes disagree about a collector's timestamps (each answer is a
    moment of Radar's cache); judging each view on its own made `stale_collector` fire and
    resolve on alternate polls. Merged here, every view sees the same, newest, collector.
    """

    def __init__(
        self,
        known: Mapping[str, CollectorView] | None = None,
        *,
        limit: int = MAX_COLLECTORS,
        forget_after: float = FORGET_AFTER,
    ) -> None:
        self._best: dict[str, CollectorView] = dict(known or {})
        self._listed: dict[str, datetime] = {}
        self.limit = limit
        self.forget_after = forget_after
        #: Collectors left out since the limit was reached (for the log, once).
        self.refused = 0

    def merge(self, seen: Iterable[CollectorView], now: datetime) -> tuple[CollectorView, ...]:
        """`seen` with each collector's newest timestamps; new ones beyond the limit left out."""
        merged = []
        for c in seen:
            old = self._best.get(c.name)
            if old is None and len(self._best) >= self.limit:
                self.refused += 1
                continue
            if old is not None:
                c = CollectorView(
                    name=c.name,
                    realtime_ts=_newest(old.realtime_ts, c.realtime_ts),
                    rib_ts=_newest(old.rib_ts, c.rib_ts),
                    updates_ts=_newest(old.updates_ts, c.updates_ts),
                    peers=c.peers,
                    peers_v4=c.peers_v4,
                    peers_v6=c.peers_v6,
                )
            self._best[c.name] = c
            self._listed[c.name] = now
            merged.append(c)
        return tuple(merged)

    def forget(self, now: datetime, alerted: Iterable[str] = ()) -> frozenset[str]:
        """Collectors no answer listed for `forget_after`, dropped; returns their names.

        `alerted` are collectors with alerts (restored from the database, say) that no answer
        has listed yet: their hour starts now.
        """
        for name in alerted:
            self._listed.setdefault(name, now)
        gone = frozenset(
            name
            for name, listed in self._listed.items()
            if (now - listed).total_seconds() >= self.forget_after
        )
        for name in gone:
            self._listed.pop(name, None)
            self._best.pop(name, None)
        return gone

    @property
    def views(self) -> dict[str, CollectorView]:
        """Every collector tracked, at its freshest."""
        return dict(self._best)


def _newest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)
