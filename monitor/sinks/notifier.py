"""The outbox worker: delivers queued alert events to every channel, one worker per channel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from monitor.core.finding import AlertKey
from monitor.core.lifecycle import Alert, AlertEvent, EventKind
from monitor.core.measures import utc_text
from monitor.ops.logs import register_url, scrub
from monitor.ops.waiting import until_set
from monitor.settings import ChannelConfig
from monitor.sinks.channels.alertmanager import RESEND_INTERVAL, AlertmanagerChannel
from monitor.sinks.channels.apprise import AppriseChannel
from monitor.sinks.channels.base import Channel, UnusableChannelError
from monitor.sinks.outbox import Outbox, OutboxItem, event_payload, payload_event

log = logging.getLogger(__name__)

#: Longest sleep of an idle worker, so items restored or persisted meanwhile are noticed.
MAX_IDLE = 1.0
#: Pause after an unexpected error in a worker, so a persistent bug cannot spin the CPU.
CRASH_PAUSE = 1.0
TEST_TITLE = "radar-monitor test notification"


def make_channel(config: ChannelConfig, send_timeout: float, resend_interval: float) -> Channel:
    """The channel of `config.type`; UnusableChannelError when its URL cannot work."""
    if config.type == "alertmanager":
        return AlertmanagerChannel(config, send_timeout, resend_interval)
    return AppriseChannel(config, send_timeout)


def channel_problem(config: ChannelConfig) -> str | None:
    """Why `config` cannot send (a URL its library refuses), or None; never shows the URL."""
    register_url(config.url.reveal())
    try:
        make_channel(config, send_timeout=1.0, resend_interval=RESEND_INTERVAL)
    except UnusableChannelError as exc:
        return str(exc)
    return None


class Notifier:
    """Sends queued alert events to channels, one independent worker per channel.

    Events go to the outbox first (`enqueue`). A channel that sent nothing for `group_wait`
    sends the first due event at once (the leading edge); what becomes due within
    `group_wait` after a send is gathered into the next message, sent when that window ends,
    so a burst is a few messages. Each send marks its items delivered or schedules a retry
    with backoff, which no window delays. A channel that hangs or fails only delays itself.
    """

    def __init__(
        self,
        channels: Sequence[ChannelConfig],
        outbox: Outbox,
        *,
        group_wait: float,
        max_backoff: float,
        send_timeout: float = 30.0,
        can_send_unpersisted: Callable[[], bool],
        on_change: Callable[[], None],
        on_result: Callable[[str, str], None] | None = None,
        resend_interval: float = RESEND_INTERVAL,
    ) -> None:
        self._configs = list(channels)
        self._outbox = outbox
        self._group_wait = group_wait
        self._max_backoff = max_backoff
        self._can_send_unpersisted = can_send_unpersisted
        self._on_change = on_change
        self._on_result = on_result
        #: Channels that cannot work: name → why (never the URL).
        self.invalid_channels: dict[str, str] = {}
        self._channels: dict[str, Channel] = {}
        for config in self._configs:
            register_url(config.url.reveal())
        for config in self._configs:
            try:
                self._channels[config.name] = make_channel(config, send_timeout, resend_interval)
            except UnusableChannelError as exc:
                self.invalid_channels[config.name] = str(exc)
        self._wake = {name: asyncio.Event() for name in self._channels}
        self._locks = {name: asyncio.Lock() for name in self._channels}
        #: When each channel last tried to send: the start of its gathering window.
        self._last_send: dict[str, float] = {}
        self._running = False

    def enqueue(self, events: Sequence[AlertEvent], now: float) -> int:
        """Queue each event for every usable channel that routes it; returns items added."""
        added = 0
        for event in events:
            payload = event_payload(event)
            for name, channel in self._channels.items():
                if channel.routes(event.alert.finding):
                    self._outbox.add(name, payload, now)
                    self._wake[name].set()
                    added += 1
        if added:
            self._on_change()
        return added

    def refresh(self, firing: Sequence[Alert], now: float) -> int:
        """Queue firing alerts that channels want again (before Alertmanager expires them)."""
        added = 0
        at = datetime.fromtimestamp(now, UTC)
        for name, channel in self._channels.items():
            for alert in channel.due_again(firing, now, self._queued(name)):
                self._outbox.add(name, event_payload(AlertEvent(EventKind.REPEAT, alert, at)), now)
                self._wake[name].set()
                added += 1
        if added:
            self._on_change()
        return added

    async def run(self) -> None:
        """Deliver forever (until cancelled), one independent worker per channel."""
        known = {c.name for c in self._configs}
        for name in sorted({i.channel for i in self._outbox.items.values()} - known):
            log.warning("outbox holds items for channel %s, which is not configured", name)
        self._running = True
        try:
            async with asyncio.TaskGroup() as group:
                for name in self._channels:
                    group.create_task(self._worker(name), name=f"notify {name}")
                await asyncio.get_running_loop().create_future()  # until cancelled
        finally:
            self._running = False
            await self._close_channels()

    async def flush(self, timeout: float) -> None:  # noqa: ASYNC109 - the daemon's shutdown budget
        """Send everything due now on every channel (no grouping delay), within `timeout`."""
        tasks = [asyncio.create_task(self._deliver(name, time.time())) for name in self._channels]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if not self._running:  # the workers may still use the connections
            await self._close_channels()

    async def test_all(self) -> dict[str, tuple[bool, str]]:
        """Send a test message to every channel now (not via the outbox): name → (ok, detail)."""
        body = (
            f"{TEST_TITLE} from {socket.gethostname()} at {utc_text(datetime.now(UTC))}. "
            "If you can read this, alerts will reach this channel."
        )

        async def one(name: str) -> tuple[bool, str]:
            channel = self._channels.get(name)
            if channel is None:
                return False, self.invalid_channels[name]
            delivery = await channel.test(TEST_TITLE, body)
            return delivery.ok, delivery.detail

        try:
            results = await asyncio.gather(*(one(c.name) for c in self._configs))
        finally:
            await self._close_channels()
        return {c.name: r for c, r in zip(self._configs, results, strict=True)}

    # --- the worker --------------------------------------------------------------------

    async def _worker(self, name: str) -> None:
        """Send `name`'s groups as they become ready; errors are logged, never raised."""
        wake = self._wake[name]
        while True:
            wake.clear()
            try:
                now = time.time()
                ready_at = self._ready_at(name)
                if ready_at is not None and ready_at <= now:
                    await self._deliver(name, now)
                    continue
                idle = MAX_IDLE if ready_at is None else min(MAX_IDLE, ready_at - now)
            except Exception as exc:
                log.error("channel %s: notifier error: %s", name, scrub(repr(exc)))
                idle = CRASH_PAUSE
            await until_set(wake, idle)

    def _sendable(self, name: str) -> list[OutboxItem]:
        """`name`'s items that may be sent at all (persisted, unless the store is down)."""
        unpersisted_ok = self._can_send_unpersisted()
        return [
            i
            for i in self._outbox.items.values()
            if i.channel == name and (unpersisted_ok or i.id in self._outbox.persisted)
        ]

    def _ready_at(self, name: str) -> float | None:
        """When `name` next sends (None: nothing queued): a retry when its backoff ends, a
        new item when it is due and `group_wait` has passed since the channel's last send."""
        window_end = self._last_send.get(name, -math.inf) + self._group_wait
        times = [
            i.next_attempt if i.attempts else max(i.next_attempt, window_end)
            for i in self._sendable(name)
        ]
        return min(times, default=None)

    def _queued(self, name: str) -> set[AlertKey]:
        """The alerts that `name`'s queued items are about (unreadable items count for none)."""
        keys: set[AlertKey] = set()
        for item in self._outbox.items.values():
            if item.channel == name:
                with contextlib.suppress(Exception):  # dropped by the worker, not here
                    keys.add(payload_event(item.payload).alert.key)
        return keys

    async def _deliver(self, name: str, now: float) -> None:
        """Send all of `name`'s due items as one group and record the outcome."""
        channel = self._channels[name]
        async with self._locks[name]:
            due_by = math.inf if channel.sends_all_pending else now
            items = self._outbox.due(name, due_by, self._can_send_unpersisted())
            events, broken = _decode(items)
            if broken:
                for item_id, problem in broken.items():
                    log.error(
                        "channel %s: dropping unreadable outbox item %s: %s", name, item_id, problem
                    )
                self._outbox.delivered(broken)
                self._on_change()
            if not events:
                return
            ids = [i.id for i in items if i.id not in broken]
            self._last_send[name] = now
            delivery = await channel.send(events)
            if delivery.ok:
                self._outbox.delivered(ids)
                log.info("channel %s: sent %d alert(s)", name, len(ids))
            else:
                # Parts that went out are done: a retry never repeats them.
                sent = [item_id for k, item_id in enumerate(ids) if k in delivery.partial]
                self._outbox.delivered(sent)
                left = [item_id for k, item_id in enumerate(ids) if k not in delivery.partial]
                max_backoff = channel.max_backoff(self._max_backoff)
                delay = self._outbox.failed(left, time.time(), delivery.detail, max_backoff)
                log.warning(
                    "channel %s: %s sending %d alert(s)%s: %s; retrying in %.0fs",
                    name,
                    delivery.outcome.value,
                    len(left),
                    f" ({len(sent)} more went in earlier parts)" if sent else "",
                    delivery.detail,
                    delay,
                )
            self._on_change()
            if self._on_result is not None:
                self._on_result(name, delivery.outcome)

    async def _close_channels(self) -> None:
        for channel in self._channels.values():
            await channel.close()


def _decode(items: Sequence[OutboxItem]) -> tuple[list[AlertEvent], dict[str, str]]:
    """The events the items carry, and the ids of items whose payload is unreadable."""
    events: list[AlertEvent] = []
    broken: dict[str, str] = {}
    for item in items:
        try:
            events.append(payload_event(item.payload))
        except Exception as exc:  # any malformed payload: it can never be sent
            broken[item.id] = f"{type(exc).__name__}: {exc}"
    return events, broken
