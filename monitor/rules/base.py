"""What every rule shares: the common options, and how a rule turns a view into findings."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from monitor.core.finding import Finding, Severity
from monitor.core.observation import PrefixView
from monitor.core.target import Target
from monitor.validate import Section, labels, one_of, parse_duration


@dataclass(frozen=True)
class Rule:
    """A configured rule; subclasses add their options and implement `evaluate`."""

    type: ClassVar[str]
    #: Rules about the source (collectors) rather than the prefix report `prefix=None`.
    per_prefix: ClassVar[bool] = True
    #: Whether the rule judges a snapshot view too (origins, RPKI and peer counts only).
    on_snapshot: ClassVar[bool] = False

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

    def evaluate(self, target: Target, view: PrefixView, now: datetime) -> Iterator[Finding]:
        """Yield what is wrong with `view` for `target` at `now`."""
        raise NotImplementedError

    def finding(self, target: Target, message: str, **fields: Any) -> Finding:
        """A finding about `target` with its and the rule's labels, and its `parent` if any."""
        return Finding(
            rule=self.name,
            type=self.type,
            severity=self.severity,
            prefix=target.prefix if self.per_prefix else None,
            message=message,
            labels={**target.labels, **self.labels} if self.per_prefix else dict(self.labels),
            parent=target.parent if self.per_prefix else None,
            **fields,
        )
