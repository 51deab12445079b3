"""more_specific judges who announces a prefix inside a watched one: a sub-prefix hijack by
default, the owner's own more-specifics beyond `max_length` when asked, never a watched prefix."""

from __future__ import annotations

import pytest

from monitor.core.finding import Severity
from monitor.core.target import Target
from monitor.rules.more_specific import MoreSpecificRule
from tests.builders import NOW, answer, origin

PARENT = "192.0.2.0/23"
SLASH24 = "192.0.3.0/24"
SLASH25 = "192.0.2.128/25"
OWNER, HIJACKER = 64500, 666


def inside(prefix: str, max_length: int | None = 24, **kw: bool) -> Target:
    """`prefix` as a more-specific of PARENT, owned by OWNER, /24s allowed by default."""
    return Target(prefix, frozenset({OWNER}), {"team": "core"}, PARENT, max_length, **kw)


def rule(**options: str | int | bool) -> MoreSpecificRule:
    return MoreSpecificRule(name="sub-prefix", severity=Severity.CRITICAL, **options)  # type: ignore[arg-type]


def test_a_hijackers_slash_25_fires_naming_the_more_specific_its_parent_and_the_peers() -> None:
    view = answer(SLASH25, (origin(HIJACKER, 14, total=1000, rpki="invalid"),))
    [finding] = rule().evaluate(inside(SLASH25), view, NOW)
    assert (finding.prefix, finding.parent, finding.origin) == (SLASH25, PARENT, HIJACKER)
    assert finding.key == ("sub-prefix", SLASH25, "666")
    assert (finding.value, finding.threshold) == (14, 2)
    assert finding.labels == {"team": "core"}
    assert finding.message == (
        "192.0.2.128/25, a more-specific of 192.0.2.0/23, is originated by unexpected AS666 "
        "(NAME-666), seen by 1.4% of peers (14/1000); expected AS64500"
    )
    assert finding.to_json()["parent"] == PARENT and finding.to_json()["upstream"] is None


def test_a_watched_prefix_is_not_a_more_specific() -> None:
    view = answer(PARENT, (origin(HIJACKER, 400, rpki="invalid"),))
    watched = Target(PARENT, frozenset({OWNER}), max_length=24)
    assert list(rule(origins="any").evaluate(watched, view, NOW)) == []


@pytest.mark.parametrize(("min_peers", "fires"), [(None, False), (1, True)])
def test_one_peer_is_noise_by_default(min_peers: int | None, fires: bool) -> None:
    view = answer(SLASH25, (origin(HIJACKER, 1, rpki="invalid"),))
    options = {} if min_peers is None else {"min_peers": min_peers}
    assert bool(list(rule(**options).evaluate(inside(SLASH25), view, NOW))) is fires


@pytest.mark.parametrize(
    ("origins", "announced", "fires"),
    [
        # default: only a foreign origin (a sub-prefix hijack)
        ("unexpected", (OWNER, SLASH24), False),
        ("unexpected", (OWNER, SLASH25), False),
        ("unexpected", (HIJACKER, SLASH24), True),
        # the owner's own more-specifics, beyond max_length /24 only
        ("expected", (OWNER, SLASH24), False),
        ("expected", (OWNER, SLASH25), True),
        ("expected", (HIJACKER, SLASH25), False),
        ("any", (OWNER, SLASH24), False),
        ("any", (OWNER, SLASH25), True),
        ("any", (HIJACKER, SLASH24), True),
    ],
)
def test_which_origins_are_judged(origins: str, announced: tuple[int, str], fires: bool) -> None:
    asn, prefix = announced
    view = answer(prefix, (origin(asn, 300, rpki="unknown"),))
    found = list(rule(origins=origins).evaluate(inside(prefix), view, NOW))
    assert [f.origin for f in found] == ([asn] if fires else [])


def test_the_owners_more_specific_beyond_max_length_says_so() -> None:
    view = answer(SLASH25, (origin(OWNER, 300),))
    [finding] = rule(origins="expected").evaluate(inside(SLASH25), view, NOW)
    assert finding.message.endswith(
        "is originated by expected AS64500 (NAME-64500), seen by 30.0% of peers (300/1000); "
        "longer than its max_length /24"
    )
    [finding] = rule(origins="expected").evaluate(inside(SLASH24, None), view, NOW)
    assert finding.message.endswith(
        "; 192.0.2.0/23 has no max_length, so no more-specific is expected"
    )


@pytest.mark.parametrize("origins", ["unexpected", "expected", "any"])
def test_ignore_more_specifics_turns_every_finding_off(origins: str) -> None:
    view = answer(SLASH25, (origin(OWNER, 300), origin(HIJACKER, 300, rpki="invalid")))
    target = inside(SLASH25, ignore_more_specifics=True)
    assert list(rule(origins=origins).evaluate(target, view, NOW)) == []


@pytest.mark.parametrize(("include_rpki_valid", "fires"), [(False, False), (True, True)])
def test_an_rpki_valid_foreign_origin_is_authorised_unless_asked(
    include_rpki_valid: bool, fires: bool
) -> None:
    view = answer(SLASH25, (origin(64999, 300, rpki="valid"),))
    found = rule(include_rpki_valid=include_rpki_valid).evaluate(inside(SLASH25), view, NOW)
    assert bool(list(found)) is fires


def test_without_origins_only_any_judges() -> None:
    view = answer(SLASH25, (origin(HIJACKER, 300, rpki="invalid"),))
    target = Target(SLASH25, frozenset(), parent=PARENT)
    assert list(rule().evaluate(target, view, NOW)) == []
    assert list(rule(origins="expected").evaluate(target, view, NOW)) == []
    [finding] = rule(origins="any").evaluate(target, view, NOW)
    assert finding.message.endswith("seen by 30.0% of peers (300/1000)")
