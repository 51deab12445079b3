"""Tests of the fake Radar server: its synthetic answers fit our decoder, its faults fire."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from monitor.core.observation import RpkiStatus
from monitor.sources.radar_routes import decode_routes
from monitor.sources.radar_wire import DecodeError, NotJsonError
from testkit.answers import COLLECTORS, ROUTEVIEWS_ASN, OriginSpec, make_answer
from testkit.error_bodies import AUTH_ERROR_BODY, BAD_AUTH_HEADER_BODY
from testkit.fakeradar import DEFAULT_TOKEN, FakeRadar
from tests.paths import SAMPLES

PREFIX = "1.1.1.0/24"
T0 = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)
AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


async def get(
    fake: FakeRadar,
    prefix: str | None = PREFIX,
    headers: dict[str, str] | None = None,
    client_timeout: float = 10.0,
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one realtime request, on a fresh connection."""
    params = {"prefix": prefix, "format": "JSON"} if prefix is not None else {}
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=client_timeout)) as session,
        session.get(
            f"{fake.base_url}/radar/bgp/routes/realtime",
            params=params,
            headers=AUTH if headers is None else headers,
        ) as resp,
    ):
        return resp.status, dict(resp.headers), await resp.read()


def meta(answer: dict[str, Any]) -> dict[str, Any]:
    """The `result.meta` part of an answer."""
    result: dict[str, Any] = answer["result"]["meta"]
    return result


# --- make_answer ------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["naive", "z", "offset", "fraction"])
def test_answer_decodes_in_every_timestamp_style(style: str) -> None:
    origins = [OriginSpec(13335, visible=900, total=1000), OriginSpec(64496, "invalid", 100, 1000)]
    answer = make_answer(PREFIX, origins, data_time=T0, ts_style=style)
    decoded = decode_routes(json.dumps(answer).encode(), PREFIX).result
    assert decoded is not None
    assert [(o.origin, o.rpki, o.visible_peers) for o in decoded.origins] == [
        (13335, RpkiStatus.VALID, 900),
        (64496, RpkiStatus.INVALID, 100),
    ]
    assert len(decoded.collectors) == 50
    assert len(decoded.routes) == 600
    assert [sum(r.origin == asn for r in decoded.routes) for asn in (13335, 64496)] == [540, 60]
    assert decoded.data_time == T0
    assert set(decoded.asn_info) == {13335, 64496}
    tail = {"naive": "", "z": "Z", "offset": r"\+00:00", "fraction": r"\.\d{6}Z"}[style]
    pattern = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d" + tail)
    stamps = [meta(answer)["data_time"], *(r["timestamp"] for r in answer["result"]["routes"])]
    assert all(pattern.fullmatch(s) for s in stamps)


def test_styles_differ_only_in_formatting() -> None:
    naive = decode_routes(json.dumps(make_answer(PREFIX, data_time=T0)).encode(), PREFIX)
    fraction = make_answer(PREFIX, data_time=T0, ts_style="fraction")
    precise = decode_routes(json.dumps(fraction).encode(), PREFIX)
    assert naive.result is not None and precise.result is not None
    for a, b in zip(naive.result.routes, precise.result.routes, strict=True):
        assert a.as_path == b.as_path
        assert a.timestamp == (b.timestamp.replace(microsecond=0) if b.timestamp else None)


def test_answer_is_deterministic_per_seed() -> None:
    assert make_answer(PREFIX, data_time=T0, seed=7) == make_answer(PREFIX, data_time=T0, seed=7)
    assert make_answer(PREFIX, data_time=T0, seed=7) != make_answer(PREFIX, data_time=T0, seed=8)


