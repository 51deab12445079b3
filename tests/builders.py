"""Small hand-built model objects for tests (synthetic: no real Radar answer is public): answers,
states and alerts as of NOW, and the alert events the notifier gets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from monitor.config import parse_config
from monitor.core.evidence import Evidence, OriginEvidence
from monitor.core.finding import Finding, Severity
from monitor.core.lifecycle import Alert, AlertBook, AlertEvent, AlertState, EventKind
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


def routed(prefix: str, *paths: tuple[int, ...], collector: str = "rrc00") -> PrefixView:
    """An answer for `prefix` with one route per path in `paths`, every AS in them named."""
    routes = tuple(
        RouteView(as_path=p, collector=collector, prefix=prefix, timestamp=NOW) for p in paths
    )
    names = {asn: AsInfo(asn, f"NAME-{asn}", "US") for p in paths for asn in p}
    return replace(answer(prefix), routes=routes, asn_info=names)


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
    upstream: int | None = None,
    parent: str | None = None,
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
        upstream=upstream,
        parent=parent,
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


# --- alert events, as the notifier gets them ------------------------------------------

HOSTILE = "<!channel> [click](http://evil) <script> @here <@U123> <http://evil|click>"


def make_evidence(prefix: str = "192.0.2.0/24", as_name: str = "EVIL-NET") -> Evidence:
    """What Radar showed: the expected AS64500 and a hijacking AS666, four sample paths."""
    return Evidence(
        prefix=prefix,
        description="Example anycast service",
        expected_origins=(64500,),
        origins=(
            OriginEvidence(64500, "EXAMPLE-NET", "US", "valid", 950, 1000, 0.95, True),
            OriginEvidence(666, as_name, "RU", "invalid", 120, 1000, 0.12, False),
        ),
        visibility=0.95,
        visible_peers=950,
        total_peers=1000,
        sample_paths=(
            ((6447, 3356, 64500), "route-views2"),
            ((6939, 666), "rrc00"),
            ((174, 64500), "rrc01"),
            ((1299, 64500), "rrc03"),
        ),
        data_time=NOW - timedelta(seconds=30),
    )


def make_event(
    kind: EventKind = EventKind.FIRING,
    *,
    rule: str = "unexpected-origin",
    severity: Severity = Severity.CRITICAL,
    prefix: str = "192.0.2.0/24",
    origin: int | None = 666,
    as_name: str = "EVIL-NET",
    firing_for: timedelta = timedelta(0),
    upstream: int | None = None,
) -> AlertEvent:
    """An event about `prefix`, `firing_for` after the alert fired at NOW."""
    finding = Finding(
        rule=rule,
        type=rule.replace("-", "_"),
        severity=severity,
        prefix=prefix,
        message=f"{prefix} originated by unexpected AS666 ({as_name}), "
        "seen by 12.0% of peers (120/1000); expected AS64500",
        origin=origin,
        labels={"team": "netops"},
        upstream=upstream,
    )
    at = NOW + firing_for
    resolved = kind is EventKind.RESOLVED
    alert = Alert(
        finding=finding,
        state=AlertState.RESOLVED if resolved else AlertState.FIRING,
        started_at=NOW - timedelta(minutes=1),
        last_seen=at,
        fired_at=NOW,
        resolved_at=at if resolved else None,
        notified_at=NOW,
        evidence=make_evidence(prefix, as_name),
    )
    return AlertEvent(kind, alert, at)


def burst(n: int) -> list[AlertEvent]:
    """`n` events on distinct prefixes: three quarters firing, the rest resolved."""
    return [
        make_event(
            EventKind.RESOLVED if i % 4 == 3 else EventKind.FIRING,
            rule="visibility-below" if i % 2 else "unexpected-origin",
            severity=Severity.WARNING if i % 2 else Severity.CRITICAL,
            prefix=f"10.{i // 256}.{i % 256}.0/24",
            firing_for=timedelta(minutes=5),
        )
        for i in range(n)
    ]


def live(kind: EventKind, fired: datetime, at: datetime, **kw: Any) -> AlertEvent:
    """`make_event`'s alert, fired at `fired`, as of `at` (resolved then for RESOLVED)."""
    event = make_event(kind, **kw)
    alert = replace(
        event.alert,
        started_at=fired - timedelta(seconds=30),
        fired_at=fired,
        last_seen=at,
        notified_at=fired,
        resolved_at=at if kind is EventKind.RESOLVED else None,
    )
    return AlertEvent(kind, alert, at)
