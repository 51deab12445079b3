"""What every rule shares: severity, the finding it reports, and the common options."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from monitor.model import RadarAnswer
from monitor.validate import ConfigError, Section, labels, one_of, parse_duration, string


class Severity(enum.StrEnum):
    """How urgently on-call should act; also the routing key for notification channels."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a rule found wrong; (rule, prefix, subject) is its identity across cycles."""

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

    @property
    def subject(self) -> str:
        """The origin ASN or collector the finding is about, or empty for the prefix itself."""
        if self.origin is not None:
            return str(self.origin)
        return self.collector or ""

    @property
    def key(self) -> tuple[str, str, str]:
        """The alert identity: (rule, prefix, subject)."""
        return (self.rule, self.prefix or "", self.subject)

    def to_json(self) -> dict[str, Any]:
        """The finding as printed by `once --format json` and served by the API."""
        return {
            "rule": self.rule,
            "type": self.type,
            "severity": self.severity.value,
            "prefix": self.prefix,
            "origin": self.origin,
            "collector": self.collector,
            "value": self.value,
            "threshold": self.threshold,
            "message": self.message,
            "labels": dict(self.labels),
        }


@dataclass(frozen=True, slots=True)
class Target:
    """A watched prefix as the rules see it."""

    prefix: str
    origins: frozenset[int]
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """A configured rule; subclasses add their options and implement `evaluate`."""

    type: ClassVar[str]
    #: Rules about the source (collectors) rather than the prefix report `prefix=None`.
    per_prefix: ClassVar[bool] = True

    name: str
    severity: Severity
    for_: float = 0.0
    keep_firing_for: float = 0.0
    labels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def options(cls, section: Section) -> dict[str, Any]:
        """Read the type-specific options from `section` (subclasses extend)."""
        return {}

    @classmethod
    def from_section(cls, name: str, section: Section) -> Rule:
        """Build the rule from its YAML mapping; unknown keys are rejected by the caller."""
        return cls(
            name=name,
            severity=Severity(section.get("severity", one_of(*Severity))),
            for_=section.get("for", parse_duration, 0.0),
            keep_firing_for=section.get("keep_firing_for", parse_duration, 0.0),
            labels=section.get("labels", labels, {}),
            **cls.options(section),
        )

    def evaluate(self, target: Target, answer: RadarAnswer, now: datetime) -> Iterator[Finding]:
        """Yield what is wrong with `answer` for `target` at `now`."""
        raise NotImplementedError

    def finding(self, target: Target, message: str, **fields: Any) -> Finding:
        """A finding of this rule about `target`, carrying the rule's and prefix's labels."""
        return Finding(
            rule=self.name,
            type=self.type,
            severity=self.severity,
            prefix=target.prefix if self.per_prefix else None,
            message=message,
            labels={**target.labels, **self.labels} if self.per_prefix else dict(self.labels),
            **fields,
        )


def percent(ratio: float) -> str:
    """0.4567 → `45.7%`."""
    return f"{ratio * 100:.1f}%"


def origin_label(answer: RadarAnswer, asn: int) -> str:
    """`AS13335 (CLOUFLARENET)` or `AS13335` when Radar gave no name."""
    name = answer.as_name(asn)
    return f"AS{asn} ({name})" if name else f"AS{asn}"


def name_of(value: Any, path: str) -> str:
    """A rule name: non-empty text."""
    text = string(value, path)
    if not text.strip():
        raise ConfigError(path, "must not be empty")
    return text
