"""Bad answers: refused with a clear error naming the place, or counted and bounded the way a
sane answer would be; never a crash, never data about another prefix. Every answer here is
SYNTHETIC (no real realtime answer is public), built on the documented schema."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitor.core.measures import expected_visibility, parse_utc
from monitor.core.observation import PrefixView, RpkiStatus
from monitor.core.target import Target
from monitor.sources.radar_routes import decode_routes
from monitor.sources.radar_wire import DecodeError, NotJsonError, describe_errors


def decode(doc: Any) -> PrefixView:
    envelope = decode_routes(json.dumps(doc).encode(), "1.1.1.0/24")
    assert envelope.result is not None
    return envelope.result


def answer(
    origins: list[dict[str, Any]] | None = None,
    routes: list[dict[str, Any]] | None = None,
    **meta: Any,
) -> dict[str, Any]:
    """A SYNTHETIC answer for 1.1.1.0/24 with the given origins, routes and meta fields."""
    return {
        "success": True,
        "result": {"meta": {"prefix_origins": origins or [], **meta}, "routes": routes or []},
    }


def origin(asn: int, visible: int, total: int = 1000, **fields: Any) -> dict[str, Any]:
    """One `prefix_origins` entry for 1.1.1.0/24."""
    entry = {"origin": asn, "prefix": "1.1.1.0/24", "total_peers": total, "total_visible": visible}
    return entry | fields


def test_json_nested_200000_deep_is_a_bad_answer_not_a_crash() -> None:
    deep = b'{"success":true,"result":{"meta":{"x":' + b"[" * 200_000 + b"]" * 200_000 + b"}}}"
    with pytest.raises(DecodeError, match="nested deeper than any realtime answer") as info:
        decode_routes(deep, "1.1.1.0/24")
    assert not isinstance(info.value, NotJsonError)  # a bad answer, not retried as garbage


@pytest.mark.parametrize(
    ("doc", "where"),
    [
        (answer(data_time="0001-01-01T00:00:00+23:59"), "result.meta.data_time"),
        (answer(query_time="9999-12-31T23:59:59-00:01"), "result.meta.query_time"),
        (
            answer(collectors=[{"collector": "rrc00", "latest_rib_ts": "0001-01-01T00:00+01:00"}]),
            "result.meta.collectors[0].latest_rib_ts",
        ),
        (
            answer(routes=[{"as_path": [1], "timestamp": "0001-01-01T00:00:00+23:59"}]),
            "result.routes[0].timestamp",
        ),
    ],
)
def test_timestamps_that_overflow_in_utc_are_bad_answers(doc: dict[str, Any], where: str) -> None:
    with pytest.raises(DecodeError, match=re.escape(f"{where}: not an ISO 8601 timestamp")):
        decode(doc)


OFFSETS = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(timezones=OFFSETS | st.none()))
@example(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=23, minutes=59))))
@example(datetime(9999, 12, 31, 23, 59, tzinfo=timezone(-timedelta(minutes=1))))
def test_any_iso_time_is_the_same_instant_in_utc_or_a_value_error(moment: datetime) -> None:
    try:
        parsed = parse_utc(moment.isoformat())
    except ValueError:  # the offset moves it outside years 1..9999
        assert moment.tzinfo is not None and moment.year in (1, 9999)
        return
    assert parsed.tzinfo is UTC
    assert parsed == (moment if moment.tzinfo else moment.replace(tzinfo=UTC))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_a_time_or_a_value_error(text: str) -> None:
    with contextlib.suppress(ValueError):
        assert parse_utc(text).tzinfo is UTC


def test_an_origin_listed_three_times_is_counted_once() -> None:
    # The answer: AS13335 three times at 38% summed to 100%, so nothing fired.
    view = decode(answer([origin(13335, 380), origin(13335, 380), origin(13335, 380)]))
    assert [(o.origin, o.visible_peers, o.total_peers) for o in view.origins] == [
        (13335, 380, 1000)
    ]
    target = Target(prefix="1.1.1.0/24", origins=frozenset({13335}))
    assert expected_visibility(target, view) == (0.38, 380, 1000)


def test_copies_that_disagree_keep_the_largest_counts_and_the_worst_rpki() -> None:
    view = decode(
        answer(
            [
                origin(13335, 380, rpki_validation="valid"),
                origin(666, 10, rpki_validation="valid"),
                origin(13335, 420, 900, rpki_validation="invalid"),
                origin(13335, 100, 1200, rpki_validation="unknown"),
            ]
        )
    )
    assert [(o.origin, o.visible_peers, o.total_peers, o.rpki) for o in view.origins] == [
        (13335, 420, 1200, RpkiStatus.INVALID),
        (666, 10, 1000, RpkiStatus.VALID),
    ]


COPIES = st.lists(
    st.tuples(st.sampled_from([13335, 666, 64500]), st.integers(0, 2000), st.integers(0, 2000)),
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(COPIES)
def test_duplicates_merge_into_one_origin_with_the_largest_counts(
    copies: list[tuple[int, int, int]],
) -> None:
    view = decode(answer([origin(asn, visible, total) for asn, visible, total in copies]))
    assert [o.origin for o in view.origins] == list(dict.fromkeys(asn for asn, _, _ in copies))
    for o in view.origins:
        mine = [(v, t) for asn, v, t in copies if asn == o.origin]
        assert o.visible_peers == max(v for v, _ in mine)
        assert o.total_peers == max(t for _, t in mine)


@pytest.mark.parametrize(
    ("doc", "where", "other"),
    [
        (
            answer([{**origin(13335, 900), "prefix": "8.8.8.0/24"}]),
            "result.meta.prefix_origins[0].prefix",
            "8.8.8.0/24",
        ),
        (
            answer(routes=[{"as_path": [13335], "prefix": "1.1.1.0/24"}, {"prefix": "1.1.0.0/23"}]),
            "result.routes[1].prefix",
            "1.1.0.0/23",
        ),
        (answer(routes=[{"prefix": "banana"}]), "result.routes[0].prefix", "'banana'"),
    ],
)
def test_an_answer_about_another_prefix_is_refused_naming_both(
    doc: dict[str, Any], where: str, other: str
) -> None:
    with pytest.raises(DecodeError) as info:
        decode(doc)
    assert str(info.value) == f"{where}: the answer is for {other}, not for 1.1.1.0/24"


def test_prefixes_are_compared_as_networks() -> None:
    doc = answer(
        [{**origin(13335, 900), "prefix": "2606:4700:0:0:0:0:0:0/32"}],
        [{"as_path": [13335], "prefix": " 2606:4700::/32 "}],
    )
    view = decode_routes(json.dumps(doc).encode(), "2606:4700::/32").result
    assert view is not None
    assert view.origins[0].prefix == view.routes[0].prefix == "2606:4700::/32"


NETWORKS = st.ip_addresses().flatmap(
    lambda a: st.integers(0, a.max_prefixlen).map(
        lambda n: ipaddress.ip_network(f"{a}/{n}", strict=False)
    )
)


@settings(max_examples=200, deadline=None)
@given(NETWORKS, st.booleans())
def test_an_answer_is_accepted_exactly_when_it_names_the_watched_network(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network, exploded: bool
) -> None:
    text = network.exploded if exploded else str(network)
    doc = answer([{**origin(13335, 900), "prefix": text}], [{"as_path": [13335], "prefix": text}])
    for watched in ("1.1.1.0/24", "2606:4700::/32"):
        if network == ipaddress.ip_network(watched):
            assert decode_routes(json.dumps(doc).encode(), watched).result is not None
        else:
            with pytest.raises(DecodeError, match=f"not for {re.escape(watched)}"):
                decode_routes(json.dumps(doc).encode(), watched)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.sampled_from(["origin", "path", "info"]),
)
def test_only_32_bit_as_numbers_are_accepted(asn: int, place: str) -> None:
    doc = {
        "origin": answer([origin(asn, 900)]),
        "path": answer(routes=[{"as_path": [3356, asn]}]),
        "info": answer(asn_info=[{"asn": asn, "as_name": "X"}]),
    }[place]
    if 0 <= asn <= 2**32 - 1:
        decode(doc)
    else:
        with pytest.raises(DecodeError, match=r"Expected `int` (>= 0|<= 4294967295) - at `\$"):
            decode(doc)


def test_text_from_outside_is_cut_at_intake() -> None:
    doc = answer(
        [origin(666, 900)],
        [{"as_path": [666], "collector": "rrc" + "9" * 1000, "communities": ["1:1", "7" * 10**5]}],
        asn_info=[
            {
                "asn": 666,
                "as_name": "EVIL" * 1_250_000,  # 5 MB
                "country_code": "ZZ" * 100,
                "org_id": "O" * 1000,
                "org_name": "N" * 10**6,
            }
        ],
        collectors=[{"collector": " RRC" + "0" * 10**6 + ".ripe.net"}],
    )
    view = decode(doc)
    info = view.asn_info[666]
    assert info.name == "EVIL" * 63 + "EVI…" and len(info.name) == 256
    assert (len(info.country), len(info.org_id), len(info.org_name)) == (8, 64, 256)
    assert view.collectors[0].name == "rrc" + "0" * 60 + "…"
    assert view.routes[0].collector == "rrc" + "9" * 60 + "…"
    assert view.routes[0].communities == ("1:1", "7" * 63 + "…")


#: Texts of every length up to `n`, evenly (plain `st.text` rarely writes long ones).
def any_length(n: int) -> st.SearchStrategy[str]:
    return st.integers(0, n).flatmap(lambda k: st.text(min_size=k, max_size=k))


@settings(max_examples=200, deadline=None)
@given(any_length(600), any_length(200))
def test_names_reach_the_view_whole_or_cut_with_an_ellipsis(name: str, collector: str) -> None:
    doc = answer(
        [origin(666, 900)],
        [{"as_path": [666], "collector": collector}],
        asn_info=[{"asn": 666, "as_name": name}],
    )
    view = decode(doc)
    shown = view.as_name(666)
    assert shown == name if len(name) <= 256 else shown == name[:255] + "…"
    assert len(view.routes[0].collector) <= 64


def test_error_lists_are_shown_bounded() -> None:
    chain: dict[str, Any] = {"code": 1, "message": "innermost"}
    for code in range(2, 50):
        chain = {"code": code, "message": "m" * 10_000, "error_chain": [chain]}
    body = json.dumps({"success": False, "errors": [chain] * 100}).encode()
    envelope = decode_routes(body, "1.1.1.0/24")
    text = describe_errors(envelope.errors)
    assert len(text) < 10_000 and text.endswith("; 95 more")
    assert "innermost" not in text and "m" * 255 + "…" in text
