"""The HTTP listener: metrics, health and readiness probes, the alerts API and a status page."""

from __future__ import annotations

import ipaddress
import json
import ssl
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.typedefs import Middleware

from monitor.core.lifecycle import Alert
from monitor.exposition.auth import basic_auth
from monitor.exposition.connections import (
    GUARD,
    ConnectionGuard,
    GuardedSite,
    connection_limit,
    listening_sockets,
    mark_answering,
)
from monitor.exposition.listener_metrics import ListenerMetrics
from monitor.exposition.metrics import Metrics
from monitor.exposition.render_thread import RenderThread
from monitor.exposition.serverlog import ServerLog
from monitor.exposition.status_page import status_page
from monitor.exposition.webconfig import WebConfig
from monitor.state import MonitorState

#: Only GETs are served, so a request body is never needed; this caps what a client can push.
MAX_REQUEST_BYTES = 64 * 1024
#: Longest request line (method, path, version): our paths are short, clients' URLs need not be.
MAX_LINE_BYTES = 2048
#: Longest header, aiohttp's default: a browser sends all its cookies for the host with each one.
MAX_FIELD_BYTES = 8190
MAX_HEADERS = 32
#: aiohttp's keep-alive timer runs from the connection's start and from each response, and only
#: a complete request stops it: a silent client, one trickling its headers and an unused
#: keep-alive connection are all closed this long after; a TLS handshake gets as long.
IDLE_SECONDS = 15.0
#: Where `start_http` finds the metrics the listener updates (`make_app` puts them there).
LISTENER_METRICS = web.AppKey("listener_metrics", ListenerMetrics)
#: The page is static: styles inline, nothing else loads, so scripts injected anyway cannot run.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}


def make_app(
    get_state: Callable[[], MonitorState],
    metrics: Metrics,
    *,
    web_config: WebConfig | None = None,
) -> web.Application:
    """The application; `get_state` is called per request since the daemon swaps state."""
    middlewares: list[Middleware] = [mark_answering]
    closers = []
    if web_config is not None and web_config.basic_auth_users:
        # Every path, probes and unknown paths included: one rule is easier to audit than a list
        # of exceptions, /readyz tells about the daemon's state too, and probes can send headers.
        check, close = basic_auth(web_config.basic_auth_users, metrics.http.throttled)
        middlewares.append(check)
        closers.append(close)
    app = web.Application(client_max_size=MAX_REQUEST_BYTES, middlewares=middlewares)
    app[LISTENER_METRICS] = metrics.http
    app.on_response_prepare.append(_security_headers)
    app.on_cleanup.append(_closing(*closers))
    pages = _Pages(get_state, metrics)
    # add_get also answers HEAD; aiohttp answers any other method on these paths with 405.
    app.router.add_get("/", pages.status)
    app.router.add_get("/metrics", pages.metrics)
    app.router.add_get("/healthz", pages.healthz)
    app.router.add_get("/readyz", pages.readyz)
    app.router.add_get("/api/v1/alerts", pages.alerts)
    app.router.add_get("/api/v1/prefixes", pages.prefixes)
    return app


async def start_http(
    app: web.Application, host: str, port: int, ssl_context: ssl.SSLContext | None = None
) -> web.AppRunner:
    """Serve `app` on host:port (0 picks a free port, see `bound_port`); cleanup() stops it."""
    metrics = app[LISTENER_METRICS]
    guard = ConnectionGuard(connection_limit(), metrics)
    server_log = ServerLog(metrics)
    app[GUARD] = guard
    app.on_cleanup.append(_closing(guard.close, server_log.close))
    # Oversized request lines or headers get a 400 before any handler (or auth) runs.
    runner = web.AppRunner(
        app,
        max_line_size=MAX_LINE_BYTES,
        max_field_size=MAX_FIELD_BYTES,
        max_headers=MAX_HEADERS,
        keepalive_timeout=IDLE_SECONDS,
        logger=server_log,
    )
    await runner.setup()
    try:
        unstarted = await listening_sockets(host, port, guard)
        try:
            while unstarted:
                site = GuardedSite(runner, unstarted[0], ssl_context, IDLE_SECONDS)
                await site.start()
                unstarted.pop(0)
        finally:
            for sock in unstarted:
                sock.close()
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


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header allows gzip (`gzip;q=0` refuses it; `*` allows it)."""
    allowed: dict[str, bool] = {}
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.partition(";")
        q = params.strip().removeprefix("q=").strip() if params.strip().startswith("q=") else "1"
        try:
            allowed[coding.strip()] = float(q) > 0
        except ValueError:
            allowed[coding.strip()] = False
    return allowed.get("gzip", allowed.get("x-gzip", allowed.get("*", False)))


def _closing(*closers: Callable[[], None]) -> Callable[[web.Application], Awaitable[None]]:
    """An on_cleanup callback calling `closers`."""

    async def close(app: web.Application) -> None:
        for closer in closers:
            closer()

    return close


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Set on every response, error pages included (they too are rendered by browsers)."""
    response.headers.update(SECURITY_HEADERS)