def test_answer_looks_realistic() -> None:
    answer = make_answer(PREFIX, data_time=T0, n_routes=1500)
    collectors = meta(answer)["collectors"]
    names = [c["collector"] for c in collectors]
    assert len(set(names)) == 50 and set(names) <= set(COLLECTORS)
    assert any(n.startswith("rrc") for n in names) and any(n.startswith("route-") for n in names)
    total = meta(answer)["prefix_origins"][0]["total_peers"]
    assert 1000 <= total <= 2000
    assert sum(c["peers_v4_count"] for c in collectors) == total
    assert all(
        c["peers_count"] >= max(c["peers_v4_count"], c["peers_v6_count"]) for c in collectors
    )
    decoded = decode_routes(json.dumps(answer).encode(), PREFIX).result
    assert decoded is not None
    assert max(c.realtime_ts for c in decoded.collectors if c.realtime_ts) == decoded.data_time
    for c in decoded.collectors:
        assert c.realtime_ts and c.updates_ts and c.rib_ts
        assert T0 - timedelta(minutes=3) <= c.realtime_ts <= T0
        assert c.rib_ts < c.updates_ts < c.realtime_ts
    paths = [r.as_path for r in decoded.routes]
    assert all(2 <= len(p) <= 8 and p[-1] == 13335 for p in paths)
    assert any(p[-2] == 13335 for p in paths), "some routes prepend the origin"
    with_6447 = [r for r in decoded.routes if r.as_path[0] == ROUTEVIEWS_ASN]
    assert with_6447 and all(r.collector.startswith("route-views") for r in with_6447)
    assert any(r.communities for r in decoded.routes)
    assert all(r.timestamp and r.timestamp < T0 for r in decoded.routes)
    assert "synthetic" in meta(answer), "an unknown field, which the decoder must tolerate"


def test_ipv6_answer_counts_v6_peers() -> None:
    answer = make_answer("2606:4700::/32", data_time=T0)
    total = meta(answer)["prefix_origins"][0]["total_peers"]
    assert sum(c["peers_v6_count"] for c in meta(answer)["collectors"]) == total


def test_nobody_sees_an_empty_origin_list() -> None:
    answer = make_answer(PREFIX, [], data_time=T0)
    assert meta(answer)["prefix_origins"] == [] and answer["result"]["routes"] == []
    assert meta(answer)["asn_info"] == [] and len(meta(answer)["collectors"]) == 50


def test_collector_age_makes_named_collectors_lag() -> None:
    ages = {"rrc25": timedelta(hours=2), "route-views.sg": timedelta(minutes=30)}
    answer = make_answer(PREFIX, n_collectors=5, data_time=T0, collector_age=ages)
    decoded = decode_routes(json.dumps(answer).encode(), PREFIX).result
    assert decoded is not None
    lag = {c.name: T0 - c.realtime_ts for c in decoded.collectors if c.realtime_ts}
    assert len(lag) == 5
    assert lag["rrc25"] == ages["rrc25"] and lag["route-views.sg"] == ages["route-views.sg"]


def test_make_answer_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="ts_style"):
        make_answer(PREFIX, ts_style="epoch")
    with pytest.raises(ValueError, match="n_collectors"):
        make_answer(PREFIX, n_collectors=len(COLLECTORS) + 1)


# --- the server -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_serves_configured_answer_with_ratelimit_headers(fake: FakeRadar) -> None:
    served = fake.set_prefix(PREFIX, [OriginSpec(13335)], n_routes=20, data_time=T0)
    status, headers, body = await get(fake)
    assert (status, body) == (200, served)
    assert headers["Content-Type"] == "application/json"
    assert headers["Ratelimit"].startswith('"default";r=1199;t=')
    assert headers["Ratelimit-Policy"] == '"burst";q=1200;w=300'
    decoded = decode_routes(body, PREFIX).result
    assert decoded is not None and len(decoded.routes) == 20


@pytest.mark.asyncio
async def test_prefix_lookup_is_canonical(fake: FakeRadar) -> None:
    served = fake.set_prefix("2606:4700:0:0::/32", n_routes=3)
    assert (await get(fake, "2606:4700::/32"))[2] == served


@pytest.mark.asyncio
async def test_unknown_prefix_is_seen_by_nobody(fake: FakeRadar) -> None:
    status, _, body = await get(fake, "192.0.2.0/24")
    decoded = decode_routes(body, "192.0.2.0/24").result
    assert status == 200 and decoded is not None
    assert decoded.origins == () and decoded.routes == () and decoded.collectors


