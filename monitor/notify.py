"""Delivery of alert events through Apprise or to Alertmanager, via the persistent outbox."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
import re
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import aiohttp
import apprise

from monitor.alertmanager import am_alerts, post_alerts
from monitor.alerts import Alert, AlertEvent, AlertKey, EventKind
from monitor.config import ChannelConfig
from monitor.outbox import Outbox, OutboxItem, event_payload
from monitor.rules import Severity
from monitor.templates import render

log = logging.getLogger(__name__)

#: Longest sleep of an idle worker, so items restored or persisted meanwhile are noticed.
MAX_IDLE = 1.0
#: Pause after an unexpected error in a worker, so a persistent bug cannot spin the CPU.
CRASH_PAUSE = 1.0
TEST_TITLE = "radar-monitor test notification"
#: How often a firing alert is posted to an Alertmanager channel again at the latest.
RESEND_INTERVAL = 60.0
#: Alertmanager resolves an alert not posted again within this many resend intervals
#: (Prometheus uses 4 too): room for a few failed attempts before anyone hears "resolved".
RESEND_WINDOW_FACTOR = 4

_ASSET = apprise.AppriseAsset(
    app_id="radar-monitor",
    app_desc="radar-monitor BGP/RPKI alerts",
    # Apprise masks passwords in the URLs it logs itself (partly); keep that on.
    secure_logging=True,
)
# Apprise logs a URL it cannot parse at ERROR, verbatim when it has no scheme (its masking
# needs one): while a channel URL is parsed, Apprise logs nothing; we report it by name.
_PARSING = contextvars.ContextVar("radar_monitor_parsing_channel_url", default=False)
_URL = re.compile(r"\b([a-z][a-z0-9+.-]*)://\S+", re.IGNORECASE)
#: Loggers (and their children) that see channel URLs: Apprise and its HTTP stack.
_THIRD_PARTY = ("apprise", "urllib3", "requests")
#: urllib3's loggers that name request paths; created here so they carry the filter even
#: before urllib3 is imported (Apprise imports it with the first HTTP plugin).
_URLLIB3_LOGGERS = tuple(
    f"urllib3.{m}"
    for m in ("connectionpool", "connection", "poolmanager", "response", "util.retry")
)
#: Parts of many notification URLs that are not secret; masking them would only garble logs.
_COMMON_PARTS = frozenset({"127.0.0.1", "localhost", "services", "webhooks", "api"})


class _Redactor(logging.Filter):
    """Removes channel secrets and URLs from the records of Apprise and its HTTP library.

    Apprise and urllib3 write request URLs (webhook tokens in the path) at DEBUG and some
    plugins name the endpoint in warnings; their level is raised to WARNING and this filter
    rewrites whatever still gets through, even if an operator turns their level down again.
    """

    def __init__(self) -> None:
        super().__init__()
        # Replaced whole, never mutated: Apprise's worker threads read it while a reload
        # adds secrets. Longest first, so a URL is masked before its parts are.
        self._secrets: tuple[str, ...] = ()

    def add(self, secrets: Iterable[str]) -> None:
        """Mask `secrets` from now on."""
        self._secrets = tuple(sorted({*self._secrets, *secrets}, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """`text` without known secret fragments and with every URL cut to its scheme."""
        for secret in self._secrets:
            text = text.replace(secret, "…")
        return _URL.sub(r"\1://…", text)

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop records logged while parsing a channel URL; redact all others."""
        if _PARSING.get():
            return False
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record must not break a send
            message = str(record.msg)
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


_REDACTOR = _Redactor()


def _guard_logging(urls: Iterable[str]) -> None:
    """Keep `urls` (and the parts of them that may be secrets) out of third-party logs."""
    _REDACTOR.add(part for url in urls for part in _secret_parts(url))
    for name in _THIRD_PARTY:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)  # children inherit it
    # Filters are not inherited: attach to every logger of these libraries.
    for name in _URLLIB3_LOGGERS:
        logging.getLogger(name)
    for name, existing in list(logging.root.manager.loggerDict.items()):
        if (
            isinstance(existing, logging.Logger)
            and name.split(".")[0] in _THIRD_PARTY
            and _REDACTOR not in existing.filters
        ):
            existing.addFilter(_REDACTOR)


