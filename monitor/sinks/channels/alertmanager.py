"""Alertmanager channels: alert events as its v2 API takes them, re-posted while firing."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from monitor.core.evidence import Evidence
from monitor.core.finding import AlertKey, Finding
from monitor.core.lifecycle import Alert, AlertEvent, EventKind
from monitor.core.measures import prefix_links
from monitor.ops.logs import scrub
from monitor.ops.proxy import proxy_for
from monitor.settings import ChannelConfig
from monitor.sinks.channels.base import Channel, Delivery, Outcome, UnusableChannelError
from monitor.sinks.templates import neutralise, origin_line

#: Labels the monitor sets itself; a prefix label of the same name is left out.
RESERVED_LABELS = frozenset(
    {"alertname", "severity", "prefix", "origin", "upstream", "collector", "event"}
)
#: Bytes of an error answer read and characters of it quoted in the exception.
ERROR_BODY_LIMIT = 300
#: How often a firing alert is posted to an Alertmanager channel again at the latest.
RESEND_INTERVAL = 60.0
#: Alertmanager resolves an alert not posted again within this many resend intervals
#: (Prometheus uses 4 too): room for a few failed attempts before anyone hears "resolved".
RESEND_WINDOW_FACTOR = 4


class AlertmanagerError(Exception):
    """Alertmanager answered a POST with a status other than 2xx."""


class AlertmanagerChannel(Channel):
    """Posts alerts to Alertmanager, which groups, routes and deduplicates replicas itself.

    Alertmanager keeps state, not messages: every pending item goes in each post, and firing
    alerts are posted again (`due_again`) before Alertmanager expires them.
    """

    sends_all_pending = True

    def __init__(
        self, config: ChannelConfig, send_timeout: float, resend_interval: float = RESEND_INTERVAL
    ) -> None:
        super().__init__(config)
        if not _http_url(config.url.reveal()):
            raise UnusableChannelError(
                f"channel {config.name!r}: an Alertmanager URL must be http(s)://host[:port][/path]"
            )
        self._timeout = send_timeout
        self._resend_interval = resend_interval
        #: When each alert was last posted here.
        self._posted: dict[AlertKey, float] = {}
        self._session: aiohttp.ClientSession | None = None

    def max_backoff(self, configured: float) -> float:
        """Retry in time to keep firing alerts from expiring in Alertmanager."""
        return min(configured, self._resend_interval)

    def due_again(self, firing: Sequence[Alert], now: float, queued: set[AlertKey]) -> list[Alert]:
        """Routed firing alerts to post again: all past half the interval once one is past it.

        Others past half the interval come along, so the channel's refreshes share posts.
        """
        routed = [a for a in firing if self.routes(a.finding)]
        for key in self._posted.keys() - {a.key for a in routed}:
            del self._posted[key]  # resolved or silenced: post it again at once if it returns
        ages = {a.key: now - self._posted.get(a.key, -math.inf) for a in routed}
        if not any(age >= self._resend_interval for age in ages.values()):
            return []
        return [
            a for a in routed if ages[a.key] >= self._resend_interval / 2 and a.key not in queued
        ]

    async def send(self, events: Sequence[AlertEvent]) -> Delivery:
        """POST the newest state of every alert in `events`."""
        window = self._resend_interval * RESEND_WINDOW_FACTOR
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            alerts = am_alerts(events, window)
            await post_alerts(self._session, self.config.url.reveal(), alerts, self._timeout)
        except TimeoutError:
            return Delivery(Outcome.TIMEOUT, f"no answer within {self._timeout:g}s")
        except Exception as exc:  # a payload bug too: retry with backoff, not every second
            return Delivery(Outcome.FAILURE, scrub(f"{type(exc).__name__}: {exc}"))
        now = time.time()
        for event in events:
            self._posted[event.alert.key] = now
        return Delivery(Outcome.SUCCESS)

    async def close(self) -> None:
        """Close the HTTP session, if one was opened."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


def _http_url(url: str) -> bool:
    """Whether `url` is an http(s) URL with a host (all an Alertmanager base URL needs)."""
    try:
        split = urlsplit(url.strip())
        # Reading the port checks it: a word or a number out of range raises ValueError.
        return split.scheme in ("http", "https") and bool(split.hostname) and split.port != 0
    except ValueError:
        return False