@pytest.mark.asyncio
@pytest.mark.parametrize("prefix", [None, "not-a-prefix"])
async def test_missing_or_invalid_prefix_is_a_400(fake: FakeRadar, prefix: str | None) -> None:
    status, _, body = await get(fake, prefix)
    envelope = decode_routes(body, "")
    assert status == 400 and not envelope.success and envelope.errors[0].code == 2001


@pytest.mark.asyncio
async def test_raw_body_and_status(fake: FakeRadar) -> None:
    fake.set_prefix(PREFIX, body=b"not json", status=404)
    assert (await get(fake))[::2] == (404, b"not json")
    with pytest.raises(TypeError):
        fake.set_prefix(PREFIX, body=b"{}", n_routes=3)


@pytest.mark.asyncio
async def test_unknown_path_is_cloudflare_7003(fake: FakeRadar) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{fake.base_url}/nope") as resp:
        assert resp.status == 404
        assert json.loads(await resp.read())["errors"][0]["code"] == 7003


def test_auth_bodies_are_the_real_samples() -> None:
    if not SAMPLES.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{SAMPLES} is missing")
        pytest.skip(f"{SAMPLES} is not available")
    auth = SAMPLES / "error_authentication-error_code10000.json"
    assert auth.read_bytes() == AUTH_ERROR_BODY
    header = SAMPLES / "error_400_invalid-authorization-header.json"
    assert header.read_bytes() == BAD_AUTH_HEADER_BODY


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("headers", "status", "body"),
    [
        ({}, 403, AUTH_ERROR_BODY),
        ({"Authorization": "Bearer wrong"}, 403, AUTH_ERROR_BODY),
        ({"Authorization": DEFAULT_TOKEN}, 400, BAD_AUTH_HEADER_BODY),
    ],
)
async def test_auth_errors(
    fake: FakeRadar, headers: dict[str, str], status: int, body: bytes
) -> None:
    assert (await get(fake, headers=headers))[::2] == (status, body)
    assert fake.requests[-1].has_auth == bool(headers)


@pytest.mark.asyncio
async def test_fault_count_and_retry_after(fake: FakeRadar) -> None:
    fake.retry_after = 7
    fake.set_fault("429", count=2)
    first, second, third = [await get(fake) for _ in range(3)]
    assert first[0] == second[0] == 429 and third[0] == 200
    assert first[1]["Retry-After"] == "7"
    assert json.loads(first[2])["errors"] == [
        {"code": 1015, "message": "You are being rate limited"}
    ]


@pytest.mark.asyncio
async def test_prefix_fault_beats_global_fault_until_cleared(fake: FakeRadar) -> None:
    fake.set_fault("500")
    fake.set_fault("auth", prefix=PREFIX)
    assert (await get(fake))[0] == 403
    assert (await get(fake, "192.0.2.0/24"))[0] == 500
    fake.clear_faults()
    assert (await get(fake))[0] == (await get(fake, "192.0.2.0/24"))[0] == 200
    with pytest.raises(ValueError, match="unknown fault"):
        fake.set_fault("teapot")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="count"):
        fake.set_fault("500", count=0)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [("500", 500, 2000), ("success_false", 400, 2001), ("success_false_200", 200, 2001)],
)
async def test_error_envelopes(fake: FakeRadar, fault: Any, status: int, code: int) -> None:
    fake.set_fault(fault)
    got_status, _, body = await get(fake)
    envelope = decode_routes(body, PREFIX)
    assert got_status == status and not envelope.success and envelope.errors[0].code == code


@pytest.mark.asyncio
async def test_html_502(fake: FakeRadar) -> None:
    fake.set_fault("502_html")
    status, headers, body = await get(fake)
    assert status == 502 and headers["Content-Type"].startswith("text/html")
    with pytest.raises(NotJsonError):
        decode_routes(body, PREFIX)


