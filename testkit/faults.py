"""The faults the fake Radar can play, and the responses that play the hard ones.

Simple faults are one canned error body (see `testkit.error_bodies`); the others are made here:
a body sent a byte at a time, a huge body made on the fly, an answer with the documented
structure but wrong types, and a connection closed without an answer.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Iterator
from typing import Any, Literal, NamedTuple, get_args

from aiohttp import web

from testkit.answers import make_answer

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
_HUGE_UNIT = (
    b'{"as_path":[3356,1299,13335],"collector":"rrc00","communities":["3356:100"],'
    b'"prefix":"192.0.2.0/24","timestamp":"2024-06-03T14:00:00"},'
)
_HUGE_TAIL = b"{}]}}"
_HUGE_BLOCK = _HUGE_UNIT * (256 * 1024 // len(_HUGE_UNIT))


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


def wrong_types(prefix: str, answer: dict[str, Any] | None) -> dict[str, Any]:
    """The answer with the documented structure but wrong types: `"AS13335"`, `[1000]`."""
    if answer is None or not answer["result"]["meta"]["prefix_origins"]:
        answer = make_answer(prefix, n_collectors=5, n_routes=10)
    broken = copy.deepcopy(answer)
    for origin in broken["result"]["meta"]["prefix_origins"]:
        origin["origin"] = f"AS{origin['origin']}"
        origin["total_peers"] = [origin["total_peers"]]
    return broken
