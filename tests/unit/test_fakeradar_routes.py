"""The fake Radar's pfx2as and moas endpoints: documented envelope and shapes, and every fault."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest

from monitor.ops.secret import Secret
from monitor.settings import SourceConfig
from monitor.sources.base import (
    ApiError,
    AuthError,
    BadAnswerError,
    RateLimitedError,
    SourceError,
    TooLargeError,
    TransientError,
)
from monitor.sources.radar_client import RadarClient
from monitor.sources.radar_pfx2as import RadarOrigins
from testkit.fakeradar import DEFAULT_TOKEN, FakeRadar
from testkit.faults import FAULTS

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


async def get(
    fake: FakeRadar, endpoint: str, params: dict[str, str], headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """(status, decoded JSON) of one request to `endpoint` (`pfx2as` or `moas`)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{fake.base_url}/radar/bgp/routes/{endpoint}",
            params=params,
            headers=AUTH if headers is None else headers,
        ) as resp,
    ):
        return resp.status, await resp.json()


@pytest.fixture(autouse=True)
def announced(fake: FakeRadar) -> None:
    fake.routes.set_origin(64500, "192.0.2.0/24", "2001:db8::/32")
    fake.routes.set_origin(64999, "192.0.2.0/24", peer_count=40, rpki="INVALID")


async def test_pfx2as_by_origin_in_the_documented_envelope(fake: FakeRadar) -> None:
    status, body = await get(fake, "pfx2as", {"origin": "64500"})
    assert status == 200
    assert {k: body[k] for k in ("success", "errors", "messages")} == {
        "success": True,
        "errors": [],
        "messages": [],
    }
    assert set(body["result"]["meta"]) == {"data_time", "query_time", "total_peers"}
    assert body["result"]["prefix_origins"] == [
        {"origin": 64500, "peer_count": 1800, "prefix": "192.0.2.0/24", "rpki_validation": "VALID"},
        {
            "origin": 64500,
            "peer_count": 1800,
            "prefix": "2001:db8::/32",
            "rpki_validation": "VALID",
        },
    ]
    assert fake.routes.requests[-1].endpoint == "pfx2as"
    assert fake.routes.requests[-1].key == "AS64500"


async def test_pfx2as_by_prefix_lists_every_origin(fake: FakeRadar) -> None:
    _, body = await get(fake, "pfx2as", {"prefix": "192.0.2.0/24"})
    assert [(o["origin"], o["peer_count"]) for o in body["result"]["prefix_origins"]] == [
        (64500, 1800),
        (64999, 40),
    ]


async def test_moas_by_origin_in_the_documented_shape(fake: FakeRadar) -> None:
    _, body = await get(fake, "moas", {"origin": "64500"})
    assert body["result"]["moas"] == [
        {
            "origins": [
                {"origin": 64500, "peer_count": 1800, "rpki_validation": "VALID"},
                {"origin": 64999, "peer_count": 40, "rpki_validation": "INVALID"},
            ],
            "prefix": "192.0.2.0/24",
        }
    ]
    _, by_prefix = await get(fake, "moas", {"prefix": "192.0.2.0/24"})
    assert by_prefix["result"]["moas"] == body["result"]["moas"]
    _, body = await get(fake, "moas", {"origin": "64501"})
    assert body["result"]["moas"] == []


@pytest.mark.parametrize(
    ("endpoint", "params", "status", "code"),
    [
        ("pfx2as", {"origin": "AS64500"}, 400, 2001),
        ("pfx2as", {"prefix": "nonsense"}, 400, 2001),
        ("pfx2as", {}, 400, 2001),
        ("moas", {"prefix": "192.0.2.0/33"}, 400, 2001),
    ],
)
async def test_invalid_queries_are_refused_like_radar(
    fake: FakeRadar, endpoint: str, params: dict[str, str], status: int, code: int
) -> None:
    got, body = await get(fake, endpoint, params)
    assert (got, body["success"], body["errors"][0]["code"]) == (status, False, code)


@pytest.mark.parametrize(
    ("headers", "status"), [({}, 403), ({"Authorization": DEFAULT_TOKEN}, 400)]
)
async def test_requests_without_the_token_are_refused(
    fake: FakeRadar, headers: dict[str, str], status: int
) -> None:
    got, body = await get(fake, "pfx2as", {"origin": "64500"}, headers)
    assert (got, body["success"]) == (status, False)


async def test_a_raw_body_replaces_one_answer(fake: FakeRadar) -> None:
    fake.routes.set_body("pfx2as", "AS64500", b'{"success": true, "result": null}', status=200)
    _, body = await get(fake, "pfx2as", {"origin": "64500"})
    assert body == {"success": True, "result": None}


#: What the real client makes of each fault on these endpoints.
OUTCOMES: dict[str, type[SourceError]] = {
    "429": RateLimitedError,
    "500": TransientError,
    "502_html": TransientError,
    "timeout": TransientError,
    "trickle": TransientError,
    "success_false": ApiError,
    "success_false_200": ApiError,
    "truncated": TransientError,
    "wrong_types": BadAnswerError,
    "other_prefix": BadAnswerError,
    "deep_json": BadAnswerError,
    "bad_timestamp": BadAnswerError,
    "huge": TooLargeError,
    "huge_chunked": TooLargeError,
    "auth": AuthError,
    "drop": TransientError,
}


def test_every_fault_has_an_expected_outcome() -> None:
    assert set(OUTCOMES) == set(FAULTS)


@pytest.mark.parametrize("fault", sorted(OUTCOMES))
async def test_every_fault_applies_to_an_origin_query(fake: FakeRadar, fault: str) -> None:
    fake.retry_after, fake.delay, fake.trickle_interval = 1, 5.0, 0.2
    fake.huge_bytes = 4 * 1024 * 1024
    fake.set_fault(fault, "AS64500")  # type: ignore[arg-type]
    config = SourceConfig(
        base_url=fake.base_url,
        timeout=1.0,
        retries=0,
        max_body_bytes=1024 * 1024,
        max_retry_after=1.0,
    )
    started = time.monotonic()
    async with RadarOrigins(RadarClient(config, Secret(DEFAULT_TOKEN))) as source:
        with pytest.raises(OUTCOMES[fault]):
            # bad_timestamp only breaks pfx2as' data_time, which moas answers do not need
            await source.originated(64500)
        assert len((await source.originated(64999)).prefixes) == 1  # other keys: no fault
    assert time.monotonic() - started < 5


async def test_a_fault_keyed_by_prefix_hits_the_prefix_query_only(fake: FakeRadar) -> None:
    fake.set_fault("500", "192.0.2.0/24", count=1)
    status, _ = await get(fake, "pfx2as", {"prefix": "192.0.2.0/24"})
    assert status == 500
    status, _ = await get(fake, "pfx2as", {"prefix": "192.0.2.0/24"})
    assert status == 200
