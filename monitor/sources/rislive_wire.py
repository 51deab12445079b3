"""RIS Live's WebSocket frames (`{"type": …, "data": …}`) → the core's stream types.

Frames have drifted over the years, and every shape seen in real captures is accepted: frames
without `type` (a `data` that looks like a `ris_message` is one), `host` as `rrc21` or
`rrc25.ripe.net`, non-canonical IPv6 prefixes, AS_SETs as nested lists, `peer_asn` as a string
or a number, float timestamps. Everything is bounded: a frame of more than `MAX_FRAME_BYTES`,
more than `MAX_PREFIXES` prefixes, a path of more than `MAX_PATH` hops, an ASN outside 32 bits
or a text field longer than `MAX_TEXT` characters is a `FrameError`, with a short reason.

The common frame, a typed `ris_message` whose path has no AS_SET (or a `pong`), is decoded in
one msgspec pass straight into typed structs; unknown fields (`community`, `raw`,
`aggregator`, …) are skipped unread. Anything else, or anything that fails there, takes the
careful path: one pass over the envelope (`data` kept raw), one over `data`, and errors that
name the place. Both accept the same frames and give the same result. Prefixes, peers, paths
and timestamps go through bounded caches, since a stream repeats the same few thousand of
them: the RIB then holds one copy of each.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, TypeVar, cast

import msgspec

from monitor.core.measures import normalise_collector
from monitor.core.stream import Peer, PeerRoute, PeerWithdrawal, StreamUpdate

#: A frame above this is refused unread (a real UPDATE is at most 64 KiB of BGP, a few of JSON).
MAX_FRAME_BYTES = 1 << 20
#: Prefixes (announced and withdrawn) of one frame: a full 4 KiB BGP UPDATE carries fewer.
MAX_PREFIXES = 4096
#: AS path hops, AS_SET members included: the most one BGP path segment can hold.
MAX_PATH = 255
MAX_ASN = 2**32 - 1
#: Peers, collectors, prefixes and frame types are short; an IPv6 prefix is at most 49.
MAX_TEXT = 64
#: How much of a `ris_error` message is kept (it is logged).
MAX_ERROR_TEXT = 300
#: 9999-12-31T23:59:59Z: later timestamps cannot be dates.
MAX_TIMESTAMP = 253402300799.0
_CACHE = 1 << 16

T = TypeVar("T")
K = TypeVar("K")

_Asn = Annotated[int, msgspec.Meta(ge=0, le=MAX_ASN)]
_Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
_Prefixes = Annotated[list[_Text], msgspec.Meta(max_length=MAX_PREFIXES)]
_AsSet = Annotated[list[_Asn], msgspec.Meta(max_length=MAX_PATH)]


class FrameError(ValueError):
    """A frame that is not what RIS Live sends; the message says why, briefly."""


@dataclass(frozen=True, slots=True)
class RisError:
    """RIS Live reported an error (a bad subscription, a client too slow to keep up)."""

    message: str


@dataclass(frozen=True, slots=True)
class SubscribeOk:
    """RIS Live acknowledged a subscription to `targets`: its prefixes (canonical) or its
    origin path (`64500$`), empty if it named neither."""

    targets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Pong:
    """The answer to our `ping`: the socket is alive."""


@dataclass(frozen=True, slots=True)
class Ignored:
    """A well-formed frame of no interest (another frame type, a non-UPDATE message)."""

    what: str


Message = StreamUpdate | RisError | SubscribeOk | Pong | Ignored


class _Envelope(msgspec.Struct, gc=False):
    type: _Text | None = None
    data: msgspec.Raw = msgspec.Raw()


class _Announcement(msgspec.Struct, gc=False):
    prefixes: _Prefixes | None = None


class _UpdateData(msgspec.Struct, gc=False):
    timestamp: Annotated[float, msgspec.Meta(ge=0, le=MAX_TIMESTAMP)] | None = None
    peer: _Text | None = None
    peer_asn: _Asn | _Text | None = None
    host: _Text | None = None
    type: _Text | None = None
    announcements: Annotated[list[_Announcement], msgspec.Meta(max_length=MAX_PREFIXES)] | None = (
        None
    )
    withdrawals: _Prefixes | None = None


class _RisData(_UpdateData, gc=False):
    path: Annotated[list[_Asn | _AsSet], msgspec.Meta(max_length=MAX_PATH)] | None = None


class _PlainRisData(_UpdateData, gc=False):
    """A `ris_message` whose path is plain AS numbers (no AS_SET): nearly every one."""

    path: Annotated[tuple[_Asn, ...], msgspec.Meta(max_length=MAX_PATH)] | None = None


class _RisMessageFrame(msgspec.Struct, tag="ris_message", tag_field="type", gc=False):
    data: _PlainRisData


class _PongFrame(msgspec.Struct, tag="pong", tag_field="type", gc=False):
    pass


class _ErrorData(msgspec.Struct, gc=False):
    message: str | None = None


class _Subscription(msgspec.Struct, gc=False):
    prefix: _Text | _Prefixes | None = None
    path: _Text | None = None


class _SubscribeOkData(msgspec.Struct, gc=False):
    subscription: _Subscription | None = None
    prefix: _Text | _Prefixes | None = None


_COMMON = msgspec.json.Decoder(_RisMessageFrame | _PongFrame)
_ENVELOPE = msgspec.json.Decoder(_Envelope)
_RIS_DATA = msgspec.json.Decoder(_RisData)
_ERROR_DATA = msgspec.json.Decoder(_ErrorData)
_SUBSCRIBE_OK_DATA = msgspec.json.Decoder(_SubscribeOkData)
_PONG = Pong()
#: Bounded caches of what frames repeat (by their text as sent): one copy each in the RIB.
_PEERS: dict[tuple[str, str, int | str], Peer] = {}
_TIMES: dict[float, datetime] = {}
_PATHS: dict[tuple[int, ...], tuple[tuple[int, ...], int | None]] = {}
_PREFIXES: dict[str, str] = {}


def decode_frame(frame: str | bytes) -> Message:
    """The message in one WebSocket text frame; FrameError if it is not a valid frame."""
    # A character is at most 4 bytes of UTF-8: a text this short is within the limit.
    if len(frame) <= (MAX_FRAME_BYTES if isinstance(frame, bytes) else MAX_FRAME_BYTES // 4):
        try:
            common = _COMMON.decode(frame)
        except (msgspec.ValidationError, msgspec.DecodeError, UnicodeError):
            pass  # not the common frame: the careful path says what it is
        else:
            return _ris_message(common.data) if type(common) is _RisMessageFrame else _PONG
    return _decode_carefully(frame)


def _decode_carefully(frame: str | bytes) -> Message:
    """Any frame, in two passes (the envelope, then `data`), errors naming the place."""
    raw = frame.encode("utf-8", "surrogatepass") if isinstance(frame, str) else frame
    if len(raw) > MAX_FRAME_BYTES:
        raise FrameError(f"frame of {len(raw)} bytes, above the {MAX_FRAME_BYTES}-byte limit")
    envelope = _decode(_ENVELOPE, raw, "$")
    kind, data = envelope.type, envelope.data
    if kind == "ris_message":
        return _ris_message(_decode(_RIS_DATA, data, "$.data"))
    if kind == "pong":
        return _PONG
    if kind == "ris_error":
        return _ris_error(_decode(_ERROR_DATA, data, "$.data") if data else _ErrorData())
    if kind == "ris_subscribe_ok":
        return _subscribe_ok(_decode(_SUBSCRIBE_OK_DATA, data, "$.data") if data else None)
    if kind is not None:
        return Ignored(f"frame of type {kind!r}")
    # msgspec hands a raw value over without its leading whitespace.
    if memoryview(data)[:1].tobytes() != b"{":
        return Ignored("frame without a type")
    message = _decode(_RIS_DATA, data, "$.data")
    if message.peer is None or message.timestamp is None:
        return Ignored("frame without a type")
    return _ris_message(message)


def _decode(decoder: msgspec.json.Decoder[T], raw: bytes | msgspec.Raw, where: str) -> T:
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:
        text = str(exc)  # msgspec names the place inside `raw`, if not its root
        text = (
            text.replace("`$", f"`{where}", 1) if " - at `$" in text else f"{text} - at `{where}`"
        )
        raise FrameError(text[:200]) from None
    except msgspec.DecodeError as exc:
        raise FrameError(f"not JSON: {exc}"[:200]) from None


def _ris_message(data: _RisData | _PlainRisData) -> StreamUpdate | Ignored:
    kind = data.type
    if kind != "UPDATE":
        if kind is None:
            if not data.announcements and not data.withdrawals:
                return Ignored("ris_message without a type")
        elif kind.upper() != "UPDATE":
            return Ignored(f"ris_message of type {kind!r}")
    timestamp, address, raw_asn, host = data.timestamp, data.peer, data.peer_asn, data.host
    if timestamp is None or address is None or raw_asn is None or host is None:
        missing = [
            name
            for name in ("timestamp", "peer", "peer_asn", "host")
            if getattr(data, name) is None
        ]
        raise FrameError(f"UPDATE without {', '.join(missing)}")
    announcements, withdrawn = data.announcements or (), data.withdrawals or ()
    if len(announcements) == 1 and not withdrawn:
        first = announcements[0].prefixes
        if first is not None and len(first) == 1:  # nearly every frame: one prefix announced
            # The caches are read here, not through the functions that fill them: at 50,000
            # frames a second, four calls are a tenth of the frame's cost.
            peer = _PEERS.get((host, address, raw_asn)) or _peer(host, address, raw_asn)
            seen_at = _TIMES.get(timestamp) or _time(timestamp)
            path = data.path or ()
            known = _PATHS.get(path) if type(path) is tuple else None
            as_path, origin = known or _path(path)
            text = first[0]
            prefix = _PREFIXES.get(text) or _prefix(text)
            return StreamUpdate((PeerRoute(prefix, peer, as_path, origin, seen_at),), ())
    announced = [a.prefixes or () for a in announcements]
    count = sum(map(len, announced)) + len(withdrawn)
    if count > MAX_PREFIXES:
        raise FrameError(f"UPDATE with {count} prefixes, above the limit of {MAX_PREFIXES}")
    peer, seen_at = _peer(host, address, raw_asn), _time(timestamp)
    as_path, origin = _path(data.path or ())
    routes: dict[str, PeerRoute] = {}
    for prefixes in announced:  # one entry per next hop, often with the same prefixes
        for text in prefixes:
            prefix = _prefix(text)
            if prefix not in routes:
                routes[prefix] = PeerRoute(prefix, peer, as_path, origin, seen_at)
    withdrawals = {p: PeerWithdrawal(p, peer, seen_at) for p in map(_prefix, withdrawn)}
    return StreamUpdate(tuple(routes.values()), tuple(withdrawals.values()))


def _path(path: Sequence[int | list[int]]) -> tuple[tuple[int, ...], int | None]:
    """The path with AS_SETs flattened in sorted order, and its origin (None after a set)."""
    if type(path) is tuple:  # decoded as plain AS numbers
        return _plain_path(cast(tuple[int, ...], path))
    flat: list[int] = []
    for hop in path:
        if isinstance(hop, int):
            flat.append(hop)
        else:
            flat.extend(sorted(set(hop)))
    if len(flat) > MAX_PATH:
        raise FrameError(f"AS path of {len(flat)} hops, above the limit of {MAX_PATH}")
    last = path[-1] if path else None
    return _plain_path(tuple(flat))[0], (last if isinstance(last, int) else None)


def _plain_path(hops: tuple[int, ...]) -> tuple[tuple[int, ...], int | None]:
    """One copy of each path, and its origin: thousands of routes share a few hundred paths."""
    return _PATHS.get(hops) or _keep(_PATHS, hops, (hops, hops[-1] if hops else None))


def _peer_asn(raw: int | str) -> int:
    if isinstance(raw, int):
        return raw
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10) or int(raw) > MAX_ASN:
        raise FrameError(f"peer_asn is not an AS number: {raw[:20]!r}")
    return int(raw)


def _prefix(text: str) -> str:
    """Canonical text of a CIDR prefix (`2605:de00:bb:0:0:0:0:0/48` → `2605:de00:bb::/48`)."""
    known = _PREFIXES.get(text)
    if known is not None:
        return known
    _, slash, length = text.partition("/")
    if not (slash and length.isascii() and length.isdigit()) or "%" in text:
        raise FrameError(f"not a prefix: {text[:MAX_TEXT]!r}")
    try:
        canonical = str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        raise FrameError(f"not a prefix: {text[:MAX_TEXT]!r}") from None
    # Usually the text is canonical already: then it is the one copy, the key found again.
    return _keep(_PREFIXES, text, text if canonical == text else _prefix(canonical))


def _peer(host: str, address: str, raw_asn: int | str) -> Peer:
    """The peer, with its AS checked and its collector and address normalised
    (`rrc25.ripe.net` → `rrc25`)."""
    known = _PEERS.get((host, address, raw_asn))
    if known is not None:
        return known
    asn = _peer_asn(raw_asn)
    try:
        canonical = str(ipaddress.ip_address(address)) if "%" not in address else ""
    except ValueError:
        canonical = ""
    if not canonical:
        raise FrameError(f"peer is not an IP address: {address[:MAX_TEXT]!r}")
    collector = normalise_collector(host)
    if not collector:
        raise FrameError("UPDATE with an empty host")
    # Keys and peers share one copy of each text: a cache hit then reads memory read often.
    key = (
        sys.intern(host),
        sys.intern(address),
        sys.intern(raw_asn) if type(raw_asn) is str else raw_asn,
    )
    return _keep(_PEERS, key, Peer(sys.intern(collector), sys.intern(canonical), asn))


def _time(timestamp: float) -> datetime:
    """The frame's time (frames that arrive together share one, and then one datetime)."""
    return _TIMES.get(timestamp) or _keep(_TIMES, timestamp, datetime.fromtimestamp(timestamp, UTC))


def _keep(cache: dict[K, T], key: K, value: T) -> T:
    """`value`, kept for `key`; a full cache starts afresh (a bound a stream rarely reaches)."""
    if len(cache) >= _CACHE:
        cache.clear()
    cache[key] = value
    return value


def _ris_error(data: _ErrorData) -> RisError:
    text = (data.message or "").strip()[:MAX_ERROR_TEXT]
    # Logged as one line: control characters (newlines included) become spaces.
    text = "".join(c if c.isprintable() else " " for c in text)
    return RisError(text or "(no message)")


def _subscribe_ok(data: _SubscribeOkData | None) -> SubscribeOk:
    raw = None
    if data is not None:
        raw = data.subscription.prefix if data.subscription is not None else data.prefix
        if raw is None and data.subscription is not None and data.subscription.path:
            return SubscribeOk((data.subscription.path,))  # an origin path, echoed as sent
    if raw is None:
        return SubscribeOk(())
    return SubscribeOk(tuple(_prefix(p) for p in ([raw] if isinstance(raw, str) else raw)))