@pytest.mark.asyncio
async def test_truncated_and_wrong_types(fake: FakeRadar) -> None:
    served = fake.set_prefix(PREFIX, n_routes=10)
    fake.set_fault("truncated", count=1)
    status, _, body = await get(fake)
    assert status == 200 and body == served[: len(served) // 2]
    with pytest.raises(NotJsonError):
        decode_routes(body, PREFIX)
    fake.set_fault("wrong_types", count=1)
    status, _, body = await get(fake)
    assert status == 200 and b'"origin":"AS13335"' in body
    with pytest.raises(DecodeError) as caught:
        decode_routes(body, PREFIX)
    assert not isinstance(caught.value, NotJsonError)


@pytest.mark.asyncio
@pytest.mark.parametrize("fault", ["huge", "huge_chunked"])
async def test_huge_body_is_valid_json_of_exact_size(fake: FakeRadar, fault: Any) -> None:
    fake.huge_bytes = 3_000_000
    fake.set_fault(fault)
    _, headers, body = await get(fake)
    assert len(body) == 3_000_000
    assert headers.get("Content-Length") == ("3000000" if fault == "huge" else None)
    decoded = decode_routes(body, PREFIX).result
    assert decoded is not None and len(decoded.routes) > 10_000


@pytest.mark.asyncio
async def test_default_huge_body_announces_a_gibibyte(fake: FakeRadar) -> None:
    fake.set_fault("huge")
    async with (
        aiohttp.ClientSession(headers=AUTH) as session,
        session.get(f"{fake.base_url}/radar/bgp/routes/realtime", params={"prefix": PREFIX}) as r,
    ):
        assert r.content_length == 1 << 30
        assert (await r.content.read(100)).startswith(b'{"success":true')


@pytest.mark.asyncio
async def test_drop_closes_without_answer(fake: FakeRadar) -> None:
    fake.set_fault("drop")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await get(fake)


@pytest.mark.asyncio
async def test_timeout_and_trickle_outlast_the_client(fake: FakeRadar) -> None:
    fake.delay = 5.0
    fake.set_fault("timeout", count=1)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await get(fake, client_timeout=0.3)
    assert time.monotonic() - started < 2
    fake.trickle_interval, fake.trickle_seconds = 0.05, 0.3
    fake.set_fault("trickle", count=1)
    with pytest.raises(aiohttp.ClientPayloadError):
        await get(fake)


@pytest.mark.asyncio
async def test_requests_and_in_flight_are_recorded(fake: FakeRadar) -> None:
    fake.latency = 0.2
    before = time.monotonic()
    await asyncio.gather(*(get(fake, f"10.0.{i}.0/24") for i in range(5)))
    assert fake.in_flight_max == 5
    assert sorted(r.prefix or "" for r in fake.requests) == [f"10.0.{i}.0/24" for i in range(5)]
    assert all(r.has_auth and r.at >= before for r in fake.requests)


# --- thread mode ------------------------------------------------------------------------------


def test_thread_mode_serves_plain_urllib() -> None:
    fake = FakeRadar(token="secret")
    fake.start_in_thread()
    try:
        fake.set_prefix(PREFIX, n_routes=5, data_time=T0)
        url = f"{fake.base_url}/radar/bgp/routes/realtime?prefix=1.1.1.0%2F24&format=JSON"
        request = urllib.request.Request(url, headers={"Authorization": "Bearer secret"})
        with urllib.request.urlopen(request, timeout=5) as resp:
            decoded = decode_routes(resp.read(), PREFIX).result
        assert decoded is not None and len(decoded.routes) == 5
        fake.set_fault("429", count=1)
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=5)
        assert caught.value.code == 429
        caught.value.close()
    finally:
        fake.stop()
    assert len(fake.requests) == 2


def test_thread_mode_stops_promptly_despite_a_sleeping_request() -> None:
    with FakeRadar(delay=60) as fake:
        fake.set_fault("timeout")
        url = f"{fake.base_url}/radar/bgp/routes/realtime?prefix=1.1.1.0%2F24"
        request = urllib.request.Request(url, headers=AUTH)
        with pytest.raises(TimeoutError):
            urllib.request.urlopen(request, timeout=0.3)
        started = time.monotonic()
    assert time.monotonic() - started < 5
