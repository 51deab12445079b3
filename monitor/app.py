"""What one configuration builds: state, store, metrics, source, pipeline, notifier and HTTP.

`App` wires the one-way flow (source → pipeline → events → sinks) and rebuilds the parts a
reload changes; `Supervisor` runs it. Nothing here knows a wire format.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from aiohttp import web

from monitor.as_sync import AsSync
from monitor.as_watches import expand
from monitor.budget import Plan
from monitor.core.finding import BUILTIN_RULES
from monitor.core.lifecycle import AlertBook, AlertEvent, AlertState
from monitor.events_polling import EventsPolling
from monitor.exposition.metrics import Metrics
from monitor.exposition.web import bound_port, exposure_warning, make_app, start_http
from monitor.exposition.webconfig import ssl_context
from monitor.pipeline import Pipeline
from monitor.planning import plan_for
from monitor.settings import Config, Tier
from monitor.sinks.notifier import Notifier
from monitor.sinks.outbox import Outbox
from monitor.sinks.store import Store
from monitor.snapshots import SnapshotPolling
from monitor.sources.base import PrefixSource
from monitor.sources.factory import configured_token, make_events, make_origins, make_source
from monitor.sources.polling import Poller
from monitor.state import MonitorState
from monitor.streaming import Streaming
from monitor.validate import ConfigError

log = logging.getLogger(__name__)

#: Called with each group of events after they were queued (the demo prints them).
EventHook = Callable[[Sequence[AlertEvent]], None]


def realtime(config: Config) -> list[str]:
    """The watched prefixes the realtime cycle fetches (the snapshot tier's are read per AS)."""
    return [p.prefix for p in config.prefixes if p.tier is Tier.REALTIME]


class App:
    """The running parts of one configuration, and how they change on reload."""

    def __init__(self, config: Config, *, on_events: EventHook | None = None) -> None:
        self.metrics = Metrics(lambda: self.state)
        self.store = Store(config.state.path)
        alerts, items = self.store.load()
        self.state = MonitorState(config=config, book=AlertBook(alerts), outbox=Outbox(items))
        #: The config as loaded, without the prefixes its `asns:` syncs add (`state.config`).
        self.loaded = config
        self.state.apply_config(config)
        self.state.store_error = self.store.error
        self.on_events = on_events
        self.pipeline = Pipeline(self.state, self._emit)
        self._token = configured_token(config.source)
        schedule = plan_for(config)
        self.state.plan, self.state.effective_interval = schedule, schedule.effective_interval
        source = self._source(config)
        self.poller = Poller(
            source,
            realtime(config),
            schedule,
            self.pipeline.observe,
            on_first_cycle=self._first_cycle_complete,
            on_cycle=self._cycle_complete,
        )
        self.events = EventsPolling(self.state, self._emit, make_events(source), schedule)
        self.as_sync = AsSync(self.state, self._emit, make_origins(source), self._synced)
        self.snapshots = SnapshotPolling(
            self.state,
            self.pipeline.observe,
            make_origins(source),
            schedule,
            pause=self.metrics.idle,
            judged=self.metrics.prepare,
        )
        self.notifier = self._notifier(config)
        self.notifier_task: asyncio.Task[None] | None = None
        self.streaming = self._streaming(config)
        self.stream_task: asyncio.Task[None] | None = None
        self.http: web.AppRunner | None = None
        self.http_port: int | None = None
        #: Set once the first cycle is complete (the supervisor then tells systemd).
        self.ready = asyncio.Event()

    # --- construction ---------------------------------------------------------------------

    def _source(self, config: Config) -> PrefixSource:
        return make_source(
            config.source, require_token=False, observer=self.metrics.observe_request
        )

    def _streaming(self, config: Config) -> Streaming | None:
        if config.stream is None:
            return None
        streaming = Streaming(
            config.stream,
            self.state,
            self._emit,
            self.poller.confirm,
            on_detected=self.metrics.stream_detection,
            on_watches=self._follow_more_specifics,
            on_origination=self.as_sync.seen_on_stream,
        )
        self.pipeline.stream = streaming.judge
        return streaming

    def _follow_more_specifics(self) -> Plan:
        """Poll the temporary watches on the cycle too, within the budget; the new plan."""
        config = self.state.config
        extra = sorted(self.state.more_specifics)
        schedule = plan_for(config, len(extra))
        self.state.plan, self.state.effective_interval = schedule, schedule.effective_interval
        self.as_sync.stretch = schedule.stretch
        self.poller.follow(extra, schedule)
        return schedule

    def _notifier(self, config: Config) -> Notifier:
        notifier = Notifier(
            config.notifications.channels,
            self.state.outbox,
            group_wait=config.notifications.group_wait,
            max_backoff=config.notifications.max_backoff,
            can_send_unpersisted=lambda: not self.store.healthy,
            on_change=self.persist,
            on_result=self.metrics.notification,
        )
        self.metrics.declare_channels(c.name for c in config.notifications.channels)
        for name, problem in notifier.invalid_channels.items():
            log.error("notification channel %s is unusable: %s", name, problem)
        return notifier

    def start_notifier(self) -> None:
        """Start delivering from the outbox."""
        self.notifier_task = asyncio.create_task(self.notifier.run(), name="notifier")

    async def stop_notifier(self) -> None:
        """Stop the delivery workers (the outbox keeps what they did not send)."""
        if self.notifier_task is not None:
            self.notifier_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.notifier_task

    async def start_http(self, config: Config) -> None:
        """Listen for metrics, probes, the API and the status page; OSError if the port is taken."""
        web_config = config.http.web
        app = make_app(lambda: self.state, self.metrics, web_config=web_config)
        tls = ssl_context(web_config)
        self.http = await start_http(app, config.http.host, config.http.port, tls)
        self.http_port = bound_port(self.http)
        warning = exposure_warning(config.http.host, web_config)
        if warning is not None:
            log.warning("%s", warning)
        scheme = "https" if tls is not None else "http"
        log.info(
            "serving metrics and status on %s://%s:%d/", scheme, config.http.host, self.http_port
        )

    # --- the flow ---------------------------------------------------------------------------

    def _emit(self, events: list[AlertEvent]) -> None:
        """The pipeline's events go to the log, the outbox, the demo hook and the store."""
        for event in events:
            a = event.alert
            log.warning(
                "alert %s: %s %s %s: %s",
                event.kind.value,
                a.finding.severity.value,
                a.finding.rule,
                a.finding.prefix or a.finding.subject or "-",
                a.finding.message,
            )
        if events:
            self.notifier.enqueue(events, time.time())
            if self.on_events is not None:
                self.on_events(events)
        self.persist()

    def tick(self) -> None:
        """Repeats and silences between observations, and refreshes the channels want."""
        self.state.loop_heartbeat = time.monotonic()
        self.pipeline.tick()
        if self.streaming is not None:
            self._emit(self.streaming.tick(datetime.now(UTC)))
        firing = [
            a
            for a in self.state.book.alerts.values()
            if a.state is AlertState.FIRING and not a.silenced
        ]
        self.notifier.refresh(firing, time.time())

    def persist(self) -> None:
        """Write what changed to the state database."""
        self.store.flush(self.state.book, self.state.outbox)
        self.state.store_error = self.store.error

    def _first_cycle_complete(self) -> None:
        self.state.first_cycle_done = True
        self.ready.set()

    def _cycle_complete(self) -> None:
        self.state.last_cycle_completed = time.time()

    def status_line(self) -> str:
        """One line for `STATUS=`: what is watched, what fires, how fresh the data is."""
        alerts = self.state.book.alerts.values()
        firing = sum(1 for a in alerts if a.state is AlertState.FIRING)
        pending = sum(1 for a in alerts if a.state is AlertState.PENDING)
        failing = sum(1 for s in self.state.prefixes.values() if s.failures)
        return (
            f"watching {len(self.state.prefixes)} prefixes; {firing} firing, {pending} pending; "
            f"{failing} failing; outbox {len(self.state.outbox)}"
        )

    # --- reload and close -------------------------------------------------------------------

    async def reload(self, config: Config) -> None:
        """Adopt `config`: rebuild what changed, keep every alert still configured."""
        old = self.state.config
        source = self.poller.source
        # Read first, before anything changes: a token file that cannot be read rejects the
        # reload (ConfigError) while the old source keeps polling. A rotated token (same
        # config, new file content) is what a reload after a rotation is for.
        token = configured_token(config.source)
        if config.source != old.source or token != self._token:
            source = self._source(config)
            self._token = token
        if config.http != old.http and self.http is not None:
            await self.http.cleanup()
            try:
                await self.start_http(config)
            except OSError as exc:
                # The new address is taken or not ours: keep serving where we did.
                await self.start_http(old)
                if source is not self.poller.source:
                    await source.close()
                raise ConfigError("http.listen", f"cannot listen there: {exc.strerror}") from None
        if source is not self.poller.source:
            await self.poller.source.close()
        if config.notifications != old.notifications:
            await self.stop_notifier()
            self.notifier = self._notifier(config)
            self.start_notifier()
        self.loaded = config
        schedule = await self._adopt(expand(config, self.state.synced), source)
        self.state.reload_ok = True
        self.state.reload_time = time.time()
        self.as_sync.replan(make_origins(source))
        log.info("configuration reloaded: %s", schedule.describe())

    async def _synced(self) -> None:
        """An AS sync changed what is watched: adopt it as a reload would, alerts kept."""
        config = expand(self.loaded, self.state.synced)
        schedule = await self._adopt(config, self.poller.source)
        log.info(
            "watching %d prefixes after an AS sync: %s",
            len(config.prefixes),
            schedule.describe(),
        )

    async def _adopt(self, config: Config, source: PrefixSource) -> Plan:
        """Watch what `config` says through `source`; drop the alerts it no longer has."""
        old = self.state.config
        self.state.apply_config(config)
        if config.stream is None:
            self.state.more_specifics.clear()  # only a stream finds (and forgets) them
        rules = {r.name for r in config.rules} | set(BUILTIN_RULES)
        for key in list(self.state.book.alerts):
            if (key.prefix and not self.state.watching(key.prefix)) or key.rule not in rules:
                log.info("dropping alert %s: its prefix or rule is no longer configured", key)
                self.state.book.alerts.pop(key)
                self.state.book.dirty.add(key)
        schedule = self._follow_more_specifics()
        self.poller.replan(source, realtime(config), schedule)
        self.events.replan(make_events(source), schedule)
        self.snapshots.replan(make_origins(source), schedule)
        await self._reload_stream(old, config)
        self.persist()
        return schedule

    async def _reload_stream(self, old: Config, config: Config) -> None:
        """Same stream URL: new subscriptions on the open socket; else a new stream (or none)."""
        before, after = old.stream, config.stream
        if self.streaming is not None and before and after and before.url == after.url:
            self.streaming.reload(config)
            return
        await self.stop_stream()
        self.pipeline.stream = None
        self.streaming = self._streaming(config)
        self.start_stream()

    def start_stream(self) -> None:
        """Start streaming, when the config has a stream."""
        if self.streaming is not None:
            self.stream_task = asyncio.create_task(self.streaming.run(), name="stream")

    async def stop_stream(self) -> None:
        """Stop streaming (its alerts stay as they are)."""
        if self.streaming is not None:
            await self.streaming.close()
        if self.stream_task is not None:
            self.stream_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.stream_task
            self.stream_task = None

    async def close(self, flush_seconds: float) -> None:
        """Send what is due within `flush_seconds`, persist, and release every resource."""
        await self.stop_stream()
        await self.stop_notifier()
        await self.notifier.flush(flush_seconds)
        self.persist()
        await self.poller.source.close()
        if self.http is not None:
            await self.http.cleanup()
        self.store.close()
        log.info("stopped; %d notifications left in the outbox", len(self.state.outbox))
