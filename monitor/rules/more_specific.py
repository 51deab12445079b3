"""more_specific: a prefix announced inside a watched one (a sub-prefix hijack or a leak)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.core.finding import Finding
from monitor.core.measures import as_label, seen_by
from monitor.core.observation import OriginView, PrefixView, RpkiStatus
from monitor.core.target import Target
from monitor.rules.base import Rule
from monitor.validate import Section, boolean, one_of, positive_int

#: Which origins of a more-specific are judged.
ORIGINS = ("unexpected", "expected", "any")


@dataclass(frozen=True)
class MoreSpecificRule(Rule):
    """Fires per origin of a more-specific (a target with a `parent`) seen by `min_peers` peers.

    Options:
    - `origins`: `unexpected` (default: a sub-prefix hijack), `expected` (your own
      de-aggregation, or an internal route leaking) or `any`;
    - `min_peers` (2): peers that must see the more-specific from that origin;
    - `include_rpki_valid` (false): an unexpected origin the view reports RPKI valid was
      authorised by the holder (a scrubbing provider, say) and is dropped unless true.

    An expected origin up to the parent's `max_length` is legitimate. A parent with
    `ignore_more_specifics` is never judged, nor one without `origins` unless `origins: any`.
    Cost: linear in the view's origins (routes are not read).
    """

    type = "more_specific"
    origins: str = "unexpected"
    min_peers: int = 2
    include_rpki_valid: bool = False

    @classmethod
    def options(cls, section: Section) -> dict[str, Any]:
        return {
            "origins": section.get("origins", one_of(*ORIGINS), "unexpected"),
            "min_peers": section.get("min_peers", positive_int, 2),
            "include_rpki_valid": section.get("include_rpki_valid", boolean, False),
        }

    def evaluate(self, target: Target, view: PrefixView, now: datetime) -> Iterator[Finding]:
        if target.parent is None or target.ignore_more_specifics:
            return
        if not target.origins and self.origins != "any":
            return
        length = int(target.prefix.rpartition("/")[2])
        for o in view.origins:
            if o.visible_peers < self.min_peers:
                continue
            why = self._why(target, o, length)
            if why is None:
                continue
            who = as_label(o.origin, view.as_name(o.origin))
            expected = "expected" if o.origin in target.origins else "unexpected"
            yield self.finding(
                target,
                f"{target.prefix}, a more-specific of {target.parent}, is originated by "
                f"{expected} {who}, {seen_by(o.visibility, o.visible_peers, o.total_peers)}"
                f"{why}",
                origin=o.origin,
                value=float(o.visible_peers),
                threshold=float(self.min_peers),
            )

    def _why(self, target: Target, o: OriginView, length: int) -> str | None:
        """Why `o` announcing the more-specific is wrong (the message's end), or None if not."""
        if o.origin in target.origins:
            allowed = target.max_length
            if self.origins == "unexpected" or (allowed is not None and length <= allowed):
                return None
            if allowed is None:
                return f"; {target.parent} has no max_length, so no more-specific is expected"
            return f"; longer than its max_length /{allowed}"
        if self.origins == "expected":
            return None
        if o.rpki is RpkiStatus.VALID and not self.include_rpki_valid:
            return None
        if not target.origins:
            return ""
        return "; expected " + ", ".join(f"AS{a}" for a in sorted(target.origins))
