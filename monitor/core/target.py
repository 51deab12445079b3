"""A watched prefix as the rules, the evidence and the measures see it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Target:
    """The prefix, who may originate it, and the labels its findings carry."""

    prefix: str
    origins: frozenset[int]
    labels: Mapping[str, str] = field(default_factory=dict)
