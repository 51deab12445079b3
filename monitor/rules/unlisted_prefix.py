"""unlisted_prefix: a synced AS originates a prefix not watched before (BGPalerter's monitorAS)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from monitor.core.finding import Finding
from monitor.core.measures import clip, collapsed, path_text, utc_text
from monitor.core.observation import PrefixView
from monitor.core.origins import StreamOrigination, sync_subject
from monitor.core.target import Target
from monitor.rules.base import Rule


@dataclass(frozen=True)
class UnlistedPrefixRule(Rule):
    """Fires once per prefix an `asns:` entry's AS starts originating after its first sync.

    It judges syncs, not views: `evaluate` finds nothing in a prefix's view, and `judge_new`
    (called by the AS sync) names each newly originated prefix, which is watched from then on;
    `judge_seen` does the same, within seconds, for one the stream saw.
    A typo in one's own router config and a forgotten announcement both show up this way.
    """

    type = "unlisted_prefix"
    per_prefix = False

    def evaluate(self, target: Target, view: PrefixView, now: datetime) -> Iterator[Finding]:
        """Nothing: a prefix's view says nothing about what else its AS originates."""
        return iter(())

    def judge_new(
        self, asn: int, prefixes: list[str], labels: Mapping[str, str]
    ) -> Iterator[Finding]:
        """One finding per prefix `asn` newly originates (not watched, not excluded)."""
        for prefix in prefixes:
            yield self._finding(asn, prefix, labels, "")

    def judge_seen(self, seen: StreamOrigination, labels: Mapping[str, str]) -> Finding:
        """The finding of a prefix the stream saw `seen.asn` originate (not watched, not
        excluded): the sync's, saying where it was seen."""
        path = clip(path_text(collapsed(seen.as_path)), 160)
        where = f" (seen on RIS Live: path {path} at {seen.collector}, {utc_text(seen.seen_at)})"
        return self._finding(seen.asn, seen.prefix, labels, where)

    def _finding(self, asn: int, prefix: str, labels: Mapping[str, str], where: str) -> Finding:
        return Finding(
            rule=self.name,
            type=self.type,
            severity=self.severity,
            prefix=None,
            message=f"AS{asn} now originates {prefix}, which was not watched{where}; "
            "it is watched from now on",
            origin=asn,
            labels={**labels, **self.labels},
            event=sync_subject(asn, prefix),
        )