class _Pages:
    """The request handlers, reading the state afresh each time."""

    def __init__(self, get_state: Callable[[], MonitorState], metrics: Metrics) -> None:
        self._get_state = get_state
        self._metrics = metrics
        self._thread = RenderThread("pages")

    async def metrics(self, request: web.Request) -> web.Response:
        """The Prometheus exposition, gzipped when the client accepts it (Prometheus does)."""
        gzip = accepts_gzip(request.headers.get("Accept-Encoding", ""))
        body, content_type = await self._metrics.render_async(gzip=gzip)
        # Passed as a header: aiohttp's content_type argument refuses the charset parameter.
        headers = {"Content-Type": content_type, "Vary": "Accept-Encoding"}
        if gzip:
            headers["Content-Encoding"] = "gzip"
        return web.Response(body=body, headers=headers)

    async def healthz(self, request: web.Request) -> web.Response:
        """Liveness: 503 once the scheduler loop stopped beating (restart the process)."""
        problem = self._get_state().health_problem()
        if problem is not None:
            return web.Response(status=503, text=problem + "\n")
        return web.Response(text="ok\n")

    async def readyz(self, request: web.Request) -> web.Response:
        """Readiness: 503 with one reason per line until the data can be trusted."""
        problems = self._get_state().readiness_problems()
        if problems:
            return web.Response(status=503, text="\n".join(problems) + "\n")
        return web.Response(text="ready\n")

    # The API and the page are rendered in a thread from a snapshot, as /metrics is: with
    # thousands of alerts firing they are megabytes, and polling must not wait for them. Their
    # thread is not /metrics' own, so that a slow page never holds a scrape up.

    async def alerts(self, request: web.Request) -> web.Response:
        """Pending and firing alerts as JSON; `key` is [rule, prefix, subject]."""
        alerts = self._get_state().active_alerts()
        body = await self._thread.run(_alerts_json, alerts)
        return web.Response(text=body, content_type="application/json")

    async def prefixes(self, request: web.Request) -> web.Response:
        """Watched prefixes and the more-specifics found in them (`parent` names theirs)."""
        snapshot = self._get_state().snapshot()
        body = await self._thread.run(_prefixes_json, snapshot)
        return web.Response(text=body, content_type="application/json")

    async def status(self, request: web.Request) -> web.Response:
        """The human status page."""
        snapshot = self._get_state().snapshot()
        text = await self._thread.run(status_page, snapshot, datetime.now(UTC))
        return web.Response(text=text, content_type="text/html")


def _alerts_json(alerts: list[Alert]) -> str:
    """The API document (alerts are immutable, so a thread may encode them)."""
    return json.dumps({"alerts": [{**a.to_json(), "key": list(a.key)} for a in alerts]})


def _prefixes_json(state: MonitorState) -> str:
    """The prefixes document: what is watched, how it was last seen, and why it is watched."""
    statuses = [*state.prefixes.values(), *state.more_specifics.values()]
    return json.dumps(
        {
            "prefixes": [
                {
                    "prefix": s.watch.prefix,
                    "parent": s.watch.parent,
                    "description": s.watch.description,
                    "origins": sorted(s.watch.origins),
                    "tier": s.watch.tier.value,
                    "fetch_interval": state.fetch_interval(s.watch),
                    "last_success": s.last_success,
                    "error": s.error,
                    "observed_origins": [
                        {
                            "origin": o.origin,
                            "rpki": o.rpki.value,
                            "visible_peers": o.visible_peers,
                            "total_peers": o.total_peers,
                        }
                        for o in (s.view.origins if s.view else ())
                    ],
                }
                for s in statuses
            ]
        }
    )
