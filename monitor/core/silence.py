"""Silences: mute matching alerts for a while; they still show, marked silenced."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Silence:
    """Mutes matching alerts between `starts` and `ends`."""

    comment: str
    starts: datetime | None
    ends: datetime | None
    rule: str | None = None
    prefix: str | None = None
    origin: int | None = None
    collector: str | None = None

    def active(self, now: datetime) -> bool:
        """Whether the silence is in force at `now`."""
        return (self.starts is None or self.starts <= now) and (
            self.ends is None or now < self.ends
        )

    def matches(
        self, rule: str, prefix: str | None, origin: int | None, collector: str | None
    ) -> bool:
        """Whether every matcher given fits; a prefix matcher also covers more-specifics."""
        if self.rule is not None and rule != self.rule:
            return False
        if self.origin is not None and origin != self.origin:
            return False
        if self.collector is not None and collector != self.collector:
            return False
        if self.prefix is not None:
            if prefix is None:
                return False
            inner = ipaddress.ip_network(prefix)
            outer = ipaddress.ip_network(self.prefix)
            if inner.version != outer.version or not inner.subnet_of(outer):  # type: ignore[arg-type]
                return False
        return True
