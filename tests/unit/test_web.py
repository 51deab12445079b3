"""The HTTP listener: probes, the alerts API, the status page's escaping, and method limits."""

from __future__ import annotations

import dataclasses
import re
import socket
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from monitor.core.finding import Severity
from monitor.core.lifecycle import AlertState
from monitor.core.observation import AsInfo
from monitor.exposition.metrics import Metrics
from monitor.exposition.web import make_app
from monitor.state import MonitorState, StreamStats
from tests.builders import alert, answer, monitor_state, origin, serving

HOSTILE = "<script>alert(1)</script>"
CONFIG = f"""
prefixes:
  - prefix: 192.0.2.0/24
    origins: [64500]
    description: "edge anycast {HOSTILE}"
  - prefix: 2001:db8::/32
    origins: [64501]
  - prefix: 198.51.100.0/24
    origins: [64502]
rules:
  - {{name: rpki-invalid, type: rpki_invalid, severity: critical}}
"""
V4, V6, WAITING = "192.0.2.0/24", "2001:db8::/32", "198.51.100.0/24"
MAX_DATA_AGE = 600.0
Http = tuple[aiohttp.ClientSession, str]


def ready_state() -> MonitorState:
    """One cycle done with fresh answers for V4 (hijacked by a hostile AS name) and V6."""
    state = monitor_state(CONFIG)
    hijacked = answer(V4, origins=(origin(64500, 900), origin(64666, 100, rpki="invalid")))
    names = {**hijacked.asn_info, 64666: AsInfo(64666, HOSTILE, "ZZ")}
    state.prefixes[V4].view = dataclasses.replace(hijacked, asn_info=names)
    state.prefixes[V4].last_success = time.time() - 20
    state.prefixes[V6].view = answer(V6, origins=(origin(64501, 1000),))
    state.prefixes[V6].last_success = time.time() - 80
    state.prefixes[WAITING].error = f"HTTP 502 {HOSTILE}"
    state.prefixes[WAITING].failures = 3
    state.first_cycle_done = True
    return state


@pytest.fixture
def state() -> MonitorState:
    return ready_state()


@pytest.fixture
async def http(state: MonitorState) -> AsyncIterator[Http]:
    """A client and the base URL of the app serving `state`."""
    app = make_app(lambda: state, Metrics(lambda: state))
    async with serving(app) as url, aiohttp.ClientSession() as session:
        yield session, url


async def get(http: Http, path: str, method: str = "GET") -> tuple[int, str, dict[str, str]]:
    """Status, body text and headers of one request."""
    session, url = http
    async with session.request(method, url + path) as resp:
        return resp.status, await resp.text(), dict(resp.headers)


async def test_readyz_before_the_first_cycle(http: Http, state: MonitorState) -> None:
    state.first_cycle_done = False
    for prefix in state.prefixes.values():
        prefix.last_success = None
    status, body, _ = await get(http, "/readyz")
    assert (status, body) == (
        503,
        "no cycle completed yet\nno fresh data: no successful answer yet\n",
    )


async def test_readyz_with_stale_data(http: Http, state: MonitorState) -> None:
    now = time.time()
    state.prefixes[V4].last_success = now - 612
    state.prefixes[V6].last_success = now - 900
    status, body, _ = await get(http, "/readyz")
    assert (status, body) == (503, "no fresh data: last answer 612s ago\n")


async def test_readyz_limit_follows_the_interval_after_a_reload(
    http: Http, state: MonitorState
) -> None:
    state.prefixes[V4].last_success = state.prefixes[V6].last_success = time.time() - 300
    status, body, _ = await get(http, "/readyz")
    assert (status, body) == (503, "no fresh data: last answer 300s ago\n")  # 3 x 60 s
    state.effective_interval = 600.0  # what a reload to `interval: 10m` sets
    status, body, _ = await get(http, "/readyz")
    assert (status, body) == (200, "ready\n")


async def test_readyz_when_fresh(http: Http) -> None:
    status, body, _ = await get(http, "/readyz")
    assert (status, body) == (200, "ready\n")


async def test_readyz_lists_every_reason(http: Http, state: MonitorState) -> None:
    state.store_error = "disk I/O error"
    status, body, _ = await get(http, "/readyz")
    assert (status, body) == (503, "state database unavailable: disk I/O error\n")
    state.prefixes[V4].last_success = state.prefixes[V6].last_success = time.time() - 3600
    status, body, _ = await get(http, "/readyz")
    assert status == 503
    assert body.splitlines() == [
        "no fresh data: last answer 3600s ago",
        "state database unavailable: disk I/O error",
    ]


