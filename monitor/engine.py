"""Runs the configured rules over decoded answers and merges what they find."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from monitor.config import PrefixConfig
from monitor.model import RadarAnswer
from monitor.rules import Finding


def evaluate(watch: PrefixConfig, answer: RadarAnswer, now: datetime) -> list[Finding]:
    """Every finding of every rule that applies to `watch`."""
    target = watch.target
    return [f for rule in watch.rules for f in rule.evaluate(target, answer, now)]


def evaluate_cycle(
    watches: Iterable[PrefixConfig], answers: Mapping[str, RadarAnswer], now: datetime
) -> list[Finding]:
    """Findings over all answered prefixes; source-wide findings (collectors) appear once."""
    merged: dict[tuple[str, str, str], Finding] = {}
    for watch in watches:
        answer = answers.get(watch.prefix)
        if answer is None:
            continue
        for finding in evaluate(watch, answer, now):
            merged.setdefault(finding.key, finding)
    return list(merged.values())
