"""RIS Live frames → stream updates: the real captured frames, every drifted shape, the bounds,
and hypothesis: anything at all gives a message or a FrameError, valid frames round-trip."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.stream import Peer, PeerRoute, PeerWithdrawal, StreamUpdate
from monitor.sources.rislive_wire import (
    MAX_FRAME_BYTES,
    MAX_PATH,
    MAX_PREFIXES,
    FrameError,
    Ignored,
    Message,
    Pong,
    RisError,
    SubscribeOk,
    decode_frame,
)
from testkit.rislive_frames import announcement, encode, subscribe_ok, withdrawal
from tests.paths import RISLIVE_SAMPLES


def sample(name: str) -> bytes:
    return (RISLIVE_SAMPLES / f"{name}.json").read_bytes()


def update(frame: str | bytes) -> StreamUpdate:
    message = decode_frame(frame)
    assert isinstance(message, StreamUpdate), message
    return message


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- the real frames ---------------------------------------------------------------------------


def test_ipv4_announcement_with_prepends_old_host_format() -> None:
    peer = Peer("rrc21", "37.49.237.175", 199524)
    path = (199524, 1299, 3356, *[13904] * 6)
    assert update(sample("ris_message_update_rrc21_v4")) == StreamUpdate(
        routes=(PeerRoute("64.68.236.0/22", peer, path, 13904, at("2021-11-08T03:34:46.170")),),
        withdrawals=(),
    )


def test_announcement_with_communities_and_a_four_byte_origin() -> None:
    (route,) = update(sample("ris_message_update_rrc01_v4_communities")).routes
    assert route.prefix == "102.66.116.0/24"
    assert route.peer == Peer("rrc01", "195.66.226.38", 24482)
    assert route.as_path == (24482, 30844, 328471, 328471, 328471)
    assert route.origin == 328471
    assert route.seen_at == at("2021-12-26T21:24:54.840")


def test_ipv6_announcement_with_raw_bytes_and_two_next_hops_is_one_route() -> None:
    (route,) = update(sample("ris_message_update_rrc20_v6_with_raw")).routes
    assert route.prefix == "2602:fd9e:f00::/40"
    assert route.peer == Peer("rrc20", "2001:7f8:24::82", 58299)
    assert (route.as_path, route.origin) == ((58299, 49981, 397666), 397666)


def test_pretty_printed_frame_with_four_prefixes_per_next_hop() -> None:
    routes = update(sample("ris_message_update_rrc10_v6_multi_prefix_raw")).routes
    assert [r.prefix for r in routes] == [
        "2a0e:97c7::/48",
        "2a0e:97c6:fe::/48",
        "2a10:cc42:17b7::/48",
        "2a10:cc42:1feb::/48",
    ]
    assert {r.peer for r in routes} == {Peer("rrc10", "2001:7f8:b:100:1d1:a520:1333:74", 201333)}
    assert {(r.as_path, r.origin) for r in routes} == {((201333, 6762, 174, 20473), 20473)}
    assert {r.seen_at for r in routes} == {at("2021-11-07T00:32:34.800")}


def test_withdrawal_in_the_newer_format_with_a_non_canonical_ipv6_prefix() -> None:
    assert update(sample("ris_message_withdrawal_rrc25_newformat")) == StreamUpdate(
        routes=(),
        withdrawals=(
            PeerWithdrawal(
                "2605:de00:bb::/48",
                Peer("rrc25", "2606:6dc0:1301::1", 13781),
                at("2025-02-26T09:24:17.910"),
            ),
        ),
    )


def test_message_without_a_type_or_routes_is_ignored() -> None:
    assert decode_frame(sample("ris_message_no_type_rrc21")) == Ignored(
        "ris_message without a type"
    )


# --- drifted shapes ----------------------------------------------------------------------------


def test_a_frame_without_type_whose_data_is_a_ris_message_is_one() -> None:
    frame = json.loads(sample("ris_message_update_rrc21_v4"))
    del frame["type"]
    assert update(json.dumps(frame)) == update(sample("ris_message_update_rrc21_v4"))


def test_a_frame_without_type_and_other_data_is_ignored() -> None:
    assert decode_frame('{"data": {"rrcs": []}}') == Ignored("frame without a type")
    assert decode_frame('{"data": [1, 2]}') == Ignored("frame without a type")


def test_numeric_peer_asn_upper_case_peer_and_suffixed_host() -> None:
    frame = announcement("2001:DB8:0:0::/48", [64496, 64511])
    frame["data"].update(peer_asn=64496, peer="2001:DB8:0:0:0:0:0:1", host="RRC03.ripe.net")
    (route,) = update(encode(frame)).routes
    assert route.prefix == "2001:db8::/48"
    assert route.peer == Peer("rrc03", "2001:db8::1", 64496)


def test_as_sets_are_flattened_sorted_and_a_final_set_has_no_origin() -> None:
    middle = update(encode(announcement("192.0.2.0/24", [64496, [64500, 64499], 64511])))
    assert (middle.routes[0].as_path, middle.routes[0].origin) == (
        (64496, 64499, 64500, 64511),
        64511,
    )
    final = update(encode(announcement("192.0.2.0/24", [64496, 64511, [65002, 65001, 65002]])))
    assert (final.routes[0].as_path, final.routes[0].origin) == ((64496, 64511, 65001, 65002), None)


def test_host_bits_are_masked_and_duplicate_prefixes_kept_once() -> None:
    frame = announcement(["192.0.2.7/24", "192.0.2.0/24"], [64496])
    frame["data"]["withdrawals"] = ["2001:db8:0:0:0:0:0:0/32", "2001:db8::/32"]
    decoded = update(encode(frame))
    assert [r.prefix for r in decoded.routes] == ["192.0.2.0/24"]
    assert [w.prefix for w in decoded.withdrawals] == ["2001:db8::/32"]


@pytest.mark.parametrize("kind", ["OPEN", "NOTIFICATION", "KEEPALIVE", "RIS_PEER_STATE"])
def test_other_message_types_are_ignored(kind: str) -> None:
    frame = announcement("192.0.2.0/24", [64496])
    frame["data"]["type"] = kind
    assert decode_frame(encode(frame)) == Ignored(f"ris_message of type {kind!r}")


def test_control_frames() -> None:
    assert decode_frame('{"type": "pong", "data": null}') == Pong()
    assert decode_frame('{"type": "pong"}') == Pong()
    assert decode_frame('{"type": "ris_rrc_list", "data": ["rrc00"]}') == Ignored(
        "frame of type 'ris_rrc_list'"
    )
    ack = subscribe_ok({"prefix": "2001:DB8::/32", "moreSpecific": True, "socketOptions": {}})
    assert decode_frame(encode(ack)) == SubscribeOk(("2001:db8::/32",))
    assert decode_frame('{"type": "ris_subscribe_ok", "data": {}}') == SubscribeOk(())
    path = subscribe_ok({"path": "64500$", "type": "UPDATE", "socketOptions": {}})
    assert decode_frame(encode(path)) == SubscribeOk(("64500$",))  # an origin path, as sent


def test_ris_error_is_kept_short_and_on_one_line() -> None:
    text = "Too many\nsubscriptions " + "x" * 1000
    error = decode_frame(json.dumps({"type": "ris_error", "data": {"message": text}}))
    assert isinstance(error, RisError)
    assert error.message.startswith("Too many subscriptions x") and len(error.message) == 300
    assert decode_frame('{"type": "ris_error"}') == RisError("(no message)")


# --- bounds and malformed frames --------------------------------------------------------------


def refused(frame: str | bytes, reason: str) -> None:
    with pytest.raises(FrameError, match=reason) as caught:
        decode_frame(frame)
    assert len(str(caught.value)) <= 200


def test_a_frame_above_one_mebibyte_is_refused_unread() -> None:
    refused(b" " * (MAX_FRAME_BYTES + 1), "above the 1048576-byte limit")


def test_too_many_prefixes_in_one_frame() -> None:
    frame = announcement([f"10.{i // 256}.{i % 256}.0/24" for i in range(MAX_PREFIXES)], [64496])
    frame["data"]["withdrawals"] = ["192.0.2.0/24"]
    refused(encode(frame), "4097 prefixes, above the limit of 4096")


def test_paths_longer_than_255_hops() -> None:
    refused(encode(announcement("192.0.2.0/24", [64496] * (MAX_PATH + 1))), "path")
    sets = [64496] * 200 + [list(range(1, 60))]
    refused(encode(announcement("192.0.2.0/24", sets)), "259 hops, above the limit of 255")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"path": [64496, 2**32]}, r"<= 4294967295 - at `\$.data.path\[1\]`"),
        ({"path": [-1]}, r">= 0"),
        ({"peer_asn": "4294967296"}, "peer_asn is not an AS number"),
        ({"peer_asn": "AS64496"}, "peer_asn is not an AS number"),
        ({"peer": "not-an-address"}, "peer is not an IP address"),
        ({"peer": "fe80::1%eth0"}, "peer is not an IP address"),
        ({"peer": "1" * 65}, r"length <= 64 - at `\$.data.peer`"),
        ({"host": ""}, "empty host"),
        ({"timestamp": "yesterday"}, r"Expected `float \| null`, got `str`"),
        ({"timestamp": 1e300}, "<= 253402300799"),
        ({"timestamp": -5}, ">= 0"),
        ({"peer": None}, "UPDATE without peer"),
        ({"announcements": [{"prefixes": ["192.0.2.0/33"]}]}, "not a prefix: '192.0.2.0/33'"),
        ({"announcements": [{"prefixes": ["10.0.0.0/255.0.0.0"]}]}, "not a prefix"),
        ({"announcements": [{"prefixes": ["10.0.0.0"]}]}, "not a prefix"),
        ({"withdrawals": ["2001:db8::/129"]}, "not a prefix"),
        ({"withdrawals": "192.0.2.0/24"}, "Expected `array | null`"),
    ],
)
def test_malformed_updates_say_what_is_wrong(change: dict[str, Any], reason: str) -> None:
    frame = announcement("192.0.2.0/24", [64496, 64511])
    frame["data"].update(change)
    refused(encode(frame), reason)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("", "not JSON"),
        ("{", "not JSON"),
        ("[]", "Expected `object`, got `array`"),
        ('{"type": 5}', "Expected `str | null`, got `int`"),
        ('{"type": "ris_message", "data": []}', r"Expected `object`, got `array` - at `\$.data`"),
        ('{"type": "ris_subscribe_ok", "data": {"prefix": "nope"}}', "not a prefix"),
        ('{"type": "ris_error", "data": {"message": 5}}', "Expected `str | null`"),
        ('{"type": "ris_message", "data": {"timestamp": 1e400}}', "out of range"),
        (b"\xff\xfe", "not JSON"),
        ("\ud800", "not JSON"),
    ],
)
def test_malformed_frames(frame: str | bytes, reason: str) -> None:
    refused(frame, reason)


# --- properties -------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=80),
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=30,
)
DATA_KEYS = [
    "timestamp",
    "peer",
    "peer_asn",
    "host",
    "type",
    "path",
    "announcements",
    "withdrawals",
    "prefixes",
    "message",
    "subscription",
    "prefix",
]
FRAME_TYPES = ["ris_message", "ris_error", "ris_subscribe_ok", "pong", "ris_rrc_list", None]
#: Mostly right, so that examples get deep into an UPDATE before something is wrong.
plausible_update = st.fixed_dictionaries(
    {},
    optional={
        "type": st.just("UPDATE"),
        "peer": st.sampled_from(["192.0.2.1", "2001:DB8::1", "", "peer"]),
        "peer_asn": st.integers(-1, 2**33) | st.text("0123456789AS", max_size=12),
        "host": st.sampled_from(["rrc00", "rrc25.ripe.net", "", " "]),
        "timestamp": st.floats(allow_nan=False) | st.integers(-(2**40), 2**40),
    },
)
ris_like = st.fixed_dictionaries(
    {
        "type": st.sampled_from(FRAME_TYPES),
        "data": st.builds(
            lambda base, extra: {**extra, **base},
            plausible_update,
            st.dictionaries(st.sampled_from(DATA_KEYS), json_values, max_size=8),
        ),
    }
)


def decodes_or_refuses(frame: str | bytes) -> Message | None:
    """A message, or None after a FrameError: never any other exception."""
    try:
        return decode_frame(frame)
    except FrameError as exc:
        assert str(exc) and "Traceback" not in str(exc)
        return None


@settings(max_examples=400, deadline=None)
@given(st.one_of(json_values, ris_like))
def test_any_json_value_is_a_message_or_a_frame_error(value: Any) -> None:
    decodes_or_refuses(json.dumps(value))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_are_a_message_or_a_frame_error(raw: bytes) -> None:
    decodes_or_refuses(raw)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.integers(min_value=0, max_value=400))
def test_corrupted_real_frames_are_a_message_or_a_frame_error(noise: bytes, where: int) -> None:
    real = sample("ris_message_update_rrc10_v6_multi_prefix_raw")
    decodes_or_refuses(real[:where] + noise + real[where + len(noise) :])


def networks(version: int) -> st.SearchStrategy[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    bits = 32 if version == 4 else 128
    return st.builds(
        lambda address, length: ipaddress.ip_network((address, length), strict=False),
        st.integers(min_value=0, max_value=2**bits - 1),
        st.integers(min_value=0, max_value=bits),
    )


def spelled(net: ipaddress.IPv4Network | ipaddress.IPv6Network, style: int) -> str:
    """The prefix as some frame may spell it: canonical, fully written out, or upper case."""
    return [str(net), net.exploded, str(net).upper()][style]


asns = st.integers(min_value=0, max_value=2**32 - 1)
paths = st.lists(asns | st.lists(asns, min_size=1, max_size=4), max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    announced=st.lists(st.tuples(networks(4) | networks(6), st.integers(0, 2)), max_size=8),
    withdrawn=st.lists(st.tuples(networks(4) | networks(6), st.integers(0, 2)), max_size=8),
    path=paths,
    peer_asn=asns,
    as_text=st.booleans(),
    collector=st.integers(0, 26),
    suffix=st.booleans(),
    timestamp=st.floats(min_value=0, max_value=4e9),
)
def test_generated_frames_round_trip(
    announced: list[tuple[Any, int]],
    withdrawn: list[tuple[Any, int]],
    path: list[int | list[int]],
    peer_asn: int,
    as_text: bool,
    collector: int,
    suffix: bool,
    timestamp: float,
) -> None:
    frame = announcement([spelled(n, s) for n, s in announced], path, timestamp=timestamp)
    frame["data"].update(
        peer_asn=str(peer_asn) if as_text else peer_asn,
        host=f"rrc{collector:02d}" + (".ripe.net" if suffix else ""),
        withdrawals=[spelled(n, s) for n, s in withdrawn],
    )
    decoded = update(encode(frame))
    peer = Peer(f"rrc{collector:02d}", "192.0.2.1", peer_asn)
    seen_at = datetime.fromtimestamp(frame["data"]["timestamp"], UTC)
    flat = tuple(a for hop in path for a in ([hop] if isinstance(hop, int) else sorted(set(hop))))
    origin = path[-1] if path and isinstance(path[-1], int) else None
    assert decoded.routes == tuple(
        PeerRoute(p, peer, flat, origin, seen_at)
        for p in dict.fromkeys(str(n) for n, _ in announced)
    )
    assert decoded.withdrawals == tuple(
        PeerWithdrawal(p, peer, seen_at) for p in dict.fromkeys(str(n) for n, _ in withdrawn)
    )


@settings(max_examples=100, deadline=None)
@given(st.lists(networks(4) | networks(6), min_size=1, max_size=5))
def test_generated_withdrawals_round_trip(nets: list[Any]) -> None:
    frame = withdrawal([n.exploded for n in nets], peer="2001:db8::7", collector="rrc25")
    decoded = update(encode(frame))
    assert [w.prefix for w in decoded.withdrawals] == list(dict.fromkeys(map(str, nets)))
    assert {w.peer for w in decoded.withdrawals} == {Peer("rrc25", "2001:db8::7", 64496)}
