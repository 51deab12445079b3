"""Malformed requests to the listener: a debug line each naming no request bytes, a count, one
warning; other server errors are logged as before."""

from __future__ import annotations

import asyncio
import base64
import logging

import pytest
from aiohttp import web

from monitor.exposition.metrics import Metrics
from monitor.exposition.web import make_app
from tests.builders import monitor_state, serving
from tests.webconfig_files import CONFIG

PASSWORD = "in-a-broken-request-7c1e"
CREDENTIALS = base64.b64encode(f"prometheus:{PASSWORD}".encode()).decode()
BAD = [
    b"GARBAGE\r\n\r\n",
    f"GET / HTTP/1.1\r\nAuthorization: Basic {CREDENTIALS}\r\nX: \x01\r\n\r\n".encode(),
    f"GET /?pw={PASSWORD} HTTP/9.9\r\n\r\n".encode(),
]


async def send(url: str, raw: bytes) -> bytes:
    """`raw` sent on a connection of its own; everything the server answers."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(raw)
    answer = await reader.read()
    writer.close()
    return answer


async def test_malformed_requests_are_counted_not_logged_as_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    state = monitor_state(CONFIG)
    metrics = Metrics(lambda: state)
    async with serving(make_app(lambda: state, metrics)) as url:
        for _ in range(10):
            for raw in BAD:
                assert (await send(url, raw)).startswith(b"HTTP/1.0 400 Bad Request")
    ours = [r for r in caplog.records if "malformed HTTP request" in r.getMessage()]
    warnings = [r.getMessage().split("(")[0] for r in ours if r.levelname == "WARNING"]
    # The first at once, the rest of the minute when the listener stopped.
    assert warnings == ["1 malformed HTTP request", "29 malformed HTTP request"]
    assert [r.levelname for r in ours].count("DEBUG") == 30
    assert "from 127.0.0.1 (BadHttpMessage), answered 400" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert PASSWORD not in caplog.text and CREDENTIALS not in caplog.text
    assert "radar_monitor_http_bad_requests_total 30.0" in metrics.render()[0].decode()


async def test_a_handler_failing_is_still_an_error(caplog: pytest.LogCaptureFixture) -> None:
    state = monitor_state(CONFIG)
    app = make_app(lambda: state, Metrics(lambda: state))

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("a bug of ours")

    app.router.add_get("/broken", broken)
    async with serving(app) as url:
        answer = await send(url, b"GET /broken HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 500")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and errors[0].exc_info is not None and "a bug of ours" in caplog.text
