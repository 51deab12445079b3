"""The stream's parts for one configuration: source, RIB, judge, health and confirmations.

Built by `App` when the config has a `stream:` section. The source pushes updates to the
judge (RIB → findings → alert book → events), asks for confirming Radar fetches through the
scheduler, and tells the health tracker when it goes up or down or a beacon moves. `tick`
runs once a second: the `stream-down`/`stream-stale` alerts and forgetting quiet more-specifics
(the temporary watches in `more_specifics.py`, which the poller fetches on its cycle).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from monitor.config_asns import followed
from monitor.confirm import ConfirmScheduler
from monitor.core.lifecycle import AlertEvent, EventKind
from monitor.core.origins import StreamOrigination
from monitor.core.rib import StreamRib
from monitor.core.stream import StreamStatus, StreamUpdate
from monitor.more_specifics import MoreSpecifics
from monitor.pipeline import EventSink, policy
from monitor.settings import Config, StreamConfig
from monitor.sources.factory import make_stream
from monitor.state import MonitorState, StreamStats
from monitor.stream_health import SCOPE, StreamHealth
from monitor.stream_judge import StreamJudge

log = logging.getLogger(__name__)


class Streaming:
    """RIS Live feeding the alert book, with its health and its confirming fetches."""

    def __init__(
        self,
        config: StreamConfig,
        state: MonitorState,
        sink: EventSink,
        fetch: Callable[[str], bool],
        on_detected: Callable[[float], None] | None = None,
        on_watches: Callable[[], object] = lambda: None,
        on_origination: Callable[[StreamOrigination], None] = lambda seen: None,
    ) -> None:
        self.state = state
        self._sink = sink
        self._on_detected = on_detected
        #: Where a followed AS's origination of a prefix outside the watch list goes (AsSync).
        self._on_origination = on_origination
        #: The newest frame time of the update being judged (for the detection latency).
        self._frame_time: datetime | None = None
        prefixes = [p.prefix for p in state.config.prefixes]
        self.rib = StreamRib(prefixes)
        self.health = StreamHealth(datetime.now(UTC))
        self.confirms = ConfirmScheduler(fetch, config.confirm_interval, state.config.source)
        #: More-specifics watched for a while; `on_watches` hears when they change.
        self.watches = MoreSpecifics(state, on_watches)
        self.judge = StreamJudge(state, self.rib, self._judged, self._confirm, self.watches)
        self.watches.restore(a.finding for a in state.book.alerts.values())
        #: Messages by kind and malformed frames, for the metrics.
        self.updates = 0
        self.malformed = 0
        self.source = make_stream(
            config,
            prefixes,
            on_update=self._update,
            on_status=self._status,
            on_canary=self.health.canary,
            on_error=lambda message: None,  # logged (throttled) by the source
            on_malformed=self._malformed,
            origins=followed(state.config.asns),
            on_origination=self._originated,
        )

    async def run(self) -> None:
        """Stream until cancelled or closed."""
        await self.source.run()

    async def close(self) -> None:
        """Stop the stream and the confirmations still waiting."""
        self.confirms.close()
        self.judge.close()
        await self.source.close()

    def reload(self, config: Config) -> None:
        """Follow the new watch list on the open connection (no reconnect)."""
        prefixes = [p.prefix for p in config.prefixes]
        self.rib.watch(prefixes)
        self.source.update_prefixes(prefixes, followed(config.asns))
        if config.stream is not None:
            self.confirms.interval = config.stream.confirm_interval

    def tick(self, now: datetime) -> list[AlertEvent]:
        """The stream's own alerts as they stand now, and quiet more-specifics forgotten."""
        config = self.state.config.stream
        if config is None:
            return []
        self._publish()
        findings = self.health.findings(config, now)
        events = self.state.book.observe(
            SCOPE, findings, None, now, policy(self.state.config, None)
        )
        return events + self.judge.forget(now)

    def _publish(self) -> None:
        health, rib = self.health, self.rib
        counts = self.source.counts()
        self.state.stream = StreamStats(
            connected=health.connected,
            down_reason="" if health.connected else health.reason,
            updates=self.updates,
            malformed=self.malformed,
            reconnects=health.reconnects,
            last_canary=health.last_canary.timestamp() if health.last_canary else None,
            more_specifics=rib.more_specific_count,
            routes_refused=rib.refused,
            confirms_done=self.confirms.done,
            confirms_dropped=self.confirms.dropped,
            messages=counts.messages,
            subscriptions=counts.subscriptions,
        )

    def _update(self, update: StreamUpdate, received: float) -> None:
        self.updates += 1
        # The oldest frame of the batch being gathered: detection is timed from it. Two plain
        # loops, nothing built: this runs for every frame.
        oldest = self._frame_time if self.judge.pending else None  # else a new batch starts
        for route in update.routes:
            if oldest is None or route.seen_at < oldest:
                oldest = route.seen_at
        for withdrawal in update.withdrawals:
            if oldest is None or withdrawal.seen_at < oldest:
                oldest = withdrawal.seen_at
        self._frame_time = oldest
        self.judge.observe(update)

    def _judged(self, events: list[AlertEvent]) -> None:
        """The judge's events go on; each alert the stream fired is timed from its frame.

        A judgement without events is not passed on: the sink would write the state database
        for each of the thousands of prefixes a busy second changes. What such a judgement
        changed in the alert book is written with the next events or tick (within a second).
        """
        if not events:
            return
        if self._on_detected is not None and self._frame_time is not None:
            now = datetime.now(UTC)
            for event in events:
                if event.kind is EventKind.FIRING:
                    self._on_detected(max(0.0, (now - self._frame_time).total_seconds()))
        self._sink(events)

    def _originated(self, seen: StreamOrigination) -> None:
        # A more-specific inside a watched prefix is the more-specific rules' (and watched
        # for a while), not a prefix the AS newly originates.
        if self.rib.parent_of(seen.prefix) is None:
            self._on_origination(seen)

    def _confirm(self, prefix: str) -> None:
        # Watched prefixes and the more-specifics watched for a while; past the limit of
        # temporary watches a more-specific is judged by the stream alone.
        if self.state.watching(prefix):
            self.confirms.request(prefix)

    def _status(self, status: StreamStatus) -> None:
        was = self.health.connected
        self.health.status(status)
        if status.connected and not was and self.health.reconnects:
            # Updates missed while down are lost: what was learnt may be stale; Radar decides.
            self.rib.reconnected()
            for prefix in {k.prefix for k in self.state.book.alerts if k.prefix}:
                self._confirm(prefix)
        if not status.connected and was:
            log.warning("RIS Live stream down: %s", status.reason)

    def _malformed(self, reason: str) -> None:
        self.malformed += 1