def am_alerts(
    events: Iterable[AlertEvent], resend_window: float, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The v2 `postableAlerts` of `events`, newest per alert; firing ones expire unless re-sent."""
    latest: dict[AlertKey, AlertEvent] = {}
    for event in events:
        older = latest.get(event.alert.key)
        if older is None or event.at >= older.at:
            latest[event.alert.key] = event
    expires = (now or datetime.now(UTC)) + timedelta(seconds=resend_window)
    return [_am_alert(event, expires) for event in latest.values()]


def am_labels(finding: Finding) -> dict[str, str]:
    """The alert's identity in Alertmanager: nothing instance-specific, so replicas coincide."""
    labels = {k: v for k, v in finding.labels.items() if k not in RESERVED_LABELS}
    labels["alertname"] = finding.rule
    labels["severity"] = finding.severity.value
    if finding.prefix:
        labels["prefix"] = finding.prefix
    if finding.origin is not None:
        labels["origin"] = str(finding.origin)
    if finding.upstream is not None:  # two leaks of one prefix are two alerts
        labels["upstream"] = str(finding.upstream)
    if finding.collector:
        labels["collector"] = neutralise(finding.collector)
    if finding.event:  # one alert per Radar event
        labels["event"] = finding.event
    return labels


async def post_alerts(
    session: aiohttp.ClientSession,
    base_url: str,
    alerts: Sequence[dict[str, Any]],
    timeout: float,  # noqa: ASYNC109 - one budget for connect, send and answer
) -> None:
    """POST `alerts` to `base_url`/api/v2/alerts; raises AlertmanagerError unless answered 2xx."""
    url = base_url.strip().rstrip("/") + "/api/v2/alerts"
    async with session.post(
        url, json=list(alerts), timeout=aiohttp.ClientTimeout(total=timeout), proxy=proxy_for(url)
    ) as response:
        if not 200 <= response.status < 300:
            body = await response.content.read(ERROR_BODY_LIMIT)
            text = neutralise(body.decode(errors="replace"), ERROR_BODY_LIMIT)
            raise AlertmanagerError(f"Alertmanager answered HTTP {response.status}: {text}")


def _am_alert(event: AlertEvent, expires: datetime) -> dict[str, Any]:
    """One postable alert: resolved ones end when they resolved, firing ones at `expires`."""
    alert = event.alert
    finding = alert.finding
    links = prefix_links(finding.prefix) if finding.prefix else []
    annotations = {
        "summary": _summary(alert),
        "description": _description(finding, alert.evidence),
        # `bgp.tools` → `bgp_tools`: annotation names follow the label name syntax.
        **{site.lower().replace(".", "_"): url for site, url in links},
    }
    ends = (alert.resolved_at or event.at) if event.kind is EventKind.RESOLVED else expires
    doc: dict[str, Any] = {
        "labels": am_labels(finding),
        "annotations": annotations,
        "startsAt": _rfc3339(alert.fired_at or alert.started_at),
        "endsAt": _rfc3339(ends),
    }
    if links:
        doc["generatorURL"] = links[0][1]
    return doc


def _summary(alert: Alert) -> str:
    """`unexpected-origin 192.0.2.0/24 (AS666 EVIL-NET)`: one line naming rule and subject."""
    finding = alert.finding
    parts = [finding.rule, finding.prefix or ""]
    if finding.origin is not None:
        seen = alert.evidence.origin(finding.origin) if alert.evidence else None
        name = f" {seen.as_name}" if seen is not None and seen.as_name else ""
        parts.append(f"(AS{finding.origin}{name})")
    elif finding.upstream is not None:
        parts.append(f"(upstream AS{finding.upstream})")
    elif finding.collector:
        parts.append(f"({finding.collector})")
    return neutralise(" ".join(p for p in parts if p), 200)


def _description(finding: Finding, evidence: Evidence | None) -> str:
    """The finding's message, then each origin Radar showed: name, verdict, RPKI, visibility."""
    lines = [neutralise(finding.message)]
    if evidence is not None and evidence.description:
        lines.append(f"Prefix description: {neutralise(evidence.description)}")
    if evidence is not None and evidence.expected_origins:
        lines.append("Expected origins: " + ", ".join(f"AS{a}" for a in evidence.expected_origins))
    if evidence is not None and evidence.origins:
        lines.append("Observed origins:")
        lines += [f"  {origin_line(o)}" for o in evidence.origins]
        if evidence.omitted_origins:
            lines.append(f"  … and {evidence.omitted_origins} more, less visible, origins")
    return "\n".join(lines)


def _rfc3339(moment: datetime) -> str:
    """`2026-11-28T12:00:00.000Z`, the timestamp format of the v2 API."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
