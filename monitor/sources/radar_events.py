"""Radar's hijack and leak detectors (`GET /radar/bgp/{hijacks,leaks}/events`) → `RadarEvent`s.

The events are under `result.events` (not `result.items`, where the official SDK's paginator
looks), with `result_info {count, page, per_page, total_count}` beside `result`. One AS is one
request per page, through the shared `RadarClient`, so its budget counts every page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import msgspec

from monitor.core.measures import clip, normalise_prefix
from monitor.core.observation import MAX_ASN, MAX_NAME
from monitor.core.radar_event import MAX_EVENT_ASNS, MAX_EVENT_PREFIXES, EventKind, RadarEvent
from monitor.sources.base import BadAnswerError
from monitor.sources.radar_client import RadarClient
from monitor.sources.radar_wire import (
    DecodeError,
    Envelope,
    WireError,
    decode_wire,
    wire_timestamp,
)

PATHS = {EventKind.HIJACK: "/radar/bgp/hijacks/events", EventKind.LEAK: "/radar/bgp/leaks/events"}
#: Events asked for per page, and the most one page may list (Radar's maximum is far below).
PER_PAGE = 100
MAX_EVENTS_PER_PAGE = 1000
#: Pages read for one AS before the pagination counts as never ending.
MAX_PAGES = 10
#: How far back an answer reaches: an event that began earlier is not looked at (README).
DATE_RANGE = "7d"
#: Lists inside one event longer than this are not an answer of Radar's (prefixes, ASNs).
MAX_LIST = 10_000
_Asn = Annotated[int, msgspec.Meta(ge=0, le=MAX_ASN)]
_Count = Annotated[int, msgspec.Meta(ge=0)]
_Text = Annotated[str, msgspec.Meta(max_length=64)]
_Name = Annotated[str, msgspec.Meta(max_length=4 * MAX_NAME)]


class _WireAsn(msgspec.Struct):
    asn: _Asn
    org_name: _Name | None = ""
    country_code: _Name | None = ""


class _WireHijack(msgspec.Struct):
    id: _Count
    hijacker_asn: _Asn
    confidence_score: _Count = 0
    victim_asns: Annotated[list[_Asn], msgspec.Meta(max_length=MAX_LIST)] = []
    prefixes: Annotated[list[_Text], msgspec.Meta(max_length=MAX_LIST)] = []
    min_hijack_ts: _Text | None = None
    on_going_count: _Count = 0


class _WireLeak(msgspec.Struct):
    id: _Count
    leak_asn: _Asn
    leak_seg: Annotated[list[_Asn], msgspec.Meta(max_length=MAX_LIST)] = []
    finished: bool = False
    min_ts: _Text | None = None
    detected_ts: _Text | None = None
    prefix_count: _Count = 0


class _WireHijacks(msgspec.Struct):
    events: Annotated[list[_WireHijack], msgspec.Meta(max_length=MAX_EVENTS_PER_PAGE)] = []
    asn_info: Annotated[list[_WireAsn], msgspec.Meta(max_length=MAX_LIST)] = []
    total_monitors: _Count = 0


class _WireLeaks(msgspec.Struct):
    events: Annotated[list[_WireLeak], msgspec.Meta(max_length=MAX_EVENTS_PER_PAGE)] = []
    asn_info: Annotated[list[_WireAsn], msgspec.Meta(max_length=MAX_LIST)] = []


class _WireInfo(msgspec.Struct):
    count: _Count = 0
    page: _Count = 0
    per_page: _Count = 0
    total_count: _Count = 0


class _HijackEnvelope(msgspec.Struct):
    success: bool
    errors: list[WireError] | None = None
    result: _WireHijacks | None = None
    result_info: _WireInfo | None = None


class _LeakEnvelope(msgspec.Struct):
    success: bool
    errors: list[WireError] | None = None
    result: _WireLeaks | None = None
    result_info: _WireInfo | None = None


_DECODERS: dict[EventKind, msgspec.json.Decoder[_HijackEnvelope | _LeakEnvelope]] = {
    EventKind.HIJACK: msgspec.json.Decoder(_HijackEnvelope),
    EventKind.LEAK: msgspec.json.Decoder(_LeakEnvelope),
}


@dataclass(frozen=True, slots=True)
class EventPage:
    """One page of events, and the total Radar says there are (None: it did not say)."""

    events: tuple[RadarEvent, ...]
    total_count: int | None


def decode_events(body: bytes, kind: EventKind, asn: int) -> Envelope[EventPage]:
    """Decode one page of `kind` events asked for `asn`; DecodeError naming the JSON path."""
    wire = decode_wire(_DECODERS[kind].decode, body, "events answer")
    errors = tuple(wire.errors or ())
    if not wire.success or wire.result is None:
        return Envelope(success=wire.success, errors=errors, result=None)
    names = {a.asn: clip(a.org_name or "", MAX_NAME) for a in wire.result.asn_info}
    if isinstance(wire.result, _WireHijacks):
        events = tuple(_hijack(i, e, names) for i, e in enumerate(wire.result.events))
    else:
        events = tuple(_leak(i, e, names) for i, e in enumerate(wire.result.events))
    for i, event in enumerate(events):
        if not event.involves(frozenset({asn})):
            raise DecodeError(
                f"result.events[{i}]: event {event.id} (by AS{event.asn}) does not involve "
                f"AS{asn}, which was asked about"
            )
    info = wire.result_info
    return Envelope(True, errors, EventPage(events, info.total_count if info else None))


def _hijack(i: int, e: _WireHijack, names: dict[int, str]) -> RadarEvent:
    prefixes = [normalise_prefix(p) for p in e.prefixes]
    return RadarEvent(
        kind=EventKind.HIJACK,
        id=e.id,
        asn=e.hijacker_asn,
        asn_name=names.get(e.hijacker_asn, ""),
        prefixes=tuple(prefixes[:MAX_EVENT_PREFIXES]),
        more_prefixes=max(0, len(prefixes) - MAX_EVENT_PREFIXES),
        started=wire_timestamp(e.min_hijack_ts, f"result.events[{i}].min_hijack_ts"),
        ongoing=e.on_going_count > 0,
        victims=tuple(e.victim_asns[:MAX_EVENT_ASNS]),
        confidence=e.confidence_score,
    )


def _leak(i: int, e: _WireLeak, names: dict[int, str]) -> RadarEvent:
    # Radar's leak events count their prefixes but do not list them.
    started = wire_timestamp(e.min_ts, f"result.events[{i}].min_ts")
    if started is None:
        started = wire_timestamp(e.detected_ts, f"result.events[{i}].detected_ts")
    return RadarEvent(
        kind=EventKind.LEAK,
        id=e.id,
        asn=e.leak_asn,
        asn_name=names.get(e.leak_asn, ""),
        prefixes=(),
        more_prefixes=e.prefix_count,
        started=started,
        ongoing=not e.finished,
        segment=tuple(e.leak_seg[:MAX_EVENT_ASNS]),
    )


class RadarEvents:
    """Every recent `kind` event Radar's detector reports for one AS, page after page."""

    def __init__(self, client: RadarClient, max_pages: int = MAX_PAGES) -> None:
        self.client = client
        self.max_pages = max_pages

    async def fetch(self, kind: EventKind, asn: int) -> list[RadarEvent]:
        """The events involving `asn`; stops on an empty page or at `total_count`.

        SourceError if a page fails, and BadAnswerError when the pages do not end within
        `max_pages` (a total that keeps growing, pages that never empty).
        """
        found: dict[int, RadarEvent] = {}
        for page in range(1, self.max_pages + 1):
            params = {
                "involvedAsn": str(asn),
                "dateRange": DATE_RANGE,
                "page": str(page),
                "per_page": str(PER_PAGE),
                "format": "json",
            }
            got = await self.client.get(
                PATHS[kind], params, lambda body: decode_events(body, kind, asn)
            )
            for event in got.events:
                found[event.id] = event  # a later page wins: the list may shift while paging
            total = got.total_count
            if not got.events or (total is not None and page * PER_PAGE >= total):
                return list(found.values())
        raise BadAnswerError(
            f"{kind.value} events of AS{asn}: the pages did not end after {self.max_pages} "
            f"pages of {PER_PAGE}; cut off"
        )
