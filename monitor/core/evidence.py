"""What on-call needs to act, captured from the view that produced an alert event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from monitor.core.measures import expected_visibility, from_jsonable_time, to_jsonable
from monitor.core.observation import PrefixView
from monitor.core.target import Target

#: Sample AS paths kept per alert: one per origin first, so a hijacker's path is among them.
SAMPLE_PATHS = 3
#: Origins an alert's evidence lists besides the expected ones and its own: the most visible.
#: Every alert stored all of them before, so N unexpected origins made 2N alerts of N origins
#: each (quadratic memory, outbox and database; 3,000 origins passed 4 GiB).
SUMMARY_ORIGINS = 10


@dataclass(frozen=True, slots=True)
class OriginEvidence:
    """One origin as the source saw it: the row every report, message and page shows."""

    asn: int
    as_name: str
    country: str
    rpki: str
    visible_peers: int
    total_peers: int
    visibility: float
    expected: bool


def origin_evidence(view: PrefixView, expected: frozenset[int]) -> tuple[OriginEvidence, ...]:
    """Each origin of `view`, judged against the `expected` origins."""
    return tuple(
        OriginEvidence(
            asn=o.origin,
            as_name=view.as_name(o.origin),
            country=view.country(o.origin),
            rpki=o.rpki.value,
            visible_peers=o.visible_peers,
            total_peers=o.total_peers,
            visibility=o.visibility,
            expected=o.origin in expected,
        )
        for o in view.origins
    )


@dataclass(frozen=True, slots=True)
class StreamEvidence:
    """What RIS peers route now (the stream's RIB): the counts behind "14 RIS peers see it"."""

    #: RIS peers (collector sessions) that route the prefix now.
    peers: int
    #: (origin AS, RIS peers routing the prefix through it), most seen first; capped like
    #: `Evidence.origins` (the expected origins and the `SUMMARY_ORIGINS` most seen).
    origins: tuple[tuple[int, int], ...] = ()
    #: One path per origin first, as for Radar: (path, "rrc00 peer 192.0.2.1").
    sample_paths: tuple[tuple[tuple[int, ...], str], ...] = ()
    #: The newest update the counts rest on.
    updated: datetime | None = None

    def peers_of(self, asn: int) -> int:
        """RIS peers routing the prefix through origin `asn` now (0 if not listed)."""
        return next((n for a, n in self.origins if a == asn), 0)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for the outbox and the state database."""
        return {
            "peers": self.peers,
            "origins": [list(o) for o in self.origins],
            "sample_paths": [[list(p), c] for p, c in self.sample_paths],
            "updated": to_jsonable(self.updated),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> StreamEvidence:
        """The inverse of `to_json`."""
        return cls(
            peers=doc.get("peers", 0),
            origins=tuple((int(a), int(n)) for a, n in doc.get("origins", ())),
            sample_paths=tuple((tuple(p), c) for p, c in doc.get("sample_paths", ())),
            updated=from_jsonable_time(doc.get("updated")),
        )


@dataclass(frozen=True)
class Evidence:
    """The prefix, its origins, visibility and sample paths when the event happened."""

    prefix: str
    description: str = ""
    expected_origins: tuple[int, ...] = ()
    origins: tuple[OriginEvidence, ...] = ()
    visibility: float | None = None
    visible_peers: int = 0
    total_peers: int = 0
    sample_paths: tuple[tuple[tuple[int, ...], str], ...] = ()
    data_time: datetime | None = None
    #: Origins of the view not listed in `origins` (the summary is capped).
    omitted_origins: int = 0
    #: What RIS peers route now, when the stream is on (the rest is Radar's last answer).
    stream: StreamEvidence | None = None
    #: The omitted origins by ASN, so that `about` can add an alert's own in O(1); not stored.
    _rest: Mapping[int, OriginEvidence] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def capture(
        cls,
        target: Target,
        description: str,
        view: PrefixView | None,
        stream: StreamEvidence | None = None,
    ) -> Evidence:
        """Evidence about `target` from Radar's `view` (None: nothing known, e.g. source
        failures) and what RIS peers route now (`stream`, when the stream is on)."""
        expected = tuple(sorted(target.origins))
        if view is None:
            return cls(
                prefix=target.prefix,
                description=description,
                expected_origins=expected,
                stream=stream,
            )
        value, visible, total = expected_visibility(target, view)
        every = origin_evidence(view, target.origins)
        expected_seen = [o for o in every if o.expected]
        others = sorted((o for o in every if not o.expected), key=lambda o: -o.visible_peers)
        kept, rest = others[:SUMMARY_ORIGINS], others[SUMMARY_ORIGINS:]
        samples: list[tuple[tuple[int, ...], str]] = []
        seen_origins: set[int | None] = set()
        for route in view.routes:
            if route.origin not in seen_origins and len(samples) < SAMPLE_PATHS:
                seen_origins.add(route.origin)
                samples.append((route.as_path, route.collector))
        return cls(
            prefix=target.prefix,
            description=description,
            expected_origins=expected,
            origins=(*expected_seen, *kept),
            visibility=value,
            visible_peers=visible,
            total_peers=total,
            sample_paths=tuple(samples),
            data_time=view.data_time,
            omitted_origins=len(rest),
            stream=stream,
            _rest={o.asn: o for o in rest},
        )

    def about(self, asn: int | None) -> Evidence:
        """This evidence for an alert about origin `asn`: the summary plus that origin."""
        extra = self._rest.get(asn) if asn is not None else None
        if extra is None:
            return replace(self, _rest={}) if self._rest else self
        return replace(
            self, origins=(*self.origins, extra), omitted_origins=self.omitted_origins - 1, _rest={}
        )

    def origin(self, asn: int) -> OriginEvidence | None:
        """What the source showed about origin `asn`, if it was seen."""
        return next((o for o in self.origins if o.asn == asn), None)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for the outbox and the state database."""
        return {
            "prefix": self.prefix,
            "description": self.description,
            "expected_origins": list(self.expected_origins),
            "origins": [asdict(o) for o in self.origins],
            "visibility": self.visibility,
            "visible_peers": self.visible_peers,
            "total_peers": self.total_peers,
            "sample_paths": [[list(p), c] for p, c in self.sample_paths],
            "data_time": to_jsonable(self.data_time),
            "omitted_origins": self.omitted_origins,
            "stream": self.stream.to_json() if self.stream else None,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Evidence:
        """The inverse of `to_json`."""
        return cls(
            prefix=doc["prefix"],
            description=doc.get("description", ""),
            expected_origins=tuple(doc.get("expected_origins", ())),
            origins=tuple(OriginEvidence(**o) for o in doc.get("origins", ())),
            visibility=doc.get("visibility"),
            visible_peers=doc.get("visible_peers", 0),
            total_peers=doc.get("total_peers", 0),
            sample_paths=tuple((tuple(p), c) for p, c in doc.get("sample_paths", ())),
            data_time=from_jsonable_time(doc.get("data_time")),
            omitted_origins=doc.get("omitted_origins", 0),
            stream=StreamEvidence.from_json(doc["stream"]) if doc.get("stream") else None,
        )