async def test_healthz_follows_the_loop_heartbeat(http: Http, state: MonitorState) -> None:
    state.effective_interval = 60.0
    state.loop_heartbeat = time.monotonic() - 200  # within 3 x 60 s + 30 s
    assert (await get(http, "/healthz"))[:2] == (200, "ok\n")
    state.loop_heartbeat = time.monotonic() - 1000
    status, body, _ = await get(http, "/healthz")
    assert (status, body) == (503, "scheduler loop stalled: no heartbeat for 1000s (limit 210s)\n")


@pytest.mark.parametrize("path", ["/", "/metrics", "/healthz", "/readyz", "/api/v1/alerts"])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
async def test_only_get_and_head(http: Http, path: str, method: str) -> None:
    status, _, headers = await get(http, path, method)
    assert status == 405
    assert headers["Allow"] == "GET,HEAD"
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/", "/metrics", "/healthz", "/readyz", "/api/v1/alerts", "/x"])
async def test_security_headers_on_every_response(http: Http, path: str) -> None:
    _, _, headers = await get(http, path)
    assert headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    assert headers["X-Content-Type-Options"] == "nosniff"


async def test_head_answers_without_a_body(http: Http) -> None:
    status, body, headers = await get(http, "/metrics", "HEAD")
    assert (status, body) == (200, "")
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")


def put_alerts(state: MonitorState) -> None:
    hostile = f"{V4} originated by unexpected AS64666 ({HOSTILE})"
    state.book.alerts.update(
        {
            a.key: a
            for a in (
                alert("stale", None, severity=Severity.WARNING, collector=f"rrc{HOSTILE}"),
                alert("low", V6, severity=Severity.WARNING, state=AlertState.PENDING),
                alert("hijack", V4, origin=64666, message=hostile, silenced=True),
                alert("rpki-invalid", V4, origin=64666),
            )
        }
    )


async def test_alerts_api(http: Http, state: MonitorState) -> None:
    put_alerts(state)
    session, url = http
    async with session.get(f"{url}/api/v1/alerts") as resp:
        assert resp.status == 200
        assert resp.content_type == "application/json"
        doc = await resp.json()
    assert list(doc) == ["alerts"]
    # Critical first, then warnings by prefix (a source-wide alert has the empty prefix).
    assert [a["key"] for a in doc["alerts"]] == [
        ["hijack", V4, "64666"],
        ["rpki-invalid", V4, "64666"],
        ["stale", "", f"rrc{HOSTILE}"],
        ["low", V6, ""],
    ]
    first = doc["alerts"][0]
    assert set(first) == {
        "key",
        "finding",
        "state",
        "started_at",
        "last_seen",
        "fired_at",
        "resolved_at",
        "notified_at",
        "silenced",
        "evidence",
    }
    assert (first["state"], first["silenced"], first["finding"]["origin"]) == (
        "firing",
        True,
        64666,
    )
    assert first["started_at"] == "2026-11-28T12:00:00Z"
    assert doc["alerts"][3]["state"] == "pending"
    # Fields that do not apply are null: a watched prefix has no parent, a hijack no upstream.
    assert (first["finding"]["parent"], first["finding"]["upstream"]) == (None, None)


async def test_alerts_api_without_alerts(http: Http) -> None:
    session, url = http
    async with session.get(f"{url}/api/v1/alerts") as resp:
        assert await resp.json() == {"alerts": []}


