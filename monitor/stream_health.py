"""Whether the stream can be trusted: the built-in `stream-down` and `stream-stale` alerts.

Both are source-wide (no prefix), like `source-auth`. `stream-down` fires once the socket has
been down for `stream.max_down`; `stream-stale` once no beacon (the canary prefixes RIS
announces and withdraws on a fixed schedule) moved for `stream.stale_after`, whatever the
socket says: a connected stream that delivers nothing is no stream.
"""

from __future__ import annotations

from datetime import datetime

from monitor.core.finding import STREAM_DOWN, STREAM_STALE, Finding, Severity
from monitor.core.lifecycle import Scope
from monitor.core.measures import duration
from monitor.core.stream import StreamStatus
from monitor.settings import StreamConfig

#: The keys these alerts have: source-wide, no subject.
SCOPE = Scope(prefix="", subjects={STREAM_DOWN: frozenset({""}), STREAM_STALE: frozenset({""})})


class StreamHealth:
    """The stream's connection and canary, and the findings they give."""

    def __init__(self, started: datetime) -> None:
        self.connected = False
        self.down_since: datetime | None = started
        self.reason = "not connected yet"
        self.last_canary: datetime | None = None
        self._started = started
        self._ever_connected = False
        #: Connections after the first one (a metric).
        self.reconnects = 0

    def status(self, status: StreamStatus) -> None:
        """The socket came up or went down."""
        if status.connected and not self.connected:
            self.reconnects += self._ever_connected
            self._ever_connected = True
        self.connected = status.connected
        if status.connected:
            self.down_since = None
        elif self.down_since is None:
            self.down_since, self.reason = status.at, status.reason or "disconnected"

    def canary(self, at: datetime) -> None:
        """A beacon moved at `at`."""
        self.last_canary = max(at, self.last_canary) if self.last_canary else at

    def findings(self, config: StreamConfig, now: datetime) -> list[Finding]:
        """`stream-down` and `stream-stale`, as they stand at `now`."""
        found = []
        if self.down_since is not None:
            down = (now - self.down_since).total_seconds()
            if down >= config.max_down:
                found.append(
                    Finding(
                        STREAM_DOWN,
                        "stream_down",
                        Severity.WARNING,
                        None,
                        f"the RIS Live stream has been down for {duration(down)}: {self.reason}; "
                        "detection falls back to polling",
                        value=down,
                        threshold=config.max_down,
                    )
                )
        quiet = (now - (self.last_canary or self._started)).total_seconds()
        if quiet >= config.stale_after:
            found.append(
                Finding(
                    STREAM_STALE,
                    "stream_stale",
                    Severity.WARNING,
                    None,
                    f"no RIS beacon moved on the stream for {duration(quiet)}: its data may be "
                    "stale or filtered",
                    value=quiet,
                    threshold=config.stale_after,
                )
            )
        return found
