"""A daemon state with a hijack in progress and its /metrics scrape, for the exposition tests."""

from __future__ import annotations

from datetime import timedelta

import aiohttp

from monitor.exposition.metrics import Metrics
from monitor.exposition.web import make_app
from monitor.state import MonitorState
from tests.builders import NOW, answer, collector, monitor_state, origin, serving

CONFIG = """
prefixes:
  - prefix: 192.0.2.0/24
    origins: [64500]
    labels: {team: edge}
  - prefix: 2001:db8::/32
    origins: [64501]
rules:
  - {name: rpki-invalid, type: rpki_invalid, severity: critical}
"""
V4, V6 = "192.0.2.0/24", "2001:db8::/32"


def known_state() -> MonitorState:
    """A hijack in progress on V4 (AS64666, RPKI invalid); V6 has failed twice since its answer."""
    state = monitor_state(CONFIG)
    v4 = state.prefixes[V4]
    v4.view = answer(
        V4,
        origins=(origin(64500, 990), origin(64666, 10, rpki="invalid")),
        collectors=(
            collector("rrc00", timedelta(minutes=1), updates_age=timedelta(minutes=5)),
            collector("route-views2", None),
        ),
    )
    v4.routes = len(v4.view.routes)
    state.freshness.merge(v4.view.collectors, NOW)
    v4.last_success = 1_795_867_200.0
    v6 = state.prefixes[V6]
    v6.view = answer(V6, origins=(origin(64501, 500, rpki="unknown"),), data_age=None)
    v6.failures = 2
    v6.error = "no complete answer within 20s"
    state.reload_time = 1_795_860_000.0
    return state


async def scrape(state: MonitorState, metrics: Metrics | None = None) -> str:
    """The /metrics body served over HTTP for `state`."""
    metrics = metrics or Metrics(lambda: state, version="1.2.3")
    app = make_app(lambda: state, metrics)
    async with (
        serving(app) as url,
        aiohttp.ClientSession() as http,
        http.get(f"{url}/metrics") as resp,
    ):
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        return await resp.text()


def samples(text: str, name: str) -> list[str]:
    """The sample lines of metric family `name`."""
    return [line for line in text.splitlines() if line.startswith((f"{name}{{", f"{name} "))]
