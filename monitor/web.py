"""The HTTP listener: metrics, health and readiness probes, the alerts API and a status page."""

from __future__ import annotations

import html
import ipaddress
import ssl
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from aiohttp import web

from monitor import __version__
from monitor.alerts import Alert, AlertState
from monitor.metrics import Metrics
from monitor.rules import Severity
from monitor.rules.base import percent
from monitor.rules.stale_collector import age_text
from monitor.rules.visibility_below import expected_visibility
from monitor.state import MonitorState, PrefixStatus
from monitor.webconfig import WebConfig, basic_auth_middleware

#: Only GETs are served, so a request body is never needed; this caps what a client can push.
MAX_REQUEST_BYTES = 64 * 1024
#: Longest request line (method, path, version): our paths are short, clients' URLs need not be.
MAX_LINE_BYTES = 2048
#: Longest header, aiohttp's default: a browser sends all its cookies for the host with each one.
MAX_FIELD_BYTES = 8190
MAX_HEADERS = 32
#: The loop may miss this many cycles (plus slack for a slow one) before /healthz fails.
HEARTBEAT_CYCLES = 3
HEARTBEAT_SLACK = 30.0
#: The page is static: styles inline, nothing else loads, so scripts injected anyway cannot run.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}
_SEVERITY_ORDER = {s: i for i, s in enumerate(Severity)}  # critical first


def make_app(
    get_state: Callable[[], MonitorState],
    metrics: Metrics,
    *,
    max_data_age: float,
    web_config: WebConfig | None = None,
) -> web.Application:
    """The application; `get_state` is called per request since the daemon swaps state."""
    middlewares = []
    if web_config is not None and web_config.basic_auth_users:
        # Every path, probes and unknown paths included: one rule is easier to audit than a list
        # of exceptions, /readyz tells about the daemon's state too, and probes can send headers.
        middlewares.append(basic_auth_middleware(web_config.basic_auth_users))
    app = web.Application(client_max_size=MAX_REQUEST_BYTES, middlewares=middlewares)
    app.on_response_prepare.append(_security_headers)
    pages = _Pages(get_state, metrics, max_data_age)
    # add_get also answers HEAD; aiohttp answers any other method on these paths with 405.
    app.router.add_get("/", pages.status)
    app.router.add_get("/metrics", pages.metrics)
    app.router.add_get("/healthz", pages.healthz)
    app.router.add_get("/readyz", pages.readyz)
    app.router.add_get("/api/v1/alerts", pages.alerts)
    return app


async def start_http(
    app: web.Application, host: str, port: int, ssl_context: ssl.SSLContext | None = None
) -> web.AppRunner:
    """Serve `app` on host:port (0 picks a free port, see `bound_port`); cleanup() stops it."""
    # Oversized request lines or headers get a 400 before any handler (or auth) runs.
    runner = web.AppRunner(
        app, max_line_size=MAX_LINE_BYTES, max_field_size=MAX_FIELD_BYTES, max_headers=MAX_HEADERS
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, ssl_context=ssl_context).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


def bound_port(runner: web.AppRunner) -> int:
    """The TCP port the runner listens on (what port 0 turned into)."""
    port: int = runner.addresses[0][1]
    return port


