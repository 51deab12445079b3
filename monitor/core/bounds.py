"""How much of one view the daemon judges, stores and shows: bounded whatever a source sends.

A real prefix has a handful of origins (anycast and MOAS prefixes a few dozen). An answer
listing thousands is broken or hostile, and each origin can become two alerts, each a row in
the database, series in the metrics and lines on the status page.
"""

from __future__ import annotations

from dataclasses import replace

from monitor.core.observation import PrefixView

#: Origins of one view that are judged: the expected ones and the most visible others.
MAX_ORIGINS = 200


def capped(view: PrefixView, expected: frozenset[int]) -> tuple[PrefixView, int]:
    """`view` with at most `MAX_ORIGINS` origins (expected ones always kept), and how many went."""
    if len(view.origins) <= MAX_ORIGINS:
        return view, 0
    ranked = sorted(view.origins, key=lambda o: (o.origin not in expected, -o.visible_peers))
    kept = ranked[:MAX_ORIGINS]
    return replace(view, origins=tuple(kept)), len(view.origins) - len(kept)
