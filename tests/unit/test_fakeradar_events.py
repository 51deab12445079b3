"""The fake Radar's event endpoints: the real envelope (`result.events`, `result_info` beside
`result`), filtered by `involvedAsn`, paged, with every fault keyed by kind and AS and a
pagination that never ends."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from testkit.fakeradar import DEFAULT_TOKEN, FakeRadar

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


async def get(
    fake: FakeRadar, kind: str, headers: dict[str, str] | None = None, **params: str
) -> tuple[int, Any]:
    url = f"{fake.base_url}/radar/bgp/{kind}/events"
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, params=params, headers=AUTH if headers is None else headers) as resp,
    ):
        body = await resp.read()
        try:
            return resp.status, json.loads(body)
        except ValueError:
            return resp.status, body


async def test_hijacks_come_in_the_real_envelope_filtered_by_involved_asn() -> None:
    async with FakeRadar() as fake:
        fake.events.add_hijack(1, 64666, [64500], ["192.0.2.0/24"], confidence=9)
        fake.events.add_hijack(2, 64777, [64510], ["203.0.113.0/24"])
        status, doc = await get(fake, "hijacks", involvedAsn="64500")
    assert status == 200 and doc["success"] is True and "items" not in doc["result"]
    assert [e["id"] for e in doc["result"]["events"]] == [1]
    event = doc["result"]["events"][0]
    assert (event["hijacker_asn"], event["victim_asns"], event["confidence_score"]) == (
        64666,
        [64500],
        9,
    )
    assert event["on_going_count"] > 0
    assert doc["result"]["total_monitors"] > 0
    assert {a["asn"] for a in doc["result"]["asn_info"]} == {64500, 64666}
    assert doc["result_info"] == {"count": 1, "page": 1, "per_page": 10, "total_count": 1}


async def test_the_hijacker_itself_is_involved_and_ended_events_stay_listed() -> None:
    async with FakeRadar() as fake:
        fake.events.add_hijack(1, 64666, [64500], ["192.0.2.0/24"])
        fake.events.end_event(1)
        _, doc = await get(fake, "hijacks", involvedAsn="64666")
    assert [e["on_going_count"] for e in doc["result"]["events"]] == [0]


async def test_leaks_are_paged_and_finished_when_ended() -> None:
    async with FakeRadar() as fake:
        for i in range(25):
            fake.events.add_leak(100 + i, 64500, [174, 64500, 3356])
        fake.events.end_event(124)
        _, first = await get(fake, "leaks", involvedAsn="3356", page="1", per_page="10")
        _, last = await get(fake, "leaks", involvedAsn="3356", page="3", per_page="10")
        _, past = await get(fake, "leaks", involvedAsn="3356", page="4", per_page="10")
    assert [e["id"] for e in first["result"]["events"]] == list(range(100, 110))
    assert first["result_info"]["total_count"] == 25 and "total_monitors" not in first["result"]
    assert [(e["id"], e["finished"]) for e in last["result"]["events"]][-1] == (124, True)
    assert last["result_info"]["count"] == 5
    assert past["result"]["events"] == []


async def test_an_endless_pagination_always_has_one_more_page() -> None:
    async with FakeRadar() as fake:
        fake.events.endless.add("hijacks")
        _, page = await get(fake, "hijacks", involvedAsn="64500", page="50", per_page="5")
    assert len(page["result"]["events"]) == 5
    assert page["result_info"]["total_count"] > 50 * 5


async def test_faults_apply_per_kind_and_as_and_requests_are_recorded() -> None:
    async with FakeRadar() as fake:
        fake.events.add_hijack(1, 64666, [64500], ["192.0.2.0/24"])
        fake.set_fault("500", "hijacks:AS64500", count=1)
        failed, _ = await get(fake, "hijacks", involvedAsn="64500")
        other, _ = await get(fake, "leaks", involvedAsn="64500")
        again, _ = await get(fake, "hijacks", involvedAsn="64500")
        fake.set_fault("429")
        limited, _ = await get(fake, "leaks", involvedAsn="64500")
        fake.clear_faults()
        denied, _ = await get(fake, "leaks", headers={}, involvedAsn="64500")
        assert fake.events.requests("hijacks") == ["hijacks:AS64500"] * 2
    assert (failed, other, again, limited, denied) == (500, 200, 200, 429, 403)


async def test_bad_answer_faults_break_the_event_list() -> None:
    async with FakeRadar() as fake:
        fake.events.add_hijack(1, 64666, [64500], ["192.0.2.0/24"])
        answers = {}
        for fault in ("wrong_types", "other_prefix", "bad_timestamp"):
            fake.set_fault(fault, "hijacks:AS64500", count=1)
            answers[fault] = (await get(fake, "hijacks", involvedAsn="64500"))[1]
        fake.set_fault("truncated", "leaks:AS64500", count=1)
        _, truncated = await get(fake, "leaks", involvedAsn="64500")
    [wrong] = answers["wrong_types"]["result"]["events"]
    [other] = answers["other_prefix"]["result"]["events"]
    [late] = answers["bad_timestamp"]["result"]["events"]
    assert isinstance(wrong["id"], str)
    assert 64500 not in {other["hijacker_asn"], *other["victim_asns"]}
    assert late["min_hijack_ts"].startswith("0001-")
    assert isinstance(truncated, bytes)
