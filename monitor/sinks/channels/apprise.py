"""Apprise channels: Slack, email, Teams, webhooks… one message per group of events, split
into parts only where the service's own length limit requires it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, cast

import apprise
import apprise.conversion

from monitor.core.finding import Severity
from monitor.core.lifecycle import AlertEvent, EventKind
from monitor.ops.logs import quiet_third_party, scrub
from monitor.settings import ChannelConfig
from monitor.sinks.channels.base import Channel, Delivery, Outcome, UnusableChannelError
from monitor.sinks.parts import Limit
from monitor.sinks.templates import render_parts

_ASSET = apprise.AppriseAsset(
    app_id="radar-monitor",
    app_desc="radar-monitor BGP/RPKI alerts",
    # Apprise masks passwords in the URLs it logs itself (partly); keep that on.
    secure_logging=True,
)


class AppriseChannel(Channel):
    """Sends through Apprise's `async_notify` (its `notify` would block the event loop)."""

    def __init__(self, config: ChannelConfig, send_timeout: float) -> None:
        super().__init__(config)
        self._timeout = send_timeout
        with quiet_third_party():
            # instantiate() takes exactly one URL; add() would split it at spaces and commas.
            plugin = apprise.Apprise.instantiate(config.url.reveal().strip(), asset=_ASSET)
        if plugin is None:
            raise UnusableChannelError(
                f"channel {config.name!r}: Apprise does not accept its URL (unknown or "
                "unavailable scheme, or missing/invalid parts)"
            )
        self._sender = apprise.Apprise(asset=_ASSET)
        self._sender.add(plugin)
        self.limit = service_limit(plugin)

    async def send(self, events: Sequence[AlertEvent]) -> Delivery:
        """Render `events` as one message, or as parts within the service's limit, and send
        them in order; a failed part leaves it and the later ones to be retried."""
        try:
            parts = render_parts(events, self.limit)
        except Exception as exc:  # a template bug: retry with backoff, not every second
            return Delivery(Outcome.FAILURE, f"cannot render the message: {exc!r}")
        notify_type = _notify_type(events)
        told: list[int] = []
        for part in parts:
            delivery = await self._notify(part.title, part.body, notify_type)
            if not delivery.ok:
                return Delivery(delivery.outcome, delivery.detail, frozenset(told))
            told += part.events
        return Delivery(Outcome.SUCCESS)

    async def test(self, title: str, body: str) -> Delivery:
        """Send `title` and `body` as an informational message."""
        return await self._notify(title, body, apprise.NotifyType.INFO)

    async def _notify(self, title: str, body: str, notify_type: apprise.NotifyType) -> Delivery:
        try:
            async with asyncio.timeout(self._timeout):
                result = await self._sender.async_notify(
                    title=title,
                    body=body,
                    body_format=apprise.NotifyFormat.TEXT,
                    notify_type=notify_type,
                )
        except TimeoutError:
            return Delivery(Outcome.TIMEOUT, f"no answer within {self._timeout:g}s")
        except Exception as exc:
            return Delivery(Outcome.FAILURE, scrub(f"{type(exc).__name__}: {exc}"))
        # Apprise 1.x returns a bool, 2.x a result object whose truth is "all delivered".
        if bool(result):
            return Delivery(Outcome.SUCCESS)
        return Delivery(Outcome.FAILURE, _failure_detail(result))


def service_limit(plugin: Any) -> Limit | None:
    """The length limit Apprise declares for `plugin`'s service (`body_maxlen`), counted in
    the format Apprise converts our plain text to (HTML escapes every space), or None."""
    maxlen = getattr(plugin, "body_maxlen", 0)
    if not isinstance(maxlen, int) or maxlen <= 0:
        return None
    text = apprise.NotifyFormat.TEXT
    resolve = getattr(plugin, "resolve_format", None)  # Apprise 2; 1.x has one notify_format
    target = resolve(text) if callable(resolve) else getattr(plugin, "notify_format", text)
    convert = cast(Callable[[Any, Any, str], str], apprise.conversion.convert_between)
    title_in_body = plugin.title_maxlen <= 0 or bool(plugin.overflow_amalgamate_title)
    return Limit(maxlen, title_in_body, lambda body: len(convert(text, target, body)))


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
    return scrub(messages[-1]) if messages else "Apprise reported a failed delivery"