def _secret_parts(url: str) -> set[str]:
    """The URL and each piece of it that may be a credential (6+ characters, as in logs.py).

    Apprise plugins put tokens anywhere (user, password, host, path, query), so every piece
    but the scheme and a few common words counts.
    """
    url = url.strip()
    pieces: list[str | None] = [url]
    try:
        split = urlsplit(url)
        pieces += [split.username, split.password, split.hostname, split.netloc]
        pieces += split.path.split("/")
        pieces += [value for _, value in parse_qsl(split.query)]
    except ValueError:
        pass  # not a URL at all: the whole text is the secret
    parts = {p for piece in pieces if piece for p in (piece, unquote(piece))}
    return {p for p in parts if len(p) >= 6 and p not in _COMMON_PARTS}


class Notifier:
    """Sends queued alert events to Apprise and Alertmanager channels, one worker per channel.

    Events go to the outbox first (`enqueue`); each worker waits `group_wait` after the
    oldest due item so a burst becomes one message, sends, and marks the items delivered
    or schedules a retry with backoff. A channel that hangs or fails only delays itself.
    Alertmanager channels get every pending item in one post (the newest event per alert
    wins) and, through `refresh`, firing alerts again before Alertmanager expires them.
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
        self._channels = list(channels)
        self._outbox = outbox
        self._group_wait = group_wait
        self._max_backoff = max_backoff
        self._send_timeout = send_timeout
        self._resend_interval = resend_interval
        self._can_send_unpersisted = can_send_unpersisted
        self._on_change = on_change
        self._on_result = on_result
        #: Channels whose URL Apprise refused: name → why (never the URL).
        self.invalid_channels: dict[str, str] = {}
        self._senders: dict[str, apprise.Apprise] = {}
        #: Usable Alertmanager channels by name, and when each alert was last posted there.
        self._alertmanagers: dict[str, ChannelConfig] = {}
        self._posted: dict[str, dict[AlertKey, float]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._running = False
        _guard_logging(c.url.reveal() for c in self._channels)
        for channel in self._channels:
            if channel.type == "alertmanager":
                if _http_url(channel.url.reveal()):
                    self._alertmanagers[channel.name] = channel
                    self._posted[channel.name] = {}
                else:
                    self.invalid_channels[channel.name] = (
                        f"channel {channel.name!r}: an Alertmanager URL must be "
                        "http(s)://host[:port][/path]"
                    )
                continue
            sender = _sender(channel)
            if sender is None:
                self.invalid_channels[channel.name] = (
                    f"channel {channel.name!r}: Apprise does not accept its URL (unknown or "
                    "unavailable scheme, or missing/invalid parts)"
                )
            else:
                self._senders[channel.name] = sender
        usable = [c.name for c in self._channels if c.name not in self.invalid_channels]
        self._wake = {name: asyncio.Event() for name in usable}
        self._locks = {name: asyncio.Lock() for name in usable}

    def enqueue(self, events: Sequence[AlertEvent], now: float) -> int:
        """Queue each event for every usable channel that routes it; returns items added."""
        added = 0
        for event in events:
            finding = event.alert.finding
            payload = event_payload(event)
            for channel in self._channels:
                if channel.name in self._wake and channel.routes(finding.rule, finding.severity):
                    self._outbox.add(channel.name, payload, now)
                    self._wake[channel.name].set()
                    added += 1
        if added:
            self._on_change()
        return added

    def refresh(self, firing: Sequence[Alert], now: float) -> int:
        """Queue firing alerts for Alertmanager channels before they expire there; returns count."""
        added = 0
        at = datetime.fromtimestamp(now, UTC)
        for name, channel in self._alertmanagers.items():
            routed = [a for a in firing if channel.routes(a.finding.rule, a.finding.severity)]
            posted = self._posted[name]
            for key in posted.keys() - {a.key for a in routed}:
                del posted[key]  # resolved or silenced: post it again at once if it returns
            ages = {a.key: now - posted.get(a.key, -math.inf) for a in routed}
            if not any(age >= self._resend_interval for age in ages.values()):
                continue
            # Others past half the interval come along, so the channel's refreshes share posts.
            pending = self._pending(name)
            for alert in routed:
                if ages[alert.key] >= self._resend_interval / 2 and alert.key not in pending:
                    event = AlertEvent(EventKind.REPEAT, alert, at)
                    self._outbox.add(name, event_payload(event), now)
                    self._wake[name].set()
                    added += 1
        if added:
            self._on_change()
        return added

    async def run(self) -> None:
        """Deliver forever (until cancelled), one independent worker per channel."""
        known = {c.name for c in self._channels}
        for name in sorted({i.channel for i in self._outbox.items.values()} - known):
            log.warning("outbox holds items for channel %s, which is not configured", name)
        self._running = True
        try:
            async with asyncio.TaskGroup() as group:
                for name in self._wake:
                    group.create_task(self._worker(name), name=f"notify {name}")
                await asyncio.get_running_loop().create_future()  # until cancelled
        finally:
            self._running = False
            await self._close_session()

    async def flush(self, timeout: float) -> None:  # noqa: ASYNC109 - the daemon's shutdown budget
        """Send everything due now on every channel (no grouping delay), within `timeout`."""
        tasks = [asyncio.create_task(self._deliver(name, time.time())) for name in self._wake]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if not self._running:  # the workers may still use the session
            await self._close_session()

    async def test_all(self) -> dict[str, tuple[bool, str]]:
        """Send a test message to every channel now (not via the outbox): name → (ok, detail)."""
        body = (
            f"{TEST_TITLE} from {socket.gethostname()} at "
            f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M:%S UTC')}. "
            "If you can read this, alerts will reach this channel."
        )

        async def one(channel: ChannelConfig) -> tuple[bool, str]:
            if channel.type != "apprise":
                return False, "not an Apprise channel"
            sender = self._senders.get(channel.name)
            if sender is None:
                return False, self.invalid_channels[channel.name]
            outcome, detail = await self._send(sender, TEST_TITLE, body, apprise.NotifyType.INFO)
            return outcome == "success", detail or "delivered"

        results = await asyncio.gather(*(one(c) for c in self._channels))
        return {c.name: r for c, r in zip(self._channels, results, strict=True)}

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
                log.error("channel %s: notifier error: %s", name, _REDACTOR.redact(repr(exc)))
                idle = CRASH_PAUSE
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), idle)

    def _sendable(self, name: str) -> list[OutboxItem]:
        """`name`'s items that may be sent at all (persisted, unless the store is down)."""
        unpersisted_ok = self._can_send_unpersisted()
        return [
            i
            for i in self._outbox.items.values()
            if i.channel == name and (unpersisted_ok or i.id in self._outbox.persisted)
        ]

    def _ready_at(self, name: str) -> float | None:
        """When `name` next has a group to send: a due item `group_wait` old (None: empty)."""
        times = [max(i.next_attempt, i.created + self._group_wait) for i in self._sendable(name)]
        return min(times, default=None)

    def _pending(self, name: str) -> set[AlertKey]:
        """The alerts that `name`'s queued items are about (unreadable items count for none)."""
        keys: set[AlertKey] = set()
        for item in self._outbox.items.values():
            if item.channel == name:
                with contextlib.suppress(Exception):  # dropped by the worker, not here
                    keys.add(_event(item.payload).alert.key)
        return keys

    async def _deliver(self, name: str, now: float) -> None:
        """Send all of `name`'s due items as one message and record the outcome."""
        alertmanager = name in self._alertmanagers
        async with self._locks[name]:
            # Alertmanager keeps state, not messages: every pending item goes, so an older
            # event in backoff can never arrive after a newer one and undo it.
            items = self._outbox.due(
                name, math.inf if alertmanager else now, self._can_send_unpersisted()
            )
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
            if alertmanager:
                outcome, detail = await self._post(self._alertmanagers[name], events)
            else:
                outcome, detail = await self._notify(self._senders[name], events)
            if outcome == "success":
                self._outbox.delivered(ids)
                log.info("channel %s: sent %d alert(s) in one message", name, len(ids))
            else:
                max_backoff = self._max_backoff
                if alertmanager:  # retry in time to keep its firing alerts from expiring
                    max_backoff = min(max_backoff, self._resend_interval)
                delay = self._outbox.failed(ids, time.time(), detail, max_backoff)
                log.warning(
                    "channel %s: %s sending %d alert(s): %s; retrying in %.0fs",
                    name,
                    outcome,
                    len(ids),
                    detail,
                    delay,
                )
            self._on_change()
            if self._on_result is not None:
                self._on_result(name, outcome)

    async def _notify(
        self, sender: apprise.Apprise, events: Sequence[AlertEvent]
    ) -> tuple[str, str]:
        """The outcome of rendering `events` as one message and sending it through Apprise."""
        try:
            title, body = render(events)
        except Exception as exc:  # a template bug: retry with backoff, not every second
            return "failure", f"cannot render the message: {exc!r}"
        return await self._send(sender, title, body, _notify_type(events))

    async def _post(self, channel: ChannelConfig, events: Sequence[AlertEvent]) -> tuple[str, str]:
        """("success" | "failure" | "timeout", detail without secrets) of one Alertmanager post."""
        window = self._resend_interval * RESEND_WINDOW_FACTOR
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            alerts = am_alerts(events, window)
            await post_alerts(self._session, channel.url.reveal(), alerts, self._send_timeout)
        except TimeoutError:
            return "timeout", f"no answer within {self._send_timeout:g}s"
        except Exception as exc:  # a payload bug too: retry with backoff, not every second
            return "failure", _REDACTOR.redact(f"{type(exc).__name__}: {exc}")
        posted, now = self._posted[channel.name], time.time()
        for event in events:
            posted[event.alert.key] = now
        return "success", ""

    async def _close_session(self) -> None:
        """Close the HTTP session of the Alertmanager posts, if one was opened."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def _send(
        self, sender: apprise.Apprise, title: str, body: str, notify_type: apprise.NotifyType
    ) -> tuple[str, str]:
        """("success" | "failure" | "timeout", detail without secrets) of one Apprise call."""
        try:
            result = await asyncio.wait_for(
                sender.async_notify(
                    title=title,
                    body=body,
                    body_format=apprise.NotifyFormat.TEXT,
                    notify_type=notify_type,
                ),
                self._send_timeout,
            )
        except TimeoutError:
            return "timeout", f"no answer within {self._send_timeout:g}s"
        except Exception as exc:
            return "failure", _REDACTOR.redact(f"{type(exc).__name__}: {exc}")
        # Apprise 1.x returns a bool, 2.x a result object whose truth is "all delivered".
        if bool(result):
            return "success", ""
        return "failure", _failure_detail(result)


def _http_url(url: str) -> bool:
    """Whether `url` is an http(s) URL with a host (all an Alertmanager base URL needs)."""
    try:
        split = urlsplit(url.strip())
        # Reading the port checks it: a word or a number out of range raises ValueError.
        return split.scheme in ("http", "https") and bool(split.hostname) and split.port != 0
    except ValueError:
        return False


def _sender(channel: ChannelConfig) -> apprise.Apprise | None:
    """An Apprise instance for the channel's one URL, or None if Apprise refuses it."""
    token = _PARSING.set(True)
    try:
        # instantiate() takes exactly one URL; add() would split it at spaces and commas.
        plugin = apprise.Apprise.instantiate(channel.url.reveal().strip(), asset=_ASSET)
    finally:
        _PARSING.reset(token)
    if plugin is None:
        return None
    sender = apprise.Apprise(asset=_ASSET)
    sender.add(plugin)
    return sender