def exposure_warning(host: str, web_config: WebConfig | None) -> str | None:
    """What is unsafe about listening on `host` with `web_config`, or None when nothing is."""
    if _is_loopback(host):
        return None
    tls = web_config.tls if web_config is not None else None
    users = web_config is not None and bool(web_config.basic_auth_users)
    if not users and not (tls is not None and tls.verifies_clients):
        return (
            f"HTTP listener on {host} is reachable from other hosts without authentication;"
            " set basic_auth_users in http.web_config_file"
        )
    if tls is None:
        return (
            f"HTTP listener on {host} takes passwords without TLS, readable on the network;"
            " set tls_server_config in http.web_config_file"
        )
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other hosts may resolve too


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Set on every response, error pages included (they too are rendered by browsers)."""
    response.headers.update(SECURITY_HEADERS)


def active_alerts(state: MonitorState) -> list[Alert]:
    """Pending and firing alerts, most severe first, then by prefix, rule and subject."""
    alerts = [
        a for a in state.book.alerts.values() if a.state in (AlertState.PENDING, AlertState.FIRING)
    ]
    return sorted(
        alerts, key=lambda a: (_SEVERITY_ORDER[a.finding.severity], a.key[1], a.key[0], a.key[2])
    )


def health_problem(state: MonitorState) -> str | None:
    """Why the scheduler loop looks stuck, or None while it keeps beating."""
    silent = time.monotonic() - state.loop_heartbeat
    limit = HEARTBEAT_CYCLES * state.effective_interval + HEARTBEAT_SLACK
    if silent < limit:
        return None
    return f"scheduler loop stalled: no heartbeat for {silent:.0f}s (limit {limit:.0f}s)"


def readiness_problems(state: MonitorState, max_data_age: float) -> list[str]:
    """Every reason not to trust what the daemon reports now; empty when ready."""
    problems = []
    if not state.first_cycle_done:
        problems.append("no cycle completed yet")
    successes = [s.last_success for s in state.prefixes.values() if s.last_success is not None]
    if not successes:
        problems.append("no fresh data: no successful answer yet")
    else:
        age = time.time() - max(successes)
        if age >= max_data_age:
            problems.append(f"no fresh data: last answer {age:.0f}s ago")
    if state.store_error:
        problems.append(f"state database unavailable: {state.store_error}")
    return problems


class _Pages:
    """The request handlers, reading the state afresh each time."""

    def __init__(
        self, get_state: Callable[[], MonitorState], metrics: Metrics, max_data_age: float
    ) -> None:
        self._get_state = get_state
        self._metrics = metrics
        self._max_data_age = max_data_age

    async def metrics(self, request: web.Request) -> web.Response:
        """The Prometheus exposition."""
        body, content_type = await self._metrics.render_async()
        # Passed as a header: aiohttp's content_type argument refuses the charset parameter.
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def healthz(self, request: web.Request) -> web.Response:
        """Liveness: 503 once the scheduler loop stopped beating (restart the process)."""
        problem = health_problem(self._get_state())
        if problem is not None:
            return web.Response(status=503, text=problem + "\n")
        return web.Response(text="ok\n")

    async def readyz(self, request: web.Request) -> web.Response:
        """Readiness: 503 with one reason per line until the data can be trusted."""
        problems = readiness_problems(self._get_state(), self._max_data_age)
        if problems:
            return web.Response(status=503, text="\n".join(problems) + "\n")
        return web.Response(text="ready\n")

    async def alerts(self, request: web.Request) -> web.Response:
        """Pending and firing alerts as JSON; `key` is [rule, prefix, subject]."""
        alerts = active_alerts(self._get_state())
        return web.json_response({"alerts": [{**a.to_json(), "key": list(a.key)} for a in alerts]})

    async def status(self, request: web.Request) -> web.Response:
        """The human status page."""
        return web.Response(
            text=status_page(self._get_state(), datetime.now(UTC)), content_type="text/html"
        )


def _e(value: object) -> str:
    """Text for HTML: everything shown may come from Radar, the config or an error message."""
    return html.escape(str(value))


def _ago(then: datetime | float | None, now: datetime) -> str:
    if then is None:
        return "never"
    if isinstance(then, float):
        then = datetime.fromtimestamp(then, UTC)
    # Clamped: a source clock slightly ahead of ours is not worth a negative age.
    return f"{age_text(max((now - then).total_seconds(), 0.0))} ago"


def _table(headers: Iterable[str], rows: Iterable[str], empty: str) -> str:
    """A table of pre-rendered `<tr>` rows, or a line saying `empty`."""
    body = "".join(rows)
    if not body:
        return f"<p>{_e(empty)}</p>"
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _summary(active: Sequence[Alert]) -> str:
    """One coloured line: how many alerts fire, by severity, or that all is well."""
    firing = [a for a in active if a.state is AlertState.FIRING]
    if not firing:
        return '<p class="summary ok">No alerts firing.</p>'
    counts = Counter(a.finding.severity.value for a in firing)
    parts = ", ".join(f"{counts[s]} {s}" for s in ("critical", "warning", "info") if counts[s])
    worst = "critical" if counts["critical"] else "warning"
    return f'<p class="summary {worst}">{len(firing)} firing: {_e(parts)}</p>'


def _prefix_row(status: PrefixStatus, now: datetime, worst: str | None) -> str:
    watch = status.watch
    if status.error is not None:
        health = f'<span class="bad">error</span> {_e(status.error)}'
    elif status.answer is None:
        health = "waiting"
    else:
        health = '<span class="good">ok</span>'
    answer = status.answer
    if answer is None:
        visibility, origins, age = "-", "-", "-"
    else:
        visibility = _e(percent(expected_visibility(watch.target, answer)[0]))
        items = []
        for o in answer.origins:
            # Without configured origins there is nothing to compare against (as in the rules).
            unexpected = watch.origins and o.origin not in watch.origins
            mark = ' <span class="bad">unexpected</span>' if unexpected else ""
            items.append(
                f'<li>AS{_e(o.origin)} <span class="asname">{_e(answer.as_name(o.origin))}</span>'
                f' <span class="rpki-{_e(o.rpki.value)}">RPKI {_e(o.rpki.value)}</span>'
                f" {_e(percent(o.visibility))} ({_e(o.visible_peers)}/{_e(o.total_peers)})"
                f"{mark}</li>"
            )
        origins = f"<ul>{''.join(items)}</ul>" if items else "seen by no peer"
        age = _e(_ago(answer.data_time, now)) if answer.data_time else "unknown"
    row_class = f' class="p-{_e(worst)}"' if worst else ""
    return (
        f'<tr{row_class}><td class="nowrap">{_e(watch.prefix)}</td><td>{_e(watch.description)}</td>'
        f"<td>{health}</td><td>{visibility}</td><td>{origins}</td>"
        f'<td class="nowrap">{age}</td></tr>'
    )


def _alert_row(alert: Alert, now: datetime) -> str:
    f = alert.finding
    since = alert.fired_at or alert.started_at
    subject = f"AS{f.origin}" if f.origin is not None else (f.subject or "-")
    return (
        f'<tr class="{_e(f.severity.value)}"><td>{_e(f.severity.value)}</td>'
        f'<td>{_e(alert.state.value)}</td><td class="nowrap">{_e(f.rule)}</td>'
        f'<td class="nowrap">{_e(f.prefix or "-")}</td><td class="nowrap">{_e(subject)}</td>'
        f'<td class="nowrap">{_e(since.strftime("%Y-%m-%d %H:%M:%S UTC"))}'
        f" ({_e(_ago(since, now))})</td>"
        f"<td>{_e(f.message)}</td><td>{'yes' if alert.silenced else 'no'}</td></tr>"
    )


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
ul { margin: 0; padding-left: 1.2em; }
.good { color: #197a19; } .bad, .rpki-invalid { color: #b00020; font-weight: bold; }
.rpki-valid { color: #197a19; } .rpki-unknown { color: #777; }
tr.critical td:first-child { background: #fdd; color: #b00020; font-weight: bold; }
tr.warning td:first-child { background: #ffc; color: #7a5b00; font-weight: bold; }
tr.p-critical td { background: #fff0f0; }
tr.p-critical td:first-child { border-left: 4px solid #b00020; }
tr.p-warning td { background: #fffbe6; }
tr.p-warning td:first-child { border-left: 4px solid #c99a00; }
td.nowrap, th { white-space: nowrap; } td { font-variant-numeric: tabular-nums; }
.asname { color: #555; }
.summary { padding: 0.5em 1em; border-radius: 4px; font-weight: bold; display: inline-block; }
.summary.critical { background: #fdd; color: #b00020; } .summary.warning { background: #ffc; }
.summary.ok { background: #e6f4e6; color: #197a19; }
.problem { color: #b00020; }
"""


