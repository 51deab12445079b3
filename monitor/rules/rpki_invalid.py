"""rpki_invalid: an origin of the prefix is RPKI-invalid (optionally: has no covering ROA)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.core.finding import Finding
from monitor.core.measures import as_label, seen_by
from monitor.core.observation import PrefixView, RpkiStatus
from monitor.core.target import Target
from monitor.rules.base import Rule
from monitor.validate import Section, boolean


@dataclass(frozen=True)
class RpkiInvalidRule(Rule):
    """Fires per origin whose RPKI status is invalid, expected origin or not."""

    type = "rpki_invalid"
    on_snapshot = True
    include_unknown: bool = False

    @classmethod
    def options(cls, section: Section) -> dict[str, Any]:
        return {"include_unknown": section.get("include_unknown", boolean, False)}

    def evaluate(self, target: Target, view: PrefixView, now: datetime) -> Iterator[Finding]:
        bad = (
            {RpkiStatus.INVALID, RpkiStatus.UNKNOWN}
            if self.include_unknown
            else {RpkiStatus.INVALID}
        )
        for o in view.origins:
            if o.rpki in bad:
                expected = "expected" if o.origin in target.origins else "unexpected"
                who = as_label(o.origin, view.as_name(o.origin))
                seen = seen_by(o.visibility, o.visible_peers, o.total_peers)
                yield self.finding(
                    target,
                    f"{target.prefix} originated by {who} ({expected}) "
                    f"is RPKI {o.rpki.value}, {seen}",
                    origin=o.origin,
                    value=o.visibility,
                )
