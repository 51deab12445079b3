"""upstream: the prefix reaches the world through a neighbour of its origin not listed (a leak)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.core.finding import Finding
from monitor.core.measures import as_label, path_samples
from monitor.core.observation import PrefixView, RouteView
from monitor.core.target import Target
from monitor.rules.base import Rule
from monitor.validate import Section, parse_asn, positive_int


def origin_and_upstream(path: tuple[int, ...]) -> tuple[int, int] | None:
    """(origin, the AS before it), prepends collapsed; None when the origin is the only AS."""
    if not path:
        return None
    origin = path[-1]
    for asn in reversed(path):
        if asn != origin:
            return origin, asn
    return None


@dataclass(frozen=True)
class UpstreamRule(Rule):
    """Fires per (prefix, unexpected upstream) seen on at least `min_peers` paths: a leak.

    Options:
    - `upstreams`: the allowed neighbours of the origin (the AS just before it, prepends
      collapsed), usually per prefix (`rules: {new-upstream: {upstreams: [174]}}`); a prefix
      without the list is not judged;
    - `min_peers` (2): paths through the same unexpected upstream.

    Only paths from an expected origin are judged when the prefix has `origins` (another origin
    is `unexpected_origin`'s finding, not a leak). Cost: linear in the routes, each path read
    from the origin back to its neighbour only.
    """

    type = "upstream"
    upstreams: frozenset[int] = frozenset()
    min_peers: int = 2

    @classmethod
    def options(cls, section: Section) -> dict[str, Any]:
        return {
            "upstreams": frozenset(section.each("upstreams", parse_asn)),
            "min_peers": section.get("min_peers", positive_int, 2),
        }

    def evaluate(self, target: Target, view: PrefixView, now: datetime) -> Iterator[Finding]:
        if not self.upstreams:
            return
        through: dict[int, list[RouteView]] = {}
        origins: dict[int, set[int]] = {}
        for route in view.routes:
            pair = origin_and_upstream(route.as_path)
            if pair is None:
                continue
            origin, upstream = pair
            if upstream in self.upstreams or (target.origins and origin not in target.origins):
                continue
            through.setdefault(upstream, []).append(route)
            origins.setdefault(upstream, set()).add(origin)
        allowed = ", ".join(f"AS{a}" for a in sorted(self.upstreams))
        for upstream in sorted(through):
            routes = through[upstream]
            if len(routes) < self.min_peers:
                continue
            who = as_label(upstream, view.as_name(upstream))
            of = ", ".join(as_label(o, view.as_name(o)) for o in sorted(origins[upstream]))
            yield self.finding(
                target,
                f"{target.prefix} is reached through unexpected upstream {who} of {of} on "
                f"{len(routes)} of {len(view.routes)} paths, e.g. {path_samples(routes)}; "
                f"allowed upstreams {allowed}",
                upstream=upstream,
                value=float(len(routes)),
                threshold=float(self.min_peers),
            )
