"""Small hand-built model objects for unit tests (synthetic: no real Radar answer is public)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from aiohttp import web

from monitor.config import parse_config
from monitor.core.finding import Finding, Severity
from monitor.core.lifecycle import Alert, AlertBook, AlertState
from monitor.core.observation import (
    AsInfo,
    CollectorView,
    OriginView,
    PrefixView,
    RouteView,
    RpkiStatus,
)
from monitor.exposition.web import bound_port, start_http
from monitor.sinks.outbox import Outbox
from monitor.state import MonitorState

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def origin(
    asn: int, visible: int, total: int = 1000, rpki: str = "valid", prefix: str = ""
) -> OriginView:
    """A prefix origin seen by `visible` of `total` peers."""
    return OriginView(
        origin=asn,
        prefix=prefix,
        rpki=RpkiStatus.parse(rpki),
        visible_peers=visible,
        total_peers=total,
        visibility=visible / total if total else 0.0,
    )


def collector(
    name: str, age: timedelta | None, updates_age: timedelta | None = None
) -> CollectorView:
    """A collector whose realtime feed is `age` old (None: no realtime feed)."""
    return CollectorView(
        name=name,
        realtime_ts=NOW - age if age is not None else None,
        rib_ts=NOW - timedelta(hours=2),
        updates_ts=NOW - updates_age if updates_age is not None else None,
        peers=40,
        peers_v4=30,
        peers_v6=10,
    )


def answer(
    prefix: str = "192.0.2.0/24",
    origins: tuple[OriginView, ...] = (),
    collectors: tuple[CollectorView, ...] = (),
    data_age: timedelta | None = timedelta(seconds=30),
) -> PrefixView:
    """An answer for `prefix` with the given origins and collectors."""
    routes = tuple(
        RouteView(
            as_path=(6447, 3356, o.origin),
            collector="route-views2",
            communities=("3356:100",),
            prefix=prefix,
            timestamp=NOW,
        )
        for o in origins
    )
    names = {o.origin: AsInfo(o.origin, f"NAME-{o.origin}", "US") for o in origins}
    return PrefixView(
        prefix=prefix,
        data_time=NOW - data_age if data_age is not None else None,
        query_time=NOW,
        origins=tuple(o if o.prefix else _with_prefix(o, prefix) for o in origins),
        routes=routes,
        collectors=collectors,
        asn_info=names,
    )


def _with_prefix(o: OriginView, prefix: str) -> OriginView:
    return OriginView(o.origin, prefix, o.rpki, o.visible_peers, o.total_peers, o.visibility)


def monitor_state(config_text: str) -> MonitorState:
    """A daemon state for the YAML `config_text`, every prefix still waiting for an answer."""
    config = parse_config(config_text)
    state = MonitorState(config, AlertBook(), Outbox())
    state.apply_config(config)
    return state


def alert(
    rule: str,
    prefix: str | None,
    *,
    severity: Severity = Severity.CRITICAL,
    state: AlertState = AlertState.FIRING,
    origin: int | None = None,
    collector: str | None = None,
    message: str = "",
    silenced: bool = False,
) -> Alert:
    """An alert of `rule` about `prefix` (None: source-wide) that started at NOW."""
    finding = Finding(
        rule=rule,
        type=rule,
        severity=severity,
        prefix=prefix,
        message=message or f"{rule} about {prefix or 'the source'}",
        origin=origin,
        collector=collector,
    )
    fired = NOW if state is AlertState.FIRING else None
    return Alert(finding, state, NOW, NOW, fired_at=fired, silenced=silenced)


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """`app` served on a free port of 127.0.0.1, as the daemon serves it; yields the base URL."""
    runner = await start_http(app, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{bound_port(runner)}"
    finally:
        await runner.cleanup()
