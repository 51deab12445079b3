"""The HTTP listener's own metrics: connections held and dropped, bad requests, throttled logins."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

#: Why the listener closed a connection itself (besides the idle timeout).
DROP_REASONS = ("evicted", "refused")


class ListenerMetrics:
    """Counters and gauges the listener updates as connections and requests come and go."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._open = Gauge(
            "radar_monitor_http_connections",
            "Connections the HTTP listener holds open, TLS handshakes included.",
            registry=registry,
        )
        self._limit = Gauge(
            "radar_monitor_http_connections_limit",
            "Most connections the HTTP listener holds at once (below the file descriptor limit).",
            registry=registry,
        )
        self._dropped = Counter(
            "radar_monitor_http_connections_dropped_total",
            "Connections closed to stay within the limit: evicted (the longest idle, to make"
            " room) or refused (every connection was answering a request).",
            ["reason"],
            registry=registry,
        )
        for reason in DROP_REASONS:
            self._dropped.labels(reason)
        self._bad_requests = Counter(
            "radar_monitor_http_bad_requests_total",
            "Malformed HTTP requests, answered with an error before any handler ran.",
            registry=registry,
        )
        self._throttled = Counter(
            "radar_monitor_http_auth_throttled_total",
            "Requests answered 429 because too many password checks were waiting.",
            registry=registry,
        )

    def connections(self, delta: int) -> None:
        """One connection more (1) or less (-1); by delta, as an old and a new listener overlap."""
        self._open.inc(delta)

    def limit(self, connections: int) -> None:
        """The limit of the listener now serving."""
        self._limit.set(connections)

    def dropped(self, reason: str) -> None:
        """Count one connection the listener closed to stay within its limit."""
        self._dropped.labels(reason).inc()

    def bad_request(self) -> None:
        """Count one malformed request."""
        self._bad_requests.inc()

    def throttled(self) -> None:
        """Count one request turned away before its password was checked."""
        self._throttled.inc()
