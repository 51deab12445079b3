"""What aiohttp's HTTP server says about clients: a malformed request is counted, not a traceback.

aiohttp logs each request it cannot parse at ERROR with a traceback of about ten lines, and
quotes the bytes around the fault, an `Authorization` header included. One client sending
garbage wrote 2.3 MB/s of log. Here such a request is a debug line naming only the client and
the kind of fault, a metric, and at most one warning a minute saying how many there were.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

from monitor.exposition.listener_metrics import ListenerMetrics
from monitor.ops.throttle import ThrottledWarning

log = logging.getLogger(__name__)


class ServerLog(logging.LoggerAdapter[logging.Logger]):
    """aiohttp's server logger (pass as `logger=` to the runner), quiet about bad requests."""

    def __init__(self, metrics: ListenerMetrics) -> None:
        super().__init__(logging.getLogger("aiohttp.server"), {})
        self._metrics = metrics
        self._warning = ThrottledWarning(log, _describe)

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        """Pass every record on, except the parser's complaints about a client's request."""
        fault = kwargs.get("exc_info")
        if not isinstance(fault, HttpProcessingError):
            super().log(level, msg, *args, **kwargs)
            return
        # aiohttp's message is "Error handling request from %s" with the peer's address.
        peer = args[0] if args else "a client"
        # The fault's own text quotes the request, so it is left out: it may hold a password.
        kind = type(fault).__name__
        log.debug("malformed HTTP request from %s (%s), answered %d", peer, kind, fault.code)
        self._metrics.bad_request()
        self._warning.note()

    def close(self) -> None:
        """Say how many malformed requests were not reported yet."""
        self._warning.close()


def _describe(count: int) -> str:
    return (
        f"{count} malformed HTTP request(s) in the last minute, answered with an error; counted"
        " in radar_monitor_http_bad_requests_total, each logged at debug level"
    )
