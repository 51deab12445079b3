"""A collector's freshness is a fact about the collector, not about the prefix that reported it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from monitor.core.observation import CollectorView


class CollectorFreshness:
    """The newest timestamps any view reported for each collector; they never go backwards.

    Views of different prefixes disagree about a collector's timestamps (each answer is a
    moment of Radar's cache); judging each view on its own made `stale_collector` fire and
    resolve on alternate polls. Merged here, every view sees the same, newest, collector.
    """

    def __init__(self, known: Mapping[str, CollectorView] | None = None) -> None:
        self._best: dict[str, CollectorView] = dict(known or {})

    def merge(self, seen: Iterable[CollectorView]) -> tuple[CollectorView, ...]:
        """Take in `seen` and return it with each collector's newest timestamps."""
        merged = []
        for c in seen:
            old = self._best.get(c.name)
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
            merged.append(c)
        return tuple(merged)

    @property
    def views(self) -> dict[str, CollectorView]:
        """Every collector seen so far, at its freshest."""
        return dict(self._best)


def _newest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)
