"""The one-pass decoder of common RIS Live frames agrees with the careful one on every frame,
and decoded frames share their paths, peers and times (the RIB then holds one copy of each)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.sources.rislive_wire import FrameError, Message, _decode_carefully, decode_frame
from testkit.rislive_frames import announcement, encode, withdrawal
from tests.unit.test_rislive_wire import json_values, ris_like, sample, update

SAMPLES = [
    "ris_message_update_rrc21_v4",
    "ris_message_withdrawal_rrc25_newformat",
    "ris_message_update_rrc10_v6_multi_prefix_raw",
    "ris_message_no_type_rrc21",
]


def outcome(decode: Any, frame: str | bytes) -> Message | str:
    """The message, or the FrameError's text."""
    try:
        message: Message = decode(frame)
    except FrameError as exc:
        return f"FrameError: {exc}"
    return message


def agree(frame: str | bytes) -> None:
    assert outcome(decode_frame, frame) == outcome(_decode_carefully, frame)


@settings(max_examples=500, deadline=None)
@given(st.one_of(json_values, ris_like))
def test_both_decoders_agree_on_any_json(value: Any) -> None:
    agree(json.dumps(value))
    agree(json.dumps(value).encode())


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SAMPLES), st.binary(max_size=40), st.integers(min_value=0, max_value=400))
def test_both_decoders_agree_on_real_frames_and_corrupted_ones(
    name: str, noise: bytes, where: int
) -> None:
    real = sample(name)
    agree(real)
    agree(real[:where] + noise + real[where + len(noise) :])


def test_both_decoders_agree_on_pong_as_sets_and_frames_without_a_type() -> None:
    for frame in (
        '{"type": "pong", "data": null}',
        '{"data": null, "type": "pong"}',
        encode(announcement("192.0.2.0/24", [64496, [64511, 64510]])),
        json.dumps({"data": announcement("192.0.2.0/24", [64496])["data"]}),
        encode(withdrawal(["192.0.2.0/24", "2001:DB8::/32"])),
    ):
        agree(frame)
        agree(frame.encode())


def test_frames_with_the_same_path_peer_and_time_share_them() -> None:
    first, second = (
        update(encode(announcement(p, [64496, 3356, 64511], timestamp=1_700_000_000.5)))
        for p in ("192.0.2.0/24", "198.51.100.0/24")
    )
    a, b = first.routes[0], second.routes[0]
    assert a.as_path == (64496, 3356, 64511)
    assert a.as_path is b.as_path and a.peer is b.peer and a.seen_at is b.seen_at
