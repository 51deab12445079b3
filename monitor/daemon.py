"""The long-running service: schedules polls, runs the alert lifecycle, feeds every sink."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from aiohttp import web

from monitor import __version__, systemd
from monitor.alerts import AlertBook, AlertEvent, Evidence, Policy, Scope, Timing
from monitor.check import client_settings
from monitor.config import Config, PrefixConfig, load_config
from monitor.engine import evaluate
from monitor.logs import register_secret
from monitor.metrics import Metrics
from monitor.model import RadarAnswer
from monitor.notify import Notifier
from monitor.outbox import Outbox
from monitor.radar import RadarAuthError, RadarClient, RadarError, load_token
from monitor.replay import ReplaySource
from monitor.rules import Finding, Severity
from monitor.schedule import Plan, plan
from monitor.state import MonitorState, PrefixStatus
from monitor.store import Store
from monitor.validate import ConfigError
from monitor.web import bound_port, exposure_warning, make_app, start_http
from monitor.webconfig import ssl_context

log = logging.getLogger(__name__)

SOURCE_UNREACHABLE = "source-unreachable"
SOURCE_AUTH = "source-auth"
LAG_PROBE_SECONDS = 0.25
#: Repeats and silence changes are checked this often, not at every poll slot.
TICK_SECONDS = 1.0
#: How long SIGTERM waits for the outbox to drain.
SHUTDOWN_FLUSH_SECONDS = 5.0


class Source(Protocol):
    """Where answers come from: the Radar API or a recorded timeline."""

    async def fetch(self, prefix: str) -> RadarAnswer: ...

    async def close(self) -> None: ...


EventHook = Callable[[Sequence[AlertEvent]], None]


class Daemon:
    """One running monitor: `await Daemon(...).run()` returns the exit code."""

    def __init__(
        self,
        config_path: Path,
        config: Config,
        *,
        on_events: EventHook | None = None,
    ) -> None:
        self.config_path = config_path
        self.metrics = Metrics(lambda: self.state)
        self.store = Store(config.state.path)
        alerts, items = self.store.load()
        self.state = MonitorState(config=config, book=AlertBook(alerts), outbox=Outbox(items))
        self.state.apply_config(config)
        self.state.store_error = self.store.error
        self.plan: Plan = plan(config.source, len(config.prefixes))
        self.state.effective_interval = self.plan.effective_interval
        self.on_events = on_events
        self.source: Source = self._make_source(config)
        self.notifier = self._make_notifier(config)
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self._wake = asyncio.Event()
        self._polls: dict[str, asyncio.Task[None]] = {}
        self._last_tick = 0.0
        self._runner: web.AppRunner | None = None
        self._notifier_task: asyncio.Task[None] | None = None
        self.http_port: int | None = None

    # --- construction -------------------------------------------------------------------

    def _make_source(self, config: Config) -> Source:
        if config.source.type == "replay":
            assert config.source.file is not None
            return ReplaySource(config.source.file, loop=config.source.loop)
        token = load_token(config.source.token_file)
        if token is not None:
            register_secret(token.reveal())
        return RadarClient(client_settings(config), token, observer=self.metrics.observe_request)

    def _make_notifier(self, config: Config) -> Notifier:
        for channel in config.notifications.channels:
            register_secret(channel.url.reveal())
        notifier = Notifier(
            config.notifications.channels,
            self.state.outbox,
            group_wait=config.notifications.group_wait,
            max_backoff=config.notifications.max_backoff,
            can_send_unpersisted=lambda: not self.store.healthy,
            on_change=self._persist,
            on_result=self.metrics.notification,
        )
        self.metrics.declare_channels(c.name for c in config.notifications.channels)
        for name, problem in notifier.invalid_channels.items():
            log.error("notification channel %s is unusable: %s", name, problem)
        return notifier

    # --- the loop ------------------------------------------------------------------------

    async def run(self) -> int:
        """Serve until SIGTERM/SIGINT; SIGHUP reloads. Returns the exit code."""
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._stop.set)
        loop.add_signal_handler(signal.SIGINT, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._reload.set)
        log.info(
            "radar-monitor %s starting: %s",
            __version__,
            self.plan.describe(self.state.config.source),
        )
        if self.plan.stretched:
            log.warning("%s", self.plan.describe(self.state.config.source))
        try:
            await self._start_http(self.state.config)
        except OSError as exc:
            log.error(
                "cannot listen on %s:%d: %s",
                self.state.config.http.host,
                self.state.config.http.port,
                exc,
            )
            return 1
        self._notifier_task = asyncio.create_task(self.notifier.run(), name="notifier")
        watchdog = asyncio.create_task(self._watchdog(), name="watchdog")
        lag = asyncio.create_task(self._measure_lag(), name="loop lag")
        scheduler = asyncio.create_task(self._schedule(), name="scheduler")
        try:
            while not self._stop.is_set():
                stop = asyncio.create_task(self._stop.wait())
                reload = asyncio.create_task(self._reload.wait())
                await asyncio.wait({stop, reload, scheduler}, return_when=asyncio.FIRST_COMPLETED)
                stop.cancel()
                reload.cancel()
                if scheduler.done():
                    scheduler.result()  # a crash of the scheduler is a bug: let it surface
                if self._reload.is_set() and not self._stop.is_set():
                    self._reload.clear()
                    await self._do_reload()
        finally:
            await self._shutdown(scheduler, watchdog, lag)
        return 0

    async def _schedule(self) -> None:
        """Start one poll per slot, cycle after cycle, never two at once for a prefix."""
        first_cycle: list[asyncio.Task[None]] = []
        cycle_start = time.monotonic()
        while True:
            watches = list(self.state.config.prefixes)
            slot = self.plan.slot
            for i, watch in enumerate(watches):
                await self._sleep_until(cycle_start + i * slot)
                if self._wake.is_set():
                    break  # a reload changed the plan: start a fresh cycle now
                task = self._start_poll(watch)
                if task is not None and not self.state.first_cycle_done:
                    first_cycle.append(task)
            if not self.state.first_cycle_done and not self._wake.is_set():
                await asyncio.gather(*first_cycle, return_exceptions=True)
                self._first_cycle_complete()
            self._wake.clear()
            self.state.last_cycle_completed = time.time()
            cycle_start += self.plan.effective_interval
            await self._sleep_until(cycle_start)
            if time.monotonic() > cycle_start + self.plan.effective_interval:
                cycle_start = time.monotonic()  # far behind (suspend, overload): do not burst

    async def _sleep_until(self, when: float) -> None:
        """Sleep until monotonic `when`, ticking alerts and the heartbeat at least once a second."""
        while True:
            now = time.monotonic()
            self.state.loop_heartbeat = now
            if now - self._last_tick >= TICK_SECONDS:
                self._last_tick = now
                self._tick()
            remaining = when - time.monotonic()
            if remaining <= 0 or self._wake.is_set():
                # Yield even when the slot is already due: a scheduler that never awaits
                # starves the polls it starts (seen with 2,000 prefixes and 3,000 alerts).
                await asyncio.sleep(0)
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(remaining, 1.0))

    def _start_poll(self, watch: PrefixConfig) -> asyncio.Task[None] | None:
        running = self._polls.get(watch.prefix)
        if running is not None and not running.done():
            log.warning("%s: previous poll still running, skipping this slot", watch.prefix)
            return None
        task = asyncio.create_task(self._poll(watch), name=f"poll {watch.prefix}")
        self._polls[watch.prefix] = task
        return task

    def _first_cycle_complete(self) -> None:
        self.state.first_cycle_done = True
        systemd.notify_ready(self.status_line())
        log.info("first cycle complete: %s", self.status_line())

    async def _poll(self, watch: PrefixConfig) -> None:
        status = self.state.prefixes.get(watch.prefix)
        if status is None:
            return
        status.last_attempt = time.time()
        try:
            answer = await self.source.fetch(watch.prefix)
        except RadarError as exc:
            self._failed(status, exc)
        except Exception:
            log.exception("%s: unexpected error while polling", watch.prefix)
            self._failed(status, RadarError("internal error (see log)"))
        else:
            self._answered(status, answer)
        finally:
            status.polls += 1

    def _answered(self, status: PrefixStatus, answer: RadarAnswer) -> None:
        watch = status.watch
        now = datetime.now(UTC)
        # Routes are most of an answer's memory (thousands per prefix) and nothing after the
        # evaluation below needs them: keep the counts, origins and collectors only.
        status.answer = dataclasses.replace(answer, routes=())
        status.routes = len(answer.routes)
        status.last_success, status.failures, status.error = time.time(), 0, None
        self.state.auth_error = None
        findings = evaluate(watch, answer, now)
        collectors = frozenset(c.name for c in answer.collectors)
        scope = Scope(
            prefix=watch.prefix,
            rules=frozenset(r.name for r in watch.rules if r.per_prefix) | {SOURCE_UNREACHABLE},
            subjects={r.name: collectors for r in watch.rules if not r.per_prefix}
            | {SOURCE_AUTH: frozenset({""})},
        )
        evidence = Evidence.capture(watch.target, watch.description, answer)
        self._observe(scope, findings, evidence, now, watch)

    def _failed(self, status: PrefixStatus, exc: RadarError) -> None:
        watch = status.watch
        now = datetime.now(UTC)
        status.failures += 1
        status.error = str(exc)
        level = (
            logging.WARNING if status.failures == 1 or status.failures % 10 == 0 else logging.INFO
        )
        log.log(level, "%s: fetch failed (%d in a row): %s", watch.prefix, status.failures, exc)
        # No data is not "resolved": only the built-in source alerts change on a failure.
        findings: list[Finding] = []
        if isinstance(exc, RadarAuthError):
            self.state.auth_error = str(exc)
            findings.append(
                Finding(
                    SOURCE_AUTH,
                    "source_auth",
                    Severity.CRITICAL,
                    None,
                    f"Radar rejected the API token: {exc}",
                )
            )
        if status.failures >= self.state.config.source.max_failures:
            findings.append(
                Finding(
                    SOURCE_UNREACHABLE,
                    "source_unreachable",
                    Severity.WARNING,
                    watch.prefix,
                    f"{watch.prefix} could not be fetched {status.failures} times in a row: "
                    f"{exc}; its other alerts are frozen until data returns",
                    value=float(status.failures),
                    threshold=float(self.state.config.source.max_failures),
                    labels=dict(watch.labels),
                )
            )
        scope = Scope(prefix=watch.prefix, rules=frozenset({SOURCE_UNREACHABLE}))
        self._observe(
            scope, findings, Evidence.capture(watch.target, watch.description, None), now, watch
        )

    def _policy(self, watch: PrefixConfig | None) -> Policy:
        n = self.state.config.notifications
        timings = {
            r.name: Timing(r.for_, r.keep_firing_for) for r in (watch.rules if watch else ())
        }
        return Policy(n.repeat_interval, n.send_resolved, timings, self.state.config.silences)

    def _observe(
        self,
        scope: Scope,
        findings: list[Finding],
        evidence: Evidence,
        now: datetime,
        watch: PrefixConfig,
    ) -> None:
        events = self.state.book.observe(scope, findings, evidence, now, self._policy(watch))
        self._emit(events)

    def _tick(self) -> None:
        self._emit(self.state.book.tick(datetime.now(UTC), self._policy(None)))
        firing = [
            a
            for a in self.state.book.alerts.values()
            if a.state.value == "firing" and not a.silenced
        ]
        self.notifier.refresh(firing, time.time())

    def _emit(self, events: list[AlertEvent]) -> None:
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
        self._persist()

    def _persist(self) -> None:
        self.store.flush(self.state.book, self.state.outbox)
        self.state.store_error = self.store.error

    # --- systemd, reload, shutdown --------------------------------------------------------

    def status_line(self) -> str:
        """One line for `STATUS=`: what is watched, what fires, how fresh the data is."""
        alerts = self.state.book.alerts.values()
        firing = sum(1 for a in alerts if a.state.value == "firing")
        pending = sum(1 for a in alerts if a.state.value == "pending")
        failing = sum(1 for s in self.state.prefixes.values() if s.failures)
        return (
            f"watching {len(self.state.prefixes)} prefixes; {firing} firing, {pending} pending; "
            f"{failing} failing; outbox {len(self.state.outbox)}"
        )

    def healthy(self) -> bool:
        """Whether the scheduler loop is alive (it beats at least once a second)."""
        return time.monotonic() - self.state.loop_heartbeat < 10.0

    async def _measure_lag(self) -> None:
        """Sample how late the loop runs a timer: a blocked loop delays polls and sends alike."""
        while True:
            started = time.monotonic()
            await asyncio.sleep(LAG_PROBE_SECONDS)
            self.metrics.loop_lag(max(0.0, time.monotonic() - started - LAG_PROBE_SECONDS))

    async def _watchdog(self) -> None:
        interval = systemd.watchdog_interval()
        while True:
            await asyncio.sleep(interval or 10.0)
            if interval is not None and self.healthy():
                systemd.notify_watchdog()
            systemd.notify_status(self.status_line())

    async def _start_http(self, config: Config) -> None:
        web_config = config.http.web
        app = make_app(
            lambda: self.state,
            self.metrics,
            max_data_age=max(3 * self.plan.effective_interval, 120.0),
            web_config=web_config,
        )
        tls = ssl_context(web_config)
        self._runner = await start_http(app, config.http.host, config.http.port, tls)
        self.http_port = bound_port(self._runner)
        warning = exposure_warning(config.http.host, web_config)
        if warning is not None:
            log.warning("%s", warning)
        scheme = "https" if tls is not None else "http"
        log.info(
            "serving metrics and status on %s://%s:%d/", scheme, config.http.host, self.http_port
        )

    async def _do_reload(self) -> None:
        systemd.notify_reloading()
        try:
            config = load_config(self.config_path)
        except ConfigError as exc:
            log.error("reload rejected, keeping the running configuration: %s", exc)
            self.state.reload_ok = False
            systemd.notify_ready(self.status_line())
            return
        old = self.state.config
        if config.source != old.source:
            await self.source.close()
            self.source = self._make_source(config)
        if config.notifications != old.notifications:
            if self._notifier_task is not None:
                self._notifier_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._notifier_task
            self.notifier = self._make_notifier(config)
            self._notifier_task = asyncio.create_task(self.notifier.run(), name="notifier")
        if config.http != old.http and self._runner is not None:
            await self._runner.cleanup()
            await self._start_http(config)
        watched = {p.prefix for p in config.prefixes}
        rules = {r.name for r in config.rules} | {SOURCE_AUTH, SOURCE_UNREACHABLE}
        for key in list(self.state.book.alerts):
            if (key[1] and key[1] not in watched) or key[0] not in rules:
                log.info("dropping alert %s: its prefix or rule is no longer configured", key)
                self.state.book.alerts.pop(key)
                self.state.book.dirty.add(key)
        self.state.apply_config(config)
        self.plan = plan(config.source, len(config.prefixes))
        self.state.effective_interval = self.plan.effective_interval
        self.state.reload_ok = True
        self.state.reload_time = time.time()
        self._wake.set()
        self._persist()
        log.info("configuration reloaded: %s", self.plan.describe(config.source))
        systemd.notify_ready(self.status_line())

    async def _shutdown(self, *background: asyncio.Task[None]) -> None:
        systemd.notify_stopping()
        log.info("stopping: flushing the outbox for up to %.0fs", SHUTDOWN_FLUSH_SECONDS)
        tasks = [*background, *self._polls.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._notifier_task is not None:
            self._notifier_task.cancel()
            await asyncio.gather(self._notifier_task, return_exceptions=True)
        await self.notifier.flush(SHUTDOWN_FLUSH_SECONDS)
        self._persist()
        await self.source.close()
        if self._runner is not None:
            await self._runner.cleanup()
        self.store.close()
        log.info("stopped; %d notifications left in the outbox", len(self.state.outbox))
