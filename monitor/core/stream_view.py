"""What RIS peers see of one prefix now, as the `PrefixView` every rule already reads.

The stream counts peers, not visibility: a view built here says "14 RIS peers route it through
AS666", which is what the stream-judged rules (who originates it, over which paths and
upstreams) need. RPKI status is the last one a polled answer gave for that origin, else
unknown: the stream carries none.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime

from monitor.core.evidence import SAMPLE_PATHS, SUMMARY_ORIGINS, StreamEvidence
from monitor.core.observation import OriginView, PrefixView, RouteView, RpkiStatus
from monitor.core.rib import StreamRib

#: Rule types that judge who announces a prefix and how: the stream can say that at once.
#: Visibility, staleness and RPKI (the stream has none) wait for Radar's confirming answer.
STREAM_RULE_TYPES = frozenset({"unexpected_origin", "more_specific", "as_path", "upstream"})


def stream_view(
    rib: StreamRib,
    prefix: str,
    now: datetime,
    rpki: Mapping[int, RpkiStatus] | None = None,
) -> PrefixView:
    """The RIB's routes of `prefix` as a view: origins counted by the peers routing them now."""
    routes = rib.routes(prefix)
    peers = len(routes)
    counts = Counter(r.origin for r in routes if r.origin is not None)
    known = rpki or {}
    origins = tuple(
        OriginView(
            origin=asn,
            prefix=prefix,
            rpki=known.get(asn, RpkiStatus.UNKNOWN),
            visible_peers=n,
            total_peers=peers,
            visibility=n / peers if peers else 0.0,
        )
        for asn, n in counts.most_common()
    )
    return PrefixView(
        prefix=prefix,
        data_time=max((r.seen_at for r in routes), default=None),
        query_time=now,
        origins=origins,
        routes=tuple(
            RouteView(
                as_path=r.as_path, collector=r.peer.collector, prefix=prefix, timestamp=r.seen_at
            )
            for r in routes
        ),
        collectors=(),
    )


def stream_evidence(rib: StreamRib, prefix: str, expected: frozenset[int]) -> StreamEvidence | None:
    """What RIS peers route of `prefix` now, for an alert's evidence; None if untracked."""
    if not rib.tracks(prefix):
        return None
    routes = rib.routes(prefix)
    counts = Counter(r.origin for r in routes if r.origin is not None).most_common()
    kept = [c for c in counts if c[0] in expected] + [c for c in counts if c[0] not in expected][
        :SUMMARY_ORIGINS
    ]
    samples: list[tuple[tuple[int, ...], str]] = []
    origins: set[int | None] = set()
    for route in routes:
        if route.origin not in origins and len(samples) < SAMPLE_PATHS:
            origins.add(route.origin)
            samples.append((route.as_path, f"{route.peer.collector} peer {route.peer.address}"))
    return StreamEvidence(
        peers=len(routes),
        origins=tuple(sorted(kept, key=lambda c: -c[1])),
        sample_paths=tuple(samples),
        updated=max((r.seen_at for r in routes), default=None),
    )