def _decode(items: Sequence[OutboxItem]) -> tuple[list[AlertEvent], dict[str, str]]:
    """The events the items carry, and the ids of items whose payload is unreadable."""
    events: list[AlertEvent] = []
    broken: dict[str, str] = {}
    for item in items:
        try:
            events.append(_event(item.payload))
        except Exception as exc:  # any malformed payload: it can never be sent
            broken[item.id] = f"{type(exc).__name__}: {exc}"
    return events, broken


def _event(payload: Mapping[str, Any]) -> AlertEvent:
    """The inverse of `event_payload`."""
    return AlertEvent(
        kind=EventKind(payload["kind"]),
        alert=Alert.from_json(payload["alert"]),
        at=datetime.fromisoformat(payload["at"]),
    )


def _notify_type(events: Sequence[AlertEvent]) -> apprise.NotifyType:
    """Colour/icon for services that show one: resolved-only is good news, else worst severity."""
    active = [e.alert.finding.severity for e in events if e.kind is not EventKind.RESOLVED]
    if not active:
        return apprise.NotifyType.SUCCESS
    if Severity.CRITICAL in active:
        return apprise.NotifyType.FAILURE
    if Severity.WARNING in active:
        return apprise.NotifyType.WARNING
    return apprise.NotifyType.INFO


def _failure_detail(result: object) -> str:
    """Apprise's last warning or error for a failed call (2.x result logs), secrets removed."""
    logs = getattr(result, "logs", None)
    messages = [str(entry.message) for entry in logs()] if callable(logs) else []
    return _REDACTOR.redact(messages[-1]) if messages else "Apprise reported a failed delivery"
