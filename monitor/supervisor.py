"""Runs an `App`: signals, systemd readiness and watchdog, loop lag, reload and shutdown."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import time
from collections.abc import Callable
from pathlib import Path

from monitor import __version__
from monitor.app import App, EventHook
from monitor.config import load_config
from monitor.ops import systemd
from monitor.ops.logs import scrub
from monitor.settings import Config
from monitor.validate import ConfigError

log = logging.getLogger(__name__)

LAG_PROBE_SECONDS = 0.25
#: Repeats and silence changes are checked this often, not at every poll slot.
TICK_SECONDS = 1.0
#: How long SIGTERM waits for the outbox to drain.
SHUTDOWN_FLUSH_SECONDS = 5.0
#: STATUS= is refreshed this often when no watchdog asks for more.
STATUS_SECONDS = 10.0


class Supervisor:
    """One running monitor: `await Supervisor(path, config).run()` returns the exit code."""

    def __init__(
        self,
        config_path: Path,
        config: Config,
        *,
        on_events: EventHook | None = None,
        on_listening: Callable[[], None] | None = None,
        listen_hint: str = "set http.listen to a free address",
    ) -> None:
        self.config_path = config_path
        self.app = App(config, on_events=on_events)
        self._on_listening = on_listening
        self._listen_hint = listen_hint
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()

    async def run(self) -> int:
        """Serve until SIGTERM/SIGINT; SIGHUP reloads. Returns the exit code."""
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._stop.set)
        loop.add_signal_handler(signal.SIGINT, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._reload.set)
        app = self.app
        config = app.state.config
        schedule = app.poller.plan
        log.info("radar-monitor %s starting; the budget plan:", __version__)
        for line in schedule.lines():
            log.info("plan: %s", line)
        if schedule.stretched:
            log.warning("%s", schedule.describe())
        try:
            await app.start_http(config)
        except OSError as exc:
            log.error(
                "cannot listen on %s:%d: %s; %s",
                config.http.host,
                config.http.port,
                exc.strerror or exc,
                self._listen_hint,
            )
            return 1
        if self._on_listening is not None:
            self._on_listening()
        app.start_notifier()
        app.start_stream()
        # What startup made (modules, the config, the restored alerts) lives as long as the
        # process: out of the collector's way, a full collection no longer stalls the loop for
        # all of it (200 ms with 10,000 prefixes), only for what came since.
        gc.collect()
        gc.freeze()
        background = [
            asyncio.create_task(self._watchdog(), name="watchdog"),
            asyncio.create_task(self._measure_lag(), name="loop lag"),
            asyncio.create_task(self._tick(), name="ticker"),
            asyncio.create_task(self._announce_ready(), name="readiness"),
            asyncio.create_task(app.events.run(), name="radar events"),
            asyncio.create_task(app.as_sync.run(), name="as sync"),
            asyncio.create_task(app.snapshots.run(), name="snapshots"),
        ]
        poller = asyncio.create_task(app.poller.run(), name="poller")
        try:
            while not self._stop.is_set():
                stop = asyncio.create_task(self._stop.wait())
                reload = asyncio.create_task(self._reload.wait())
                await asyncio.wait({stop, reload, poller}, return_when=asyncio.FIRST_COMPLETED)
                stop.cancel()
                reload.cancel()
                if poller.done():
                    poller.result()  # a crash of the poller is a bug: let it surface
                if self._reload.is_set() and not self._stop.is_set():
                    self._reload.clear()
                    await self._do_reload()
        finally:
            await self._shutdown(poller, *background)
        return 0

    async def _announce_ready(self) -> None:
        await systemd.notify_ready_when(self.app.ready, self.app.status_line)
        log.info("first cycle complete: %s", self.app.status_line())

    async def _tick(self) -> None:
        """Tick the alert book and beat the heartbeat that /healthz and the watchdog read."""
        while True:
            self.app.tick()
            await asyncio.sleep(TICK_SECONDS)

    async def _measure_lag(self) -> None:
        """Sample how late the loop runs a timer: a blocked loop delays polls and sends alike."""
        while True:
            started = time.monotonic()
            await asyncio.sleep(LAG_PROBE_SECONDS)
            self.app.metrics.loop_lag(max(0.0, time.monotonic() - started - LAG_PROBE_SECONDS))

    async def _watchdog(self) -> None:
        interval = systemd.watchdog_interval()
        while True:
            await asyncio.sleep(interval or STATUS_SECONDS)
            if interval is not None and self.app.state.health_problem() is None:
                systemd.notify_watchdog()
            systemd.notify_status(self.app.status_line())

    async def _do_reload(self) -> None:
        systemd.notify_reloading()
        try:
            config = load_config(self.config_path)
            await self.app.reload(config)
        except ConfigError as exc:
            log.error("reload rejected, keeping the running configuration: %s", exc)
            self.app.state.reload_ok = False
        except Exception as exc:  # a reload must never take monitoring down
            log.error("reload failed, keeping the running configuration: %s", scrub(repr(exc)))
            self.app.state.reload_ok = False
        systemd.notify_ready(self.app.status_line())

    async def _shutdown(self, *tasks: asyncio.Task[None]) -> None:
        systemd.notify_stopping()
        log.info("stopping: flushing the outbox for up to %.0fs", SHUTDOWN_FLUSH_SECONDS)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.app.close(SHUTDOWN_FLUSH_SECONDS)
