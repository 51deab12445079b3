"""Apprise channels: Slack, email, Teams, webhooks… one message per group of events."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import apprise

from monitor.core.finding import Severity
from monitor.core.lifecycle import AlertEvent, EventKind
from monitor.ops.logs import quiet_third_party, scrub
from monitor.settings import ChannelConfig
from monitor.sinks.channels.base import Channel, Delivery, Outcome, UnusableChannelError
from monitor.sinks.templates import render

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

    async def send(self, events: Sequence[AlertEvent]) -> Delivery:
        """Render `events` as one message and send it."""
        try:
            title, body = render(events)
        except Exception as exc:  # a template bug: retry with backoff, not every second
            return Delivery(Outcome.FAILURE, f"cannot render the message: {exc!r}")
        return await self._notify(title, body, _notify_type(events))

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
