"""as_path: a path of the prefix matches a pattern or has an unlikely length (a leak, a detour)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.core.finding import Finding
from monitor.core.measures import collapsed, path_samples, path_text
from monitor.core.observation import PrefixView, RouteView
from monitor.core.target import Target
from monitor.rules.base import Rule
from monitor.validate import ConfigError, Section, describe_value, positive_int, string

#: The longest pattern accepted: a path rule is a line, not a program.
MAX_PATTERN = 512
#: Paths longer than this (after collapsing prepends) are judged by length only, so that one
#: hostile path keeps every match bounded; BGP carries at most 255 ASes in one segment.
MAX_HOPS = 255


def pattern(value: Any, path: str) -> re.Pattern[str]:
    """A regular expression over a path written `6447 174 13335`, compiled once at load."""
    text = string(value, path)
    if len(text) > MAX_PATTERN:
        raise ConfigError(path, f"must be at most {MAX_PATTERN} characters, got {len(text)}")
    try:
        return re.compile(text)
    except re.error as exc:
        raise ConfigError(
            path, f"is not a valid regular expression: {exc.msg} at position {exc.pos}"
        ) from None


def hops(value: Any, path: str) -> int:
    """A path length in ASes, 1 to `MAX_HOPS`."""
    n = positive_int(value, path)
    if n > MAX_HOPS:
        raise ConfigError(path, f"must be at most {MAX_HOPS} hops, got {describe_value(value)}")
    return n


@dataclass(frozen=True)
class AsPathRule(Rule):
    """Fires once per prefix when at least `min_peers` of its routes have a wrong path.

    A path is written collector side first, origin last, prepends collapsed, ASNs separated by
    single spaces (`6447 174 13335`). It is wrong when it meets every condition given:
    - `match`: a Python regular expression that finds it (searched: anchor with `^`, `$`);
    - `not_match`: one that does not;
    - `max_length` / `min_length`: it is longer than the one or shorter than the other, in ASes.
    At least one of these is required; `min_peers` (1) counts routes. Patterns are compiled
    when the config loads. Cost: linear in the routes, each distinct path judged once per
    evaluation (about 1.6 µs with a pattern, 0.5 µs on length alone: bench/bench_path_rules.py).
    """

    type = "as_path"
    match: re.Pattern[str] | None = None
    not_match: re.Pattern[str] | None = None
    max_length: int | None = None
    min_length: int | None = None
    min_peers: int = 1

    @classmethod
    def options(cls, section: Section) -> dict[str, Any]:
        low: int | None = section.get("min_length", hops, None)
        high: int | None = section.get("max_length", hops, None)
        given = ("match", "not_match", "max_length", "min_length")
        if not any(section.has(key) for key in given):
            section.report(None, "needs at least one of match, not_match, max_length, min_length")
        if low is not None and high is not None and low > high:
            section.report("min_length", f"must not be above max_length ({high}), got {low}")
        return {
            "match": section.get("match", pattern, None),
            "not_match": section.get("not_match", pattern, None),
            "max_length": high,
            "min_length": low,
            "min_peers": section.get("min_peers", positive_int, 1),
        }

    def evaluate(self, target: Target, view: PrefixView, now: datetime) -> Iterator[Finding]:
        verdicts: dict[tuple[int, ...], bool] = {}
        wrong: list[RouteView] = []
        for route in view.routes:
            verdict = verdicts.get(route.as_path)
            if verdict is None:
                verdict = verdicts[route.as_path] = self.wrong(collapsed(route.as_path))
            if verdict:
                wrong.append(route)
        if wrong and len(wrong) >= self.min_peers:
            yield self.finding(
                target,
                f"{target.prefix}: {len(wrong)} of {len(view.routes)} paths {self.conditions()}"
                f", e.g. {path_samples(wrong)}",
                value=float(len(wrong)),
                threshold=float(self.min_peers),
            )

    def wrong(self, path: tuple[int, ...]) -> bool:
        """Whether the collapsed `path` meets every condition of the rule."""
        if not path:
            return False
        if self.max_length is not None or self.min_length is not None:
            too_long = self.max_length is not None and len(path) > self.max_length
            too_short = self.min_length is not None and len(path) < self.min_length
            if not (too_long or too_short):
                return False
        if self.match is None and self.not_match is None:
            return True
        if len(path) > MAX_HOPS:
            return self.max_length is not None or self.min_length is not None
        text = path_text(path)
        if self.match is not None and self.match.search(text) is None:
            return False
        return self.not_match is None or self.not_match.search(text) is None

    def conditions(self) -> str:
        """`match "^174 " and are longer than 8 hops`: what the wrong paths have in common."""
        parts = []
        if self.match is not None:
            parts.append(f'match "{self.match.pattern}"')
        if self.not_match is not None:
            parts.append(f'do not match "{self.not_match.pattern}"')
        lengths = []
        if self.max_length is not None:
            lengths.append(f"longer than {self.max_length}")
        if self.min_length is not None:
            lengths.append(f"shorter than {self.min_length}")
        if lengths:
            parts.append(f"are {' or '.join(lengths)} hops")
        return " and ".join(parts) + " (prepends collapsed)"
