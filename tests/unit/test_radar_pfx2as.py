"""Radar's pfx2as and moas answers: decoded, checked and capped, against the fake and as bytes."""

from __future__ import annotations

import contextlib
import ipaddress
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.observation import RpkiStatus
from monitor.core.origins import OriginatedPrefix
from monitor.ops.secret import Secret
from monitor.settings import SourceConfig
from monitor.sources.base import AuthError, BadAnswerError, RateLimitedError
from monitor.sources.radar_client import RadarClient
from monitor.sources.radar_pfx2as import RadarOrigins, decode_moas, decode_pfx2as
from monitor.sources.radar_wire import DecodeError
from testkit.answers import OriginSpec
from testkit.fakeradar import DEFAULT_TOKEN, FakeRadar
from testkit.fakeradar_routes import Announcement

ASN = 64500


def origins(fake: FakeRadar, cap: int = 50_000, token: str = DEFAULT_TOKEN) -> RadarOrigins:
    config = SourceConfig(
        base_url=fake.base_url, timeout=2.0, retries=1, backoff_base=0.05, backoff_max=0.1
    )
    return RadarOrigins(RadarClient(config, Secret(token)), cap)


def pfx2as(entries: list[dict[str, Any]], **meta: Any) -> bytes:
    """A SYNTHETIC pfx2as envelope around `entries`."""
    meta = {"data_time": "2024-06-03T12:00:00", "total_peers": 2000, **meta}
    result = {"meta": meta, "prefix_origins": entries}
    return json.dumps({"success": True, "errors": [], "messages": [], "result": result}).encode()


def entry(prefix: str, origin: int = ASN, peers: int = 1800, rpki: str = "VALID") -> dict[str, Any]:
    return {"origin": origin, "peer_count": peers, "prefix": prefix, "rpki_validation": rpki}


# --- against the fake ------------------------------------------------------------------------


async def test_what_an_as_originates_in_the_answers_order(fake: FakeRadar) -> None:
    fake.routes.set_origin(ASN, "192.0.2.0/24", "2001:db8::/32")
    fake.routes.announce(Announcement("198.51.100.0/24", ASN, peer_count=12, rpki="INVALID"))
    async with origins(fake) as source:
        got = await source.originated(ASN)
    assert [(p.prefix, p.peer_count, p.rpki) for p in got.prefixes] == [
        ("192.0.2.0/24", 1800, RpkiStatus.VALID),
        ("2001:db8::/32", 1800, RpkiStatus.VALID),
        ("198.51.100.0/24", 12, RpkiStatus.INVALID),
    ]
    assert (got.asn, got.total_peers, got.left_out) == (ASN, 2000, 0)
    assert got.data_time is not None and got.data_time.tzinfo is UTC


async def test_moas_names_the_other_origins(fake: FakeRadar) -> None:
    fake.routes.set_origin(ASN, "192.0.2.0/24", "198.51.100.0/24")
    fake.routes.set_origin(64999, "192.0.2.0/24")
    async with origins(fake) as source:
        moas = await source.moas(ASN)
    assert [(m.prefix, m.others(ASN)) for m in moas] == [("192.0.2.0/24", (64999,))]


async def test_the_as_name_comes_from_a_realtime_answer(fake: FakeRadar) -> None:
    fake.set_prefix("192.0.2.0/24", [OriginSpec(ASN)])
    async with origins(fake) as source:
        assert await source.as_name(ASN, "192.0.2.0/24") == "SYNTHETIC-AS64500"
        assert await source.as_name(ASN, "198.51.100.0/24") == ""  # nobody sees it


async def test_beyond_the_cap_the_first_prefixes_are_kept_and_the_rest_counted(
    fake: FakeRadar,
) -> None:
    nets = [str(n) for n in ipaddress.ip_network("10.0.0.0/14").subnets(new_prefix=24)]
    fake.routes.set_origin(ASN, *nets)  # 1,024 prefixes
    async with origins(fake, cap=1000) as source:
        got = await source.originated(ASN)
    assert [p.prefix for p in got.prefixes] == nets[:1000]
    assert got.left_out == 24


async def test_an_answer_about_another_as_is_refused(fake: FakeRadar) -> None:
    fake.routes.set_origin(ASN, "192.0.2.0/24")
    fake.set_fault("other_prefix", "AS64500")
    async with origins(fake) as source:
        with pytest.raises(BadAnswerError, match=r"prefix_origins\[0\]\.origin: .*AS64511, not"):
            await source.originated(ASN)
        with pytest.raises(BadAnswerError, match=r"result\.moas\[0\]: .*other ASes, not AS64500"):
            await source.moas(ASN)


async def test_errors_are_the_clients_typed_errors(fake: FakeRadar) -> None:
    fake.retry_after = 1
    fake.set_fault("429", "AS64500")
    async with origins(fake) as source:
        with pytest.raises(RateLimitedError, match="HTTP 429"):
            await source.originated(ASN)
    async with origins(fake, token="wrong") as source:
        with pytest.raises(AuthError, match="rejected the API token"):
            await source.originated(64501)


