"""The fake Radar's hijack and leak detectors: `GET /radar/bgp/{hijacks,leaks}/events`.

EVERY EVENT IT SERVES IS SYNTHETIC: the shapes follow the documented schema and the example in
Cloudflare's "BGP anomalies" guide (`../shared/radar-api-notes.md`, "Other Radar BGP
endpoints"), the ASNs, prefixes, scores and times are inventions. Answers have the real
envelope: `result.events` (not `result.items`), `result.asn_info`, `result.total_monitors`
(hijacks) and `result_info {count, page, per_page, total_count}` beside `result`; they are
filtered by `involvedAsn` and paged with `page` and `per_page`.

Every fault of `testkit.faults` applies, keyed `hijacks:AS64500` or `leaks:AS64500` (or
global), plus `endless`: a pagination whose total grows with every page, so it never ends.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import web

from testkit.answers import encode
from testkit.error_bodies import error_body
from testkit.faults import OVERFLOWING_TIME, json_response

if TYPE_CHECKING:
    from testkit.fakeradar import FakeRadar

Kind = Literal["hijacks", "leaks"]
KINDS: tuple[Kind, ...] = ("hijacks", "leaks")
PATHS: dict[Kind, str] = {k: f"/client/v4/radar/bgp/{k}/events" for k in KINDS}
#: What `per_page` is when not given, and the most the fake serves on one page.
DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 1000
#: Where an answer about the wrong AS points (documentation ASNs).
ELSEWHERE_ASN = 64999
TOTAL_MONITORS = 163
#: Bad answers made here (an event list has no prefix for `testkit.faults` to move).
_OWN_BAD_ANSWERS = frozenset({"wrong_types", "other_prefix", "bad_timestamp"})


def radar_time(moment: datetime) -> str:
    """`2026-12-07T10:00:00.000`: naive UTC with milliseconds, as the events lists give it."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")


def hijack_event(
    event_id: int,
    hijacker: int,
    victims: list[int],
    prefixes: list[str],
    *,
    confidence: int = 7,
    started: datetime | None = None,
    ongoing: bool = True,
) -> dict[str, Any]:
    """One synthetic hijack event in the documented shape."""
    start = started or datetime.now(UTC) - timedelta(minutes=10)
    return {
        "id": event_id,
        "confidence_score": confidence,
        "duration": 600,
        "event_type": 0,
        "hijack_msgs_count": 12,
        "hijacker_asn": hijacker,
        "hijacker_country": "XX",
        "is_stale": False,
        "min_hijack_ts": radar_time(start),
        "max_hijack_ts": radar_time(start + timedelta(minutes=5)),
        "max_msg_ts": radar_time(start + timedelta(minutes=5)),
        "on_going_count": len(prefixes) if ongoing else 0,
        "peer_asns": [8455, 3356],
        "peer_ip_count": 2,
        "prefixes": list(prefixes),
        "tags": [{"name": "rpki_new_origin_invalid", "score": 3}],
        "victim_asns": list(victims),
        "victim_countries": ["XX"],
    }


def leak_event(
    event_id: int,
    leaker: int,
    segment: list[int],
    *,
    prefix_count: int = 3,
    started: datetime | None = None,
    finished: bool = False,
) -> dict[str, Any]:
    """One synthetic route-leak event in the documented shape; `segment` is (from, by, to)."""
    start = started or datetime.now(UTC) - timedelta(minutes=10)
    return {
        "id": event_id,
        "countries": ["XX"],
        "detected_ts": radar_time(start + timedelta(minutes=1)),
        "finished": finished,
        "leak_asn": leaker,
        "leak_count": 40,
        "leak_seg": list(segment),
        "leak_type": 1,
        "min_ts": radar_time(start),
        "max_ts": radar_time(start + timedelta(minutes=5)),
        "origin_count": 1,
        "peer_count": 12,
        "prefix_count": prefix_count,
    }


def involved(kind: Kind, event: dict[str, Any]) -> set[int]:
    """The ASes `involvedAsn` matches: hijacker and victims, or the leak's ASes."""
    if kind == "hijacks":
        return {event["hijacker_asn"], *event["victim_asns"]}
    return {event["leak_asn"], *event["leak_seg"]}


def events_answer(
    kind: Kind, events: list[dict[str, Any]], page: int, per_page: int, total: int
) -> dict[str, Any]:
    """The envelope around one page of events."""
    asns = sorted({a for e in events for a in involved(kind, e)})
    result: dict[str, Any] = {
        "asn_info": [
            {"asn": a, "country_code": "XX", "org_name": f"SYNTHETIC-AS{a}"} for a in asns
        ],
        "events": events,
    }
    if kind == "hijacks":
        result["total_monitors"] = TOTAL_MONITORS
    return {
        "success": True,
        "errors": [],
        "messages": [],
        "result": result,
        "result_info": {
            "count": len(events),
            "page": page,
            "per_page": per_page,
            "total_count": total,
        },
    }


