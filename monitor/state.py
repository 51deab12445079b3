"""The daemon's live state, read by the metrics collector, the HTTP API and the status page."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from monitor.alerts import AlertBook
from monitor.config import Config, PrefixConfig
from monitor.model import Collector, RadarAnswer
from monitor.outbox import Outbox

_MIN = datetime.min.replace(tzinfo=UTC)


@dataclass
class PrefixStatus:
    """The latest we know about one watched prefix."""

    watch: PrefixConfig
    answer: RadarAnswer | None = None
    last_success: float | None = None  # unix time of the last answer
    last_attempt: float | None = None
    failures: int = 0  # consecutive failed fetches
    error: str | None = None  # the last fetch's error, None after a success
    polls: int = 0  # completed fetches, successful or not
    routes: int = 0  # routes in the last answer (the answer is kept without them)


@dataclass
class MonitorState:
    """Everything the sinks show; mutated only by the daemon's loop."""

    config: Config
    book: AlertBook
    outbox: Outbox
    prefixes: dict[str, PrefixStatus] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    first_cycle_done: bool = False
    last_cycle_completed: float | None = None
    effective_interval: float = 60.0
    loop_heartbeat: float = field(default_factory=time.monotonic)
    reload_ok: bool = True
    reload_time: float = field(default_factory=time.time)
    store_error: str | None = None
    auth_error: str | None = None

    def snapshot(self) -> MonitorState:
        """A copy that later changes on the loop do not reach (answers are immutable, shared)."""
        return dataclasses.replace(
            self,
            prefixes={k: dataclasses.replace(v) for k, v in self.prefixes.items()},
            book=AlertBook(self.book.alerts.values()),
            outbox=Outbox(self.outbox.items.values()),
        )

    def collectors(self) -> dict[str, Collector]:
        """The freshest view of every collector across all answers."""
        best: dict[str, Collector] = {}
        for status in self.prefixes.values():
            if status.answer is None:
                continue
            for c in status.answer.collectors:
                old = best.get(c.name)
                if old is None or (c.realtime_ts or _MIN) > (old.realtime_ts or _MIN):
                    best[c.name] = c
        return best

    def apply_config(self, config: Config) -> None:
        """Adopt a new config: keep the status of prefixes still watched, drop the others."""
        self.config = config
        old = self.prefixes
        self.prefixes = {}
        for watch in config.prefixes:
            status = old.get(watch.prefix) or PrefixStatus(watch)
            status.watch = watch
            self.prefixes[watch.prefix] = status
