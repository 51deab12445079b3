"""unexpected_origin fires for foreign origins above both noise floors, never for MOAS, and not
for an origin RPKI says the holder authorised (unless asked)."""

import pytest

from monitor.core.finding import Severity
from monitor.core.target import Target
from monitor.rules.unexpected_origin import UnexpectedOriginRule
from tests.builders import NOW, answer, origin

TARGET = Target("192.0.2.0/24", frozenset({64500, 64501}))


def rule(**options: float | bool) -> UnexpectedOriginRule:
    return UnexpectedOriginRule(name="hijack", severity=Severity.CRITICAL, **options)  # type: ignore[arg-type]


def test_listed_origins_are_legitimate_moas() -> None:
    ans = answer(origins=(origin(64500, 500), origin(64501, 480)))
    assert list(rule().evaluate(TARGET, ans, NOW)) == []


def test_foreign_origin_fires_with_details() -> None:
    ans = answer(origins=(origin(64500, 500), origin(666, 300, rpki="invalid")))
    [finding] = rule(min_visibility=0.01).evaluate(TARGET, ans, NOW)
    assert finding.origin == 666
    assert finding.value == 0.3
    assert finding.threshold == 0.01
    assert finding.message == (
        "192.0.2.0/24 originated by unexpected AS666 (NAME-666), seen by 30.0% of peers "
        "(300/1000); expected AS64500, AS64501"
    )


@pytest.mark.parametrize(
    ("options", "fires"),
    [
        ({}, True),
        ({"min_peers": 2}, False),
        ({"min_visibility": 0.01}, False),
        ({"min_visibility": 0.001}, True),
    ],
)
def test_one_stray_peer_is_filterable(options: dict[str, float], fires: bool) -> None:
    ans = answer(origins=(origin(64500, 999), origin(666, 1, rpki="unknown")))
    assert bool(list(rule(**options).evaluate(TARGET, ans, NOW))) is fires


def test_prefix_without_expected_origins_never_fires() -> None:
    ans = answer(origins=(origin(666, 900),))
    assert list(rule().evaluate(Target("192.0.2.0/24", frozenset()), ans, NOW)) == []


@pytest.mark.parametrize(
    ("rpki", "include_rpki_valid", "fires"),
    [
        ("valid", False, False),  # a scrubbing provider the holder signed a ROA for
        ("valid", True, True),
        ("invalid", False, True),
        ("unknown", False, True),  # no ROA: nothing says it was authorised
    ],
)
def test_an_rpki_valid_unexpected_origin_is_dropped_unless_asked(
    rpki: str, include_rpki_valid: bool, fires: bool
) -> None:
    ans = answer(origins=(origin(64500, 900), origin(64999, 400, rpki=rpki)))
    found = list(rule(include_rpki_valid=include_rpki_valid).evaluate(TARGET, ans, NOW))
    assert [f.origin for f in found] == ([64999] if fires else [])
