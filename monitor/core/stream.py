"""What a streaming source (RIS Live) says, in the program's own terms: routes of single peers.

A polling source answers "who sees this prefix, counted over every peer". A stream says, one
peer at a time, "this peer now routes this prefix over this path" or "no longer routes it".
Sources turn their frames into these; nothing past a source knows RIS Live's JSON.

A stream makes a route, a withdrawal and an update for every frame, tens of thousands a
second: those are frozen msgspec structs rather than dataclasses (ten times cheaper to build,
and left out of the garbage collector's scans, as the RIB holds hundreds of thousands).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import msgspec


@dataclass(frozen=True, slots=True)
class Peer:
    """One BGP session of a route collector: (collector, peer address) names it; the AS the
    session reports is carried along, not part of the identity (withdrawals may differ)."""

    collector: str
    address: str
    asn: int = field(compare=False)
    #: Its hash, computed once: every route the RIB takes in looks its peer up.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.collector, self.address)))

    def __hash__(self) -> int:
        return self._hash


class PeerRoute(msgspec.Struct, frozen=True, gc=False):
    """`peer` announced `prefix` over `as_path` (collector side first, origin last) at `seen_at`.

    An AS_SET is flattened into the path in its sorted order; `origin` is None when the path
    ends in an AS_SET (no single origin) or is empty.
    """

    prefix: str
    peer: Peer
    as_path: tuple[int, ...]
    origin: int | None
    seen_at: datetime


class PeerWithdrawal(msgspec.Struct, frozen=True, gc=False):
    """`peer` withdrew `prefix` at `seen_at`."""

    prefix: str
    peer: Peer
    seen_at: datetime


class StreamUpdate(msgspec.Struct, frozen=True, gc=False):
    """Everything one stream message said: announcements and withdrawals of one peer."""

    routes: tuple[PeerRoute, ...]
    withdrawals: tuple[PeerWithdrawal, ...]


#: What a stream's messages were, the label values of the messages metric (a closed set).
MESSAGE_KINDS = ("update", "subscribe_ok", "pong", "error", "ignored", "malformed")
#: Where a stream's subscriptions stand: sent and acknowledged, sent and not acknowledged yet,
#: not sent yet (paced), or left out above the source's limit.
SUBSCRIPTION_STATES = ("active", "waiting", "queued", "left_out")


@dataclass(frozen=True, slots=True)
class StreamCounts:
    """A stream source's tallies: messages by kind since start, subscriptions by state now."""

    messages: dict[str, int]
    subscriptions: dict[str, int]


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """The stream connected or went down at `at`; `reason` says why it went down."""

    connected: bool
    at: datetime
    reason: str = ""
