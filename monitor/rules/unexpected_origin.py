"""unexpected_origin: an AS not in the prefix's `origins` announces it (a possible hijack)."""

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
from monitor.validate import Section, boolean, positive_int, ratio


@dataclass(frozen=True)
class UnexpectedOriginRule(Rule):
    """Fires per unexpected origin seen by at least `min_visibility` and `min_peers` of the peers.

    The two floors filter noise such as one stray peer leaking a path; a prefix with no
    configured `origins` has nothing to compare against and never fires. An origin the view
    reports RPKI valid was authorised by the prefix's holder (a DDoS scrubbing provider, say)
    and is dropped unless `include_rpki_valid` is true. Cost: linear in the view's origins.
    """

    type = "unexpected_origin"
    on_snapshot = True
    min_visibility: float = 0.0
    min_peers: int = 1
    include_rpki_valid: bool = False

    @classmethod
    def options(cls, section: Section) -> dict[str, Any]:
        return {
            "min_visibility": section.get("min_visibility", ratio, 0.0),
            "min_peers": section.get("min_peers", positive_int, 1),
            "include_rpki_valid": section.get("include_rpki_valid", boolean, False),
        }

    def evaluate(self, target: Target, view: PrefixView, now: datetime) -> Iterator[Finding]:
        if not target.origins:
            return
        expected = ", ".join(f"AS{a}" for a in sorted(target.origins))
        for o in view.origins:
            if o.origin in target.origins:
                continue
            if o.visible_peers < self.min_peers or o.visibility < self.min_visibility:
                continue
            if o.rpki is RpkiStatus.VALID and not self.include_rpki_valid:
                continue
            who = as_label(o.origin, view.as_name(o.origin))
            yield self.finding(
                target,
                f"{target.prefix} originated by unexpected {who}, "
                f"{seen_by(o.visibility, o.visible_peers, o.total_peers)}; "
                f"expected {expected}",
                origin=o.origin,
                value=o.visibility,
                threshold=self.min_visibility,
            )
