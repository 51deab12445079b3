"""rpki_invalid: an origin of the prefix is RPKI-invalid (optionally: has no covering ROA)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.model import RadarAnswer, RpkiStatus
from monitor.rules.base import Finding, Rule, Target, origin_label, percent
from monitor.validate import Section, boolean


@dataclass(frozen=True)
class RpkiInvalidRule(Rule):
    """Fires per origin whose RPKI status is invalid, expected origin or not."""

    type = "rpki_invalid"
    include_unknown: bool = False

    @classmethod
    def options(cls, section: Section) -> dict[str, Any]:
        return {"include_unknown": section.get("include_unknown", boolean, False)}

    def evaluate(self, target: Target, answer: RadarAnswer, now: datetime) -> Iterator[Finding]:
        bad = (
            {RpkiStatus.INVALID, RpkiStatus.UNKNOWN}
            if self.include_unknown
            else {RpkiStatus.INVALID}
        )
        for o in answer.origins:
            if o.rpki in bad:
                expected = "expected" if o.origin in target.origins else "unexpected"
                yield self.finding(
                    target,
                    f"{target.prefix} originated by {origin_label(answer, o.origin)} ({expected}) "
                    f"is RPKI {o.rpki.value}, seen by {percent(o.visibility)} of peers "
                    f"({o.visible_peers}/{o.total_peers})",
                    origin=o.origin,
                    value=o.visibility,
                )
