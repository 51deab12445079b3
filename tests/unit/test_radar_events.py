"""Radar's events answers → `RadarEvent`s: any well-formed page decodes to what it says, any
body at all decodes or fails with a DecodeError naming the place; fetching pages until an
empty page or `total_count`, and cutting off a pagination that never ends."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.radar_event import MAX_EVENT_PREFIXES, EventKind
from monitor.sources.base import BadAnswerError, TransientError
from monitor.sources.radar_client import RadarClient
from monitor.sources.radar_events import PER_PAGE, RadarEvents, decode_events
from monitor.sources.radar_wire import DecodeError
from testkit.answers import encode
from testkit.fakeradar import FakeRadar
from testkit.fakeradar_events import events_answer, hijack_event, leak_event

ASN = 64500
asns = st.integers(1, 2**32 - 1)
times = st.datetimes(datetime(2000, 1, 1), datetime(2099, 1, 1), timezones=st.just(UTC))
prefixes = st.lists(st.sampled_from(["192.0.2.0/24", "2001:db8::/32", "10.0.0.0/8"]), max_size=80)


@st.composite
def hijacks(draw: st.DrawFn) -> dict[str, Any]:
    victims = [ASN, *draw(st.lists(asns, max_size=5))]
    return hijack_event(
        draw(st.integers(0, 10**9)),
        draw(asns),
        victims,
        draw(prefixes),
        confidence=draw(st.integers(0, 12)),
        started=draw(times),
        ongoing=draw(st.booleans()),
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(hijacks(), max_size=20))
def test_any_hijack_page_decodes_to_what_it_says(events: list[dict[str, Any]]) -> None:
    body = encode(events_answer("hijacks", events, 1, PER_PAGE, len(events)))
    page = decode_events(body, EventKind.HIJACK, ASN).result
    assert page is not None and page.total_count == len(events)
    for wire, event in zip(events, page.events, strict=True):
        assert (event.id, event.asn, event.confidence) == (
            wire["id"],
            wire["hijacker_asn"],
            wire["confidence_score"],
        )
        assert event.ongoing == (wire["on_going_count"] > 0)
        assert len(event.prefixes) == min(len(wire["prefixes"]), MAX_EVENT_PREFIXES)
        assert len(event.prefixes) + event.more_prefixes == len(wire["prefixes"])
        assert event.started is not None and event.started.tzinfo is UTC


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**9), asns, st.booleans(), st.integers(0, 10**6), times)
def test_any_leak_decodes_with_its_segment_and_counted_prefixes(
    event_id: int, leaker: int, finished: bool, count: int, started: datetime
) -> None:
    wire = leak_event(
        event_id,
        leaker,
        [ASN, leaker, 3356],
        finished=finished,
        prefix_count=count,
        started=started,
    )
    body = encode(events_answer("leaks", [wire], 1, PER_PAGE, 1))
    page = decode_events(body, EventKind.LEAK, ASN).result
    assert page is not None
    [event] = page.events
    assert (event.asn, event.segment, event.ongoing) == (leaker, (ASN, leaker, 3356), not finished)
    assert event.prefixes == () and event.more_prefixes == count and event.confidence is None


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.sampled_from(list(EventKind)))
def test_any_json_in_place_of_an_event_fails_cleanly(value: Any, kind: EventKind) -> None:
    body = json.dumps({"success": True, "result": {"events": [value]}}, allow_nan=False).encode()
    try:
        decode_events(body, kind, ASN)
    except DecodeError as exc:
        assert "result.events[0]" in str(exc) or "$.result.events" in str(exc)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_decode_or_fail_with_a_decode_error(body: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_events(body, EventKind.HIJACK, ASN)


def test_bounds_name_the_json_path() -> None:
    too_many = [hijack_event(i, 64666, [ASN], []) for i in range(1001)]
    with pytest.raises(DecodeError, match=r"\$\.result\.events"):
        decode_events(
            encode(events_answer("hijacks", too_many, 1, 1001, 1001)), EventKind.HIJACK, ASN
        )
    long_prefix = hijack_event(1, 64666, [ASN], ["1" * 65])
    with pytest.raises(DecodeError, match=r"\$\.result\.events\[0\]\.prefixes\[0\]"):
        decode_events(
            encode(events_answer("hijacks", [long_prefix], 1, 1, 1)), EventKind.HIJACK, ASN
        )
    elsewhere = hijack_event(1, 64666, [64510], [])
    with pytest.raises(DecodeError, match=r"result\.events\[0\].*does not involve AS64500"):
        decode_events(encode(events_answer("hijacks", [elsewhere], 1, 1, 1)), EventKind.HIJACK, ASN)


async def test_fetch_reads_every_page_and_stops_at_the_total(
    fake: FakeRadar, client: RadarClient
) -> None:
    for i in range(PER_PAGE * 2 + 5):
        fake.events.add_leak(i, 64666, [174, 64666, ASN])
    events = await RadarEvents(client).fetch(EventKind.LEAK, ASN)
    assert sorted(e.id for e in events) == list(range(PER_PAGE * 2 + 5))
    assert fake.events.requests("leaks") == [f"leaks:AS{ASN}"] * 3
    assert client.budget.used == 3  # every page counts in the one budget


async def test_an_empty_answer_is_one_request(fake: FakeRadar, client: RadarClient) -> None:
    assert await RadarEvents(client).fetch(EventKind.HIJACK, ASN) == []
    assert len(fake.events.requests("hijacks")) == 1


async def test_a_pagination_that_never_ends_is_cut_off(
    fake: FakeRadar, client: RadarClient
) -> None:
    fake.events.endless.add("hijacks")
    with pytest.raises(BadAnswerError, match="did not end after 3 pages"):
        await RadarEvents(client, max_pages=3).fetch(EventKind.HIJACK, ASN)
    assert len(fake.events.requests("hijacks")) == 3


async def test_a_failing_page_fails_the_fetch(fake: FakeRadar, client: RadarClient) -> None:
    fake.set_fault("502_html", f"hijacks:AS{ASN}")
    with pytest.raises(TransientError, match="HTTP 502"):
        await RadarEvents(client).fetch(EventKind.HIJACK, ASN)
