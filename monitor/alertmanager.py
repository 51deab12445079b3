"""Alert events as Alertmanager's v2 API takes them, and the request that delivers them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from monitor.alerts import Alert, AlertEvent, AlertKey, EventKind, Evidence, OriginEvidence
from monitor.rules import Finding
from monitor.rules.base import percent
from monitor.templates import neutralise, prefix_links

#: Labels the monitor sets itself; a prefix label of the same name is left out.
RESERVED_LABELS = frozenset({"alertname", "severity", "prefix", "origin", "collector"})
#: Bytes of an error answer read and characters of it quoted in the exception.
ERROR_BODY_LIMIT = 300


class AlertmanagerError(Exception):
    """Alertmanager answered a POST with a status other than 2xx."""


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
    if finding.collector:
        labels["collector"] = neutralise(finding.collector)
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
        url, json=list(alerts), timeout=aiohttp.ClientTimeout(total=timeout)
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
        seen = _seen(alert.evidence, finding.origin)
        name = f" {seen.as_name}" if seen is not None and seen.as_name else ""
        parts.append(f"(AS{finding.origin}{name})")
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
        lines += [f"  {_origin_line(o)}" for o in evidence.origins]
    return "\n".join(lines)


def _origin_line(origin: OriginEvidence) -> str:
    """`AS666 EVIL-NET (RU): UNEXPECTED, RPKI invalid, seen by 12.0% of peers (120/1000)`."""
    name = f" {neutralise(origin.as_name, 80)}" if origin.as_name else ""
    country = f" ({neutralise(origin.country, 8)})" if origin.country else ""
    verdict = "expected" if origin.expected else "UNEXPECTED"
    peers = f"{origin.visible_peers}/{origin.total_peers}"
    return (
        f"AS{origin.asn}{name}{country}: {verdict}, RPKI {neutralise(origin.rpki, 20)}, "
        f"seen by {percent(origin.visibility)} of peers ({peers})"
    )


def _seen(evidence: Evidence | None, asn: int) -> OriginEvidence | None:
    """What Radar showed about origin `asn`, if it was seen."""
    if evidence is None:
        return None
    return next((o for o in evidence.origins if o.asn == asn), None)


def _rfc3339(moment: datetime) -> str:
    """`2026-11-28T12:00:00.000Z`, the timestamp format of the v2 API."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
