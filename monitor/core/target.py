"""A watched prefix as the rules, the evidence and the measures see it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Target:
    """The prefix, who may originate it, and the labels its findings carry.

    A more-specific seen inside a watched prefix is a target of its own: `parent` names the
    watched prefix, and it inherits the parent's origins, labels and more-specific settings.
    """

    prefix: str
    origins: frozenset[int]
    labels: Mapping[str, str] = field(default_factory=dict)
    #: The watched prefix this target is a more-specific of; None for a watched prefix.
    parent: str | None = None
    #: Like a ROA's maxLength: more-specifics from an expected origin up to this length are
    #: legitimate (None: none is).
    max_length: int | None = None
    #: The operator's "more-specifics of this prefix are none of my business".
    ignore_more_specifics: bool = False
