"""RIS Live frames for tests and benchmarks.

EVERY FRAME BUILT HERE IS SYNTHETIC, in the shape of the real captures in
`shared/radar-samples/rislive/`: announcements like `ris_message_update_rrc21_v4.json`
(`host` without a domain, `peer_asn` a string, `origin`, one `announcements` entry), and
withdrawals like `ris_message_withdrawal_rrc25_newformat.json` (`host` with `.ripe.net`, an
`id` made of the peer and a hex counter, empty `path`, `community` and `announcements`).
Peers default to documentation addresses and ASNs (192.0.2.0/24, 2001:db8::/32, AS64496).
"""

from __future__ import annotations

import itertools
import json
import random
import time
from collections.abc import Sequence
from typing import Any

DEFAULT_PEER = "192.0.2.1"
DEFAULT_PEER_ASN = 64496
DEFAULT_COLLECTOR = "rrc21"
#: RIPE NCC's AS, the origin of every RIS beacon.
BEACON_ORIGIN = 12654
BEACON_PEER = "2001:db8::b"

_ids = itertools.count(1)

Path = Sequence[int | Sequence[int]]


def announcement(
    prefixes: str | Sequence[str],
    path: Path,
    *,
    peer: str = DEFAULT_PEER,
    peer_asn: int | None = None,
    collector: str = DEFAULT_COLLECTOR,
    timestamp: float | None = None,
) -> dict[str, Any]:
    """A `ris_message` UPDATE: `peer` (AS `peer_asn`, default the path's first) announces
    `prefixes` over `path` (nested lists are AS_SETs) at `timestamp` (default now)."""
    listed = [prefixes] if isinstance(prefixes, str) else list(prefixes)
    hops = [h if isinstance(h, int) else list(h) for h in path]
    first = hops[0] if hops and isinstance(hops[0], int) else DEFAULT_PEER_ASN
    number = next(_ids)
    data: dict[str, Any] = {
        "timestamp": round(time.time() if timestamp is None else timestamp, 2),
        "peer": peer,
        "peer_asn": str(first if peer_asn is None else peer_asn),
        "id": f"{collector.removeprefix('rrc')}-{number % 1000}-{number}",
        "host": collector,
        "type": "UPDATE",
        "path": hops,
        "origin": "igp",
        "announcements": [{"next_hop": peer, "prefixes": listed}],
    }
    return {"type": "ris_message", "data": data}


def withdrawal(
    prefixes: str | Sequence[str],
    *,
    peer: str = DEFAULT_PEER,
    peer_asn: int = DEFAULT_PEER_ASN,
    collector: str = DEFAULT_COLLECTOR,
    timestamp: float | None = None,
) -> dict[str, Any]:
    """A `ris_message` UPDATE in which `peer` withdraws `prefixes` (the newer frame format)."""
    listed = [prefixes] if isinstance(prefixes, str) else list(prefixes)
    data: dict[str, Any] = {
        "timestamp": round(time.time() if timestamp is None else timestamp, 3),
        "peer": peer,
        "peer_asn": str(peer_asn),
        "id": f"{peer}-{next(_ids):016x}",
        "host": f"{collector}.ripe.net",
        "type": "UPDATE",
        "path": [],
        "community": [],
        "announcements": [],
        "withdrawals": listed,
    }
    return {"type": "ris_message", "data": data}


def beacon(prefix: str, *, announce: bool = True, timestamp: float | None = None) -> dict[str, Any]:
    """A RIS beacon moving: announced by AS12654 (through one peer of rrc00), or withdrawn."""
    if announce:
        return announcement(
            prefix,
            [DEFAULT_PEER_ASN, BEACON_ORIGIN],
            peer=BEACON_PEER,
            collector="rrc00",
            timestamp=timestamp,
        )
    return withdrawal(prefix, peer=BEACON_PEER, collector="rrc00", timestamp=timestamp)


def subscribe_ok(subscription: dict[str, Any]) -> dict[str, Any]:
    """RIS Live's acknowledgement of a subscription: the subscription echoed."""
    options = subscription.get("socketOptions", {})
    echoed = {k: v for k, v in subscription.items() if k != "socketOptions"}
    return {"type": "ris_subscribe_ok", "data": {"subscription": echoed, "socketOptions": options}}


def ris_error(message: str) -> dict[str, Any]:
    """A `ris_error` frame."""
    return {"type": "ris_error", "data": {"message": message}}


PONG: dict[str, Any] = {"type": "pong", "data": None}


def encode(frame: dict[str, Any]) -> str:
    """The frame as the text of one WebSocket message."""
    return json.dumps(frame, separators=(",", ":"))


def websocket_frame(text: str) -> bytes:
    """`text` as the bytes of one unmasked WebSocket text message (what a server writes)."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload


def churn(prefixes: Sequence[str], count: int, *, seed: int = 7) -> list[str]:
    """`count` UPDATE frames for benchmarks, each announcing one of `prefixes` from one of 300
    peer addresses on 25 collectors over one of 12 paths to AS64500, or in one frame in twenty
    to a hijacker's AS666."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        origin = 666 if i % 20 == 0 else 64500
        path = [rng.choice((174, 3356, 1299, 6939)), rng.choice((2914, 6453, 3257)), origin]
        peer = f"192.0.{rng.randrange(2)}.{rng.randrange(150)}"
        frame = announcement(rng.choice(prefixes), path, peer=peer, collector=f"rrc{i % 25:02d}")
        out.append(encode(frame))
    return out


def malformed_frames() -> tuple[str, ...]:
    """Frames a broken server could send, each one a different way of being wrong."""
    good = announcement("198.51.100.0/24", [64496, 64511], timestamp=1_700_000_000.0)
    wrong_timestamp = json.loads(encode(good))
    wrong_timestamp["data"]["timestamp"] = "yesterday"
    huge_asn = json.loads(encode(good))
    huge_asn["data"]["path"] = [64496, 2**32]
    bad_prefix = json.loads(encode(good))
    bad_prefix["data"]["announcements"][0]["prefixes"] = ["198.51.100.0/33"]
    return (
        "this is not JSON",
        encode(good)[:-20],
        encode(wrong_timestamp),
        encode(huge_asn),
        encode(bad_prefix),
        "[1, 2, 3]",
    )