# --- decoding bytes --------------------------------------------------------------------------


def test_prefixes_are_normalised_and_a_repeated_prefix_counted_once() -> None:
    body = pfx2as(
        [
            entry("2001:db8:0:0::/32", peers=10),
            entry("192.0.2.7/24", rpki="unknown"),
            entry("2001:DB8::/32", peers=20, rpki="invalid_length"),
        ]
    )
    got = decode_pfx2as(body, ASN).result
    assert got is not None
    assert got.prefixes == (
        OriginatedPrefix("2001:db8::/32", ASN, 20, RpkiStatus.INVALID),
        OriginatedPrefix("192.0.2.0/24", ASN, 1800, RpkiStatus.UNKNOWN),
    )
    assert got.data_time == datetime(2024, 6, 3, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (pfx2as([entry("192.0.2.0/24"), entry("garbage")]), "result.prefix_origins[1].prefix"),
        (pfx2as([entry("192.0.2.0/24", peers=-1)]), "$.result.prefix_origins[0].peer_count"),
        (pfx2as([entry("1" * 65)]), "$.result.prefix_origins[0].prefix"),
        (pfx2as([{"origin": "AS64500", "prefix": "192.0.2.0/24"}]), "prefix_origins[0].origin"),
        (pfx2as([{"origin": ASN}]), "missing required field `prefix`"),
        (pfx2as([], data_time="yesterday"), "result.meta.data_time: not an ISO 8601"),
        (b'{"success": true, "result": {"prefix_origins": {}}}', "$.result.prefix_origins"),
    ],
)
def test_bad_entries_say_where(body: bytes, words: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode_pfx2as(body, ASN)
    assert words in str(info.value)


def test_moas_entries_say_where() -> None:
    body = json.dumps(
        {"success": True, "result": {"moas": [{"prefix": "x", "origins": [{"origin": ASN}]}]}}
    ).encode()
    with pytest.raises(DecodeError, match=r"result\.moas\[0\]\.prefix: not a prefix: 'x'"):
        decode_moas(body, ASN)


# --- properties ------------------------------------------------------------------------------


def networks() -> st.SearchStrategy[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return (
        st.integers(4, 6)
        .filter(lambda v: v != 5)
        .flatmap(
            lambda v: st.builds(
                lambda address, length: ipaddress.ip_network((address, length), strict=False),
                st.integers(0, 2 ** (32 if v == 4 else 128) - 1),
                st.integers(0, 32 if v == 4 else 128),
            )
        )
    )


rpki = st.sampled_from(["VALID", "INVALID", "UNKNOWN", "valid", "invalid_asn", "not-found", ""])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(networks(), st.integers(0, 10_000), rpki), max_size=30),
    st.integers(1, 40),
)
def test_any_valid_answer_round_trips(listed: list[tuple[Any, int, str]], cap: int) -> None:
    body = pfx2as([entry(n.exploded, peers=p, rpki=r) for n, p, r in listed])
    got = decode_pfx2as(body, ASN, cap).result
    assert got is not None
    distinct = list(dict.fromkeys(str(n) for n, _, _ in listed))
    assert [p.prefix for p in got.prefixes] == distinct[:cap]
    assert got.left_out == max(0, len(distinct) - cap)
    for p in got.prefixes:
        same = [(c, RpkiStatus.parse(r)) for n, c, r in listed if str(n) == p.prefix]
        assert p.peer_count == max(c for c, _ in same)
        assert p.rpki in {r for _, r in same}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
pfx2as_like = st.fixed_dictionaries(
    {
        "success": st.booleans() | json_values,
        "result": st.fixed_dictionaries(
            {
                "meta": st.dictionaries(
                    st.sampled_from(["data_time", "total_peers"]), json_values | st.text()
                ),
                "prefix_origins": st.lists(
                    st.dictionaries(
                        st.sampled_from(["origin", "prefix", "peer_count", "rpki_validation"]),
                        json_values | st.integers(-5, 2**33) | networks().map(str),
                    ),
                    max_size=5,
                ),
                "moas": st.lists(
                    st.dictionaries(st.sampled_from(["prefix", "origins"]), json_values),
                    max_size=3,
                ),
            }
        )
        | json_values,
    }
)


def decodes_or_refuses(body: bytes) -> None:
    """Both decoders give an envelope or a DecodeError, never any other exception."""
    for decode in (decode_pfx2as, decode_moas):
        with contextlib.suppress(DecodeError):
            decode(body, ASN)


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, pfx2as_like))
def test_any_json_value_is_an_answer_or_a_decode_error(value: Any) -> None:
    decodes_or_refuses(json.dumps(value).encode())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_are_an_answer_or_a_decode_error(raw: bytes) -> None:
    decodes_or_refuses(raw)