async def test_status_page_escapes_and_shows_everything(http: Http, state: MonitorState) -> None:
    put_alerts(state)
    status, page, headers = await get(http, "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<meta http-equiv="refresh" content="30">' in page
    # The AS name, description, fetch error, alert message and collector name are all hostile.
    assert "<script" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 5
    for text in (V4, V6, WAITING, "AS64500", "AS64501", "AS64666", "NAME-64500", "90.0%"):
        assert text in page
    assert "RPKI invalid" in page and "unexpected" in page
    for rule in ("hijack", "rpki-invalid", "stale", "low"):
        assert f'<td class="nowrap">{rule}</td>' in page
    assert "pending" in page and "firing" in page
    # Self-contained: nothing for the browser to fetch; links only to the three lookups.
    assert "src=" not in page
    links = re.findall(r'href="([^"]*)"', page)
    assert links and all(
        link.startswith(("https://radar.cloudflare.com/", "https://bgp.tools/", "https://stat."))
        for link in links
    )


async def test_status_page_links_names_the_instance_and_tints_pending(
    http: Http, state: MonitorState
) -> None:
    put_alerts(state)
    _, page, _ = await get(http, "/")
    for prefix in (V4, V6, WAITING):
        assert f'href="https://radar.cloudflare.com/routing/prefix/{prefix}"' in page
        assert f'href="https://bgp.tools/prefix/{prefix}"' in page
        assert f'href="https://stat.ripe.net/{prefix}"' in page
    assert f"<title>radar-monitor on {socket.gethostname()}</title>" in page
    # V6 has only a pending alert: tinted apart from the firing V4 and the quiet WAITING.
    assert f'<tr class="p-pending"><td class="nowrap">{V6}' in page
    assert f'<tr class="p-critical"><td class="nowrap">{V4}' in page
    assert f'<tr><td class="nowrap">{WAITING}' in page


def stream_line(page: str) -> str:
    """The page's stream paragraph, which must come before the alerts."""
    match = re.search(r'<p class="stream">(.*?)</p>', page, re.S)
    assert match is not None and page.count('<p class="stream">') == 1
    assert match.start() < page.index("<h2>Alerts</h2>")
    return match[1]


async def test_status_page_shows_a_connected_stream(http: Http, state: MonitorState) -> None:
    state.stream = StreamStats(
        connected=True,
        updates=12345,
        last_canary=time.time() - 2 * 3600,
        more_specifics=3,
        confirms_done=17,
        confirms_dropped=0,
    )
    _, page, _ = await get(http, "/")
    assert stream_line(page) == (
        'RIS Live stream: <span class="good">connected</span>; 12345 updates applied; '
        "last beacon 2h ago; confirming fetches 17 done, 0 dropped; 3 more-specifics tracked."
    )


async def test_status_page_shows_a_down_stream_its_reason_and_its_alert(
    http: Http, state: MonitorState
) -> None:
    state.stream = StreamStats(
        connected=False,
        down_reason=f"HTTP 503 {HOSTILE}",
        updates=7,
        more_specifics=0,
        routes_refused=40,
        confirms_done=2,
        confirms_dropped=5,
    )
    down = "the RIS Live stream has been down for 2m: HTTP 503; detection falls back to polling"
    stale = alert("stream-stale", None, severity=Severity.WARNING)
    state.book.alerts.update(
        {
            a.key: a
            for a in (alert("stream-down", None, severity=Severity.WARNING, message=down), stale)
        }
    )
    _, page, _ = await get(http, "/")
    assert stream_line(page) == (
        'RIS Live stream: <span class="bad">down</span> '
        "(HTTP 503 &lt;script&gt;alert(1)&lt;/script&gt;); 7 updates applied; "
        "no beacon seen yet; "
        'confirming fetches 2 done, <span class="bad">5 dropped</span>; '
        '0 more-specifics tracked; <span class="bad">40 routes refused</span>.'
    )
    assert "<script" not in page
    # Its alerts are source-wide alerts like any other: no prefix, in the alerts table.
    assert '<td class="nowrap">stream-down</td><td class="nowrap">-</td>' in page
    assert f"<td>{down}</td>" in page
    assert '<td class="nowrap">stream-stale</td><td class="nowrap">-</td>' in page
    assert "2 firing: 2 warning" in page


async def test_status_page_without_a_stream_says_nothing_about_one(
    http: Http, state: MonitorState
) -> None:
    assert state.stream is None
    _, page, _ = await get(http, "/")
    assert 'class="stream"' not in page and "RIS Live" not in page and "beacon" not in page
    assert re.search(r"notifications queued\.</p>\n<p class=\"summary ok\">", page)


async def test_a_failing_channel_shows_on_the_page_and_fails_readyz(
    http: Http, state: MonitorState
) -> None:
    item = state.outbox.add("pager", {}, time.time() - 60)
    state.outbox.failed([item.id], time.time(), "HTTP 500 from the webhook", 300.0)
    _, page, _ = await get(http, "/")
    assert "Channel pager is failing: 1 notifications queued since" in page
    assert "last error: HTTP 500 from the webhook" in page
    status, body, _ = await get(http, "/readyz")
    assert (status, body) == (
        503,
        "channel pager is failing: 1 queued; HTTP 500 from the webhook\n",
    )
    state.outbox.delivered([item.id])
    assert (await get(http, "/readyz"))[:2] == (200, "ready\n")


async def test_a_leak_through_a_more_specific_is_keyed_by_upstream_and_shown(
    http: Http, state: MonitorState
) -> None:
    more_specific = "192.0.2.0/25"
    for upstream in (9999, 8888):
        leak = alert("leak", more_specific, upstream=upstream, parent="192.0.2.0/24")
        state.book.alerts[leak.key] = leak
    session, url = http
    async with session.get(f"{url}/api/v1/alerts") as resp:
        doc = await resp.json()
    assert [a["key"] for a in doc["alerts"]] == [
        ["leak", more_specific, "8888"],
        ["leak", more_specific, "9999"],
    ]
    finding = doc["alerts"][0]["finding"]
    assert (finding["upstream"], finding["parent"], finding["origin"]) == (
        8888,
        "192.0.2.0/24",
        None,
    )
    _, page, _ = await get(http, "/")
    assert "upstream AS9999" in page and "upstream AS8888" in page
