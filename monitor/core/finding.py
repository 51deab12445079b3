"""What a rule reports: a severity, the finding itself, and the identity an alert keeps."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Severity(enum.StrEnum):
    """How urgently on-call should act; also the routing key for notification channels."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for the most urgent: the one sort order of every list shown to people."""
        return _RANK[self]


_RANK = {s: i for i, s in enumerate(Severity)}

#: Alerts the daemon raises about its sources; config rules may not take these names.
SOURCE_UNREACHABLE = "source-unreachable"
SOURCE_AUTH = "source-auth"
STREAM_DOWN = "stream-down"
STREAM_STALE = "stream-stale"
EVENTS_UNREACHABLE = "events-unreachable"
#: Alerts of the `asns:` syncs: a sync failed, an AS originates nothing, a synced prefix is gone.
SYNC_FAILED = "sync-failed"
AS_ORIGINATES_NOTHING = "as-originates-nothing"
PREFIX_GONE = "prefix-gone"
BUILTIN_RULES = (
    SOURCE_UNREACHABLE,
    SOURCE_AUTH,
    STREAM_DOWN,
    STREAM_STALE,
    EVENTS_UNREACHABLE,
    SYNC_FAILED,
    AS_ORIGINATES_NOTHING,
    PREFIX_GONE,
)


class AlertKey(NamedTuple):
    """The identity of an alert across cycles; prefix and subject may be empty."""

    rule: str
    prefix: str
    subject: str


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a rule found wrong; its `key` is its identity across cycles."""

    rule: str
    type: str
    severity: Severity
    prefix: str | None
    message: str
    origin: int | None = None
    collector: str | None = None
    value: float | None = None
    threshold: float | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    #: The watched prefix when `prefix` is a more-specific seen inside it.
    parent: str | None = None
    #: The neighbour of the origin the finding is about (a route leak through it).
    upstream: int | None = None
    #: The Radar event (`hijack 1234`) or events poller (`hijack`) the finding is about, or a
    #: prefix of a synced AS (`AS64500 192.0.2.0/24`).
    event: str | None = None

    @property
    def subject(self) -> str:
        """The event, origin ASN, upstream ASN or collector the finding is about; empty for the
        prefix."""
        if self.event is not None:
            return self.event
        if self.origin is not None:
            return str(self.origin)
        if self.upstream is not None:
            return str(self.upstream)
        return self.collector or ""

    @property
    def key(self) -> AlertKey:
        """The alert identity: (rule, prefix, subject)."""
        return AlertKey(self.rule, self.prefix or "", self.subject)

    def to_json(self) -> dict[str, Any]:
        """The finding as printed by `once --format json` and served by the API."""
        return {
            "rule": self.rule,
            "type": self.type,
            "severity": self.severity.value,
            "prefix": self.prefix,
            "parent": self.parent,
            "origin": self.origin,
            "upstream": self.upstream,
            "event": self.event,
            "collector": self.collector,
            "value": self.value,
            "threshold": self.threshold,
            "message": self.message,
            "labels": dict(self.labels),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Finding:
        """The inverse of `to_json`; rows stored before `parent`, `upstream` and `event` get
        None."""
        return cls(
            rule=doc["rule"],
            type=doc["type"],
            severity=Severity(doc["severity"]),
            prefix=doc["prefix"],
            message=doc["message"],
            origin=doc["origin"],
            collector=doc["collector"],
            value=doc["value"],
            threshold=doc["threshold"],
            labels=doc.get("labels", {}),
            parent=doc.get("parent"),
            upstream=doc.get("upstream"),
            event=doc.get("event"),
        )
