"""The faults the fake Radar can play, and the responses that play the hard ones.

Simple faults are one canned error body (see `testkit.error_bodies`); the others are made here:
a body sent a byte at a time, a huge body made on the fly, bad answers (the documented
structure with wrong types, an answer about another prefix, JSON nested 200,000 levels deep, a
timestamp that overflows when converted to UTC), and a connection closed without an answer.
All of them are synthetic.
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import time
from collections.abc import Iterator
from typing import Any, Literal, NamedTuple, get_args

from aiohttp import web

from testkit.answers import encode, make_answer

Fault = Literal[
    "429",
    "500",
    "502_html",
    "timeout",
    "trickle",
    "success_false",
    "success_false_200",
    "truncated",
    "wrong_types",
    "other_prefix",
    "deep_json",
    "bad_timestamp",
    "huge",
    "huge_chunked",
    "auth",
    "drop",
]
FAULTS: tuple[str, ...] = get_args(Fault)
#: What `FakeRadar.fault_rate` draws from unless told otherwise: failures a client retries.
DEFAULT_RANDOM_FAULTS: tuple[Fault, ...] = ("500", "502_html", "truncated", "timeout")
JSON_TYPE = "application/json"
_HUGE_HEAD = b'{"success":true,"errors":[],"messages":[],"result":{"meta":{},"routes":['
# Routes without a `prefix` field (the schema lets it out), so the body fits any prefix asked.
_HUGE_UNIT = (
    b'{"as_path":[3356,1299,13335],"collector":"rrc00","communities":["3356:100"],'
    b'"timestamp":"2024-06-03T14:00:00"},'
)
_HUGE_TAIL = b"{}]}}"
_HUGE_BLOCK = _HUGE_UNIT * (256 * 1024 // len(_HUGE_UNIT))
#: Deeper than any decoder recurses: a RecursionError once escaped the decoder on every poll.
DEPTH = 200_000
_DEEP_JSON = b'{"success":true,"result":{"meta":{"x":' + b"[" * DEPTH + b"]" * DEPTH + b"}}}"
#: Valid ISO 8601, but 23:59 ahead of UTC in year 1: converting it to UTC overflows.
OVERFLOWING_TIME = "0001-01-01T00:00:00+23:59"
#: Per address family, where an answer about another prefix is about (the second for the first).
_ELSEWHERE = {4: ("203.0.113.0/24", "198.51.100.0/24"), 6: ("2001:db8:ffff::/48", "2001:db8::/32")}


class RandomFault(NamedTuple):
    """One fault drawn by `fault_rate`: when (`time.monotonic()`), for what prefix, which."""

    at: float
    prefix: str
    kind: Fault


def json_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> web.Response:
    """`body` as a JSON response."""
    return web.Response(status=status, body=body, content_type=JSON_TYPE, headers=headers)


def drop(request: web.Request, resp: web.StreamResponse | None = None) -> web.StreamResponse:
    """Close the connection without (finishing) an answer."""
    if request.transport is not None:
        request.transport.abort()
    return resp if resp is not None else web.Response()


async def trickle(
    request: web.Request, body: bytes, interval: float, seconds: float
) -> web.StreamResponse:
    """Headers at once, then `body` a byte every `interval`; drop it after `seconds`."""
    resp = web.StreamResponse(headers={"Content-Type": JSON_TYPE})
    resp.content_length = len(body)
    await resp.prepare(request)
    deadline = time.monotonic() + seconds
    try:
        for i in range(len(body)):
            if time.monotonic() >= deadline:
                return drop(request, resp)
            await resp.write(body[i : i + 1])
            await asyncio.sleep(interval)
    except ConnectionError:  # the client gave up waiting, as it should
        return drop(request, resp)
    return resp


async def huge(request: web.Request, size: int, *, chunked: bool) -> web.StreamResponse:
    """`size` bytes of (valid, if read to the end) JSON, made on the fly block by block."""
    resp = web.StreamResponse(headers={"Content-Type": JSON_TYPE})
    if chunked:
        resp.enable_chunked_encoding()
    else:
        resp.content_length = size
    await resp.prepare(request)
    try:
        for chunk in _huge_chunks(size):
            await resp.write(chunk)
    except ConnectionError:  # the client stopped reading at its size cap, as it should
        return drop(request, resp)
    return resp


def _huge_chunks(size: int) -> Iterator[bytes]:
    """`size` bytes: a JSON head, route objects, blank padding and a tail that closes it."""
    stream = _huge_parts(size - len(_HUGE_HEAD) - len(_HUGE_TAIL))
    sent = 0
    for part in stream:
        if sent + len(part) >= size:
            yield part[: size - sent]
            return
        sent += len(part)
        yield part


def _huge_parts(filler: int) -> Iterator[bytes]:
    yield _HUGE_HEAD
    for _ in range(max(0, filler) // len(_HUGE_BLOCK)):
        yield _HUGE_BLOCK
    rest = max(0, filler) % len(_HUGE_BLOCK)
    units = rest // len(_HUGE_UNIT)
    yield _HUGE_UNIT * units + b" " * (rest - units * len(_HUGE_UNIT))
    yield _HUGE_TAIL


def bad_answer(fault: Fault, prefix: str, answer: dict[str, Any] | None) -> bytes | None:
    """The body of a bad-answer fault (served with HTTP 200), None for other faults."""
    if fault == "wrong_types":
        return encode(wrong_types(prefix, answer))
    if fault == "other_prefix":
        return encode(make_answer(elsewhere(prefix), n_collectors=5, n_routes=10))
    if fault == "deep_json":
        return _DEEP_JSON
    if fault == "bad_timestamp":
        broken = copy.deepcopy(answer or make_answer(prefix, n_collectors=5, n_routes=10))
        broken["result"]["meta"]["data_time"] = OVERFLOWING_TIME
        return encode(broken)
    return None


def elsewhere(prefix: str) -> str:
    """A documentation prefix of the same family that is not `prefix`."""
    network = ipaddress.ip_network(prefix, strict=False)
    first, second = _ELSEWHERE[network.version]
    return first if network != ipaddress.ip_network(first) else second


def wrong_types(prefix: str, answer: dict[str, Any] | None) -> dict[str, Any]:
    """The answer with the documented structure but wrong types: `"AS13335"`, `[1000]`."""
    if answer is None or not answer["result"]["meta"]["prefix_origins"]:
        answer = make_answer(prefix, n_collectors=5, n_routes=10)
    broken = copy.deepcopy(answer)
    for origin in broken["result"]["meta"]["prefix_origins"]:
        origin["origin"] = f"AS{origin['origin']}"
        origin["total_peers"] = [origin["total_peers"]]
    return broken
