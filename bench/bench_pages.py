"""The status page and the alerts API under thousands of firing alerts: does the loop stall?

Run: python bench/bench_pages.py [--prefixes 2000] [--alerts 3000] [--requests 20]

It builds a daemon state in this process (SYNTHETIC: 2,000 prefixes with three origins each, and
3,000 firing alerts, as a Radar-wide stale-data event or a large withdrawal would cause), serves
it with the real HTTP app on loopback, and a client thread GETs `/` and `/api/v1/alerts` in
turn while a 0.25 s probe timer measures how late the event loop wakes it (the daemon's own
loop-lag probe). The same requests are then served by a baseline app that renders on the event
loop, as the daemon did before, so the last lines compare both in one run. Polls, alert timing
and the watchdog wait for exactly this lag. Run it on an idle machine: the render thread and the
loop share one interpreter lock, so other load on the cores shows up as lag in both.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import statistics
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.config import parse_config
from monitor.core.finding import Finding, Severity
from monitor.core.lifecycle import Alert, AlertBook, AlertState
from monitor.core.observation import AsInfo, OriginView, PrefixView, RpkiStatus
from monitor.exposition.metrics import Metrics
from monitor.exposition.status_page import status_page
from monitor.exposition.web import bound_port, make_app, start_http
from monitor.sinks.outbox import Outbox
from monitor.state import MonitorState

PROBE = 0.25


def build_state(prefixes: int, alerts: int) -> MonitorState:
    """A state with `prefixes` answered prefixes and `alerts` firing alerts (synthetic)."""
    nets = [str(ipaddress.ip_network(f"10.{i // 256}.{i % 256}.0/24")) for i in range(prefixes)]
    watched = "\n".join(f"  - {{prefix: {n}, origins: [64500]}}" for n in nets)
    config = parse_config(
        f"prefixes:\n{watched}\nrules:\n  - {{name: rpki, type: rpki_invalid, severity: critical}}"
    )
    now = datetime.now(UTC)
    book = AlertBook()
    state = MonitorState(config, book, Outbox())
    state.apply_config(config)
    for i, net in enumerate(nets):
        origins = tuple(
            OriginView(asn, net, RpkiStatus.VALID, 900 - 100 * k, 1000, 0.9 - 0.1 * k)
            for k, asn in enumerate((64500, 64501, 64502))
        )
        info = {o.origin: AsInfo(o.origin, f"NET-{o.origin}-{i}", "ZZ") for o in origins}
        state.prefixes[net].view = PrefixView(net, now, now, origins, (), (), info)
        state.prefixes[net].last_success = time.time()
    for i in range(alerts):
        net = nets[i % len(nets)]
        finding = Finding(
            "rpki", "rpki_invalid", Severity.CRITICAL, net, f"alert {i} about {net}", origin=i + 1
        )
        alert = Alert(finding, AlertState.FIRING, now, now, fired_at=now)
        book.alerts[alert.key] = alert
    state.first_cycle_done = True
    return state


def on_loop_app(state: MonitorState) -> web.Application:
    """The baseline: the same page and API, rendered on the event loop."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=status_page(state, datetime.now(UTC)), content_type="text/html")

    async def api(request: web.Request) -> web.Response:
        alerts = state.active_alerts()
        return web.json_response({"alerts": [{**a.to_json(), "key": list(a.key)} for a in alerts]})

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/api/v1/alerts", api)
    return app


async def probe(stop: asyncio.Event, lags: list[float]) -> None:
    """Sample how late a PROBE-second timer fires until `stop` is set."""
    while not stop.is_set():
        started = time.monotonic()
        await asyncio.sleep(PROBE)
        lags.append(max(0.0, time.monotonic() - started - PROBE))


def fetch_all(url: str, requests: int) -> int:
    """GET `/` and the API alternately (in a thread, like an outside client); last page size."""
    size = 0
    for i in range(requests):
        path = "/" if i % 2 == 0 else "/api/v1/alerts"
        with urllib.request.urlopen(url + path, timeout=120) as resp:
            body = resp.read()
        if path == "/":
            size = len(body)
    return size


async def measure(app: web.Application, requests: int) -> tuple[list[float], float, int]:
    """(loop lags, seconds per request, bytes of the page) while a client GETs `/` and the API."""
    runner = await start_http(app, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{bound_port(runner)}"
    stop, lags = asyncio.Event(), list[float]()
    prober = asyncio.create_task(probe(stop, lags))
    started = time.monotonic()
    size = await asyncio.to_thread(fetch_all, url, requests)
    per_request = (time.monotonic() - started) / requests
    stop.set()
    await prober
    await runner.cleanup()
    return lags, per_request, size


def summary(name: str, lags: list[float], per_request: float) -> float:
    """Print one line and return the p99 lag."""
    ordered = sorted(lags)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"{name:<24} {per_request * 1e3:8.0f} ms/request   lag p50 "
        f"{statistics.median(ordered) * 1e3:6.1f} ms  p99 {p99 * 1e3:6.1f} ms  "
        f"max {ordered[-1] * 1e3:6.1f} ms  ({len(ordered)} probes)"
    )
    return p99


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefixes", type=int, default=2000)
    parser.add_argument("--alerts", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    state = build_state(args.prefixes, args.alerts)
    print(f"{args.prefixes} prefixes, {args.alerts} firing alerts (synthetic)")
    threaded = make_app(lambda: state, Metrics(lambda: state))
    lags, per_request, size = await measure(threaded, args.requests)
    print(f"status page: {size / 1024:.0f} KiB")
    off = summary("off the loop (daemon)", lags, per_request)
    lags, per_request, _ = await measure(on_loop_app(state), args.requests)
    on = summary("on the loop (baseline)", lags, per_request)
    print(f"lag p99 ratio daemon / baseline: {off / on if on else float('nan'):.2f}x")
    print(f"lag p99 daemon / 100 ms target: {off / 0.1:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