def status_page(state: MonitorState, now: datetime) -> str:
    """The whole page: daemon problems, alerts (what to act on) first, then every prefix."""
    problems = []
    if state.auth_error:
        problems.append(f"Radar authentication failed: {state.auth_error}")
    if state.store_error:
        problems.append(f"State database unavailable: {state.store_error}")
    if not state.reload_ok:
        problems.append("The last configuration reload was rejected; the previous one is in use.")
    active = active_alerts(state)
    worst: dict[str, str] = {}
    for a in active:  # most severe first, so the first one seen per prefix wins
        if a.state is AlertState.FIRING and a.finding.prefix:
            worst.setdefault(a.finding.prefix, a.finding.severity.value)
    alerts = _table(
        ["severity", "state", "rule", "prefix", "subject", "since", "message", "silenced"],
        (_alert_row(a, now) for a in active),
        "No pending or firing alerts.",
    )
    prefixes = _table(
        ["prefix", "description", "data", "expected visibility", "origins", "data age"],
        (_prefix_row(s, now, worst.get(s.watch.prefix)) for s in state.prefixes.values()),
        "No prefixes configured.",
    )
    notices = "".join(f'<p class="problem">{_e(p)}</p>' for p in problems)
    summary = _summary(active)
    last_cycle = _ago(state.last_cycle_completed, now)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="30">
<meta name="viewport" content="width=device-width">
<title>radar-monitor</title><style>{_STYLE}</style></head>
<body><h1>radar-monitor</h1>
<p>Version {_e(__version__)}; last cycle {_e(last_cycle)}; polling every
{_e(f"{state.effective_interval:g}")}s; {_e(len(state.outbox))} notifications queued.</p>
{summary}{notices}
<h2>Alerts</h2>{alerts}
<h2>Prefixes</h2>{prefixes}
</body></html>
"""