@dataclass
class FakeEvents:
    """The event lists of one `FakeRadar`, and how its two endpoints answer."""

    fake: FakeRadar
    events: dict[Kind, dict[int, dict[str, Any]]] = field(
        default_factory=lambda: {k: {} for k in KINDS}
    )
    #: Kinds whose pagination never ends: every page full, the total always a page ahead.
    endless: set[Kind] = field(default_factory=set)

    def add_hijack(
        self, event_id: int, hijacker: int, victims: list[int], prefixes: list[str], **kw: Any
    ) -> dict[str, Any]:
        """Serve a hijack event (see `hijack_event`); returns it."""
        event = hijack_event(event_id, hijacker, victims, prefixes, **kw)
        self.events["hijacks"][event_id] = event
        return event

    def add_leak(self, event_id: int, leaker: int, segment: list[int], **kw: Any) -> dict[str, Any]:
        """Serve a route-leak event (see `leak_event`); returns it."""
        event = leak_event(event_id, leaker, segment, **kw)
        self.events["leaks"][event_id] = event
        return event

    def end_event(self, event_id: int) -> None:
        """Radar reports the event over: `on_going_count` 0 (hijack) or `finished` (leak)."""
        if event_id in self.events["hijacks"]:
            self.events["hijacks"][event_id]["on_going_count"] = 0
        if event_id in self.events["leaks"]:
            self.events["leaks"][event_id]["finished"] = True

    def remove_event(self, event_id: int) -> None:
        """The event drops out of every answer."""
        for kind in KINDS:
            self.events[kind].pop(event_id, None)

    def requests(self, kind: Kind) -> list[str]:
        """The fault keys (`hijacks:AS64500`) of the requests for `kind`, in order."""
        return [r.prefix or "" for r in self.fake.requests if (r.prefix or "").startswith(kind)]

    def routes(self, app: web.Application) -> None:
        """Add both endpoints to the fake's application."""
        for kind in KINDS:
            app.router.add_get(PATHS[kind], self._handler(kind))

    def _handler(self, kind: Kind) -> Any:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._respond(kind, request)

        return handle

    async def _respond(self, kind: Kind, request: web.Request) -> web.StreamResponse:
        fake = self.fake
        raw = request.query.get("involvedAsn", "")
        key = f"{kind}:AS{raw}"
        fake.record(key, request)
        denied = await fake.refuse(request.headers.get("Authorization"))
        if denied is not None:
            return denied
        try:
            asn, page = int(raw), int(request.query.get("page", "1"))
            per_page = min(int(request.query.get("per_page", str(DEFAULT_PER_PAGE))), MAX_PER_PAGE)
        except ValueError:
            return json_response(
                400, error_body(2001, "involvedAsn, page and per_page must be integers")
            )
        answer = self._page(kind, asn, max(page, 1), max(per_page, 1))
        fault = fake._take_fault(key)
        if fault is None:
            return json_response(200, encode(answer))
        if fault in _OWN_BAD_ANSWERS:
            return json_response(200, encode(bad_events(fault, kind, answer)))
        return await fake.play_fault(fault, request, key, encode(answer), answer)

    def _page(self, kind: Kind, asn: int, page: int, per_page: int) -> dict[str, Any]:
        if kind in self.endless:
            first = page * per_page
            events = [self._filler(kind, asn, first + i) for i in range(per_page)]
            return events_answer(kind, events, page, per_page, (page + 1) * per_page)
        mine = [e for _, e in sorted(self.events[kind].items()) if asn in involved(kind, e)]
        shown = mine[(page - 1) * per_page : page * per_page]
        return events_answer(kind, copy.deepcopy(shown), page, per_page, len(mine))

    @staticmethod
    def _filler(kind: Kind, asn: int, event_id: int) -> dict[str, Any]:
        if kind == "hijacks":
            return hijack_event(event_id, ELSEWHERE_ASN, [asn], ["192.0.2.0/24"], confidence=1)
        return leak_event(event_id, asn, [ELSEWHERE_ASN, asn, ELSEWHERE_ASN - 1])


def bad_events(fault: str, kind: Kind, answer: dict[str, Any]) -> dict[str, Any]:
    """The answer broken the way `fault` says, about an event list (served with HTTP 200)."""
    broken = copy.deepcopy(answer)
    events = broken["result"]["events"] or [
        hijack_event(1, ELSEWHERE_ASN, [ELSEWHERE_ASN - 1], ["192.0.2.0/24"])
        if kind == "hijacks"
        else leak_event(1, ELSEWHERE_ASN, [1, ELSEWHERE_ASN, 2])
    ]
    broken["result"]["events"] = events
    for event in events:
        if fault == "wrong_types":
            event["id"] = f"event-{event['id']}"
        elif fault == "other_prefix":  # about another AS than the one asked about
            if kind == "hijacks":
                event["hijacker_asn"], event["victim_asns"] = ELSEWHERE_ASN, [ELSEWHERE_ASN - 1]
            else:
                event["leak_asn"], event["leak_seg"] = ELSEWHERE_ASN, [1, ELSEWHERE_ASN, 2]
        else:
            event["min_hijack_ts" if kind == "hijacks" else "min_ts"] = OVERFLOWING_TIME
    return broken
