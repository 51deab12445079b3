"""rpki_invalid reports every invalid origin, expected or not; unknown only when asked."""

from monitor.core.finding import Severity
from monitor.core.target import Target
from monitor.rules.rpki_invalid import RpkiInvalidRule
from tests.builders import NOW, answer, origin

TARGET = Target("192.0.2.0/24", frozenset({64500}), {"team": "core"})


def test_invalid_origins_fire_expected_or_not() -> None:
    rule = RpkiInvalidRule(name="rpki", severity=Severity.CRITICAL)
    ans = answer(
        origins=(
            origin(64500, 900, rpki="INVALID_ASN"),
            origin(64666, 120, rpki="invalid"),
            origin(64777, 50, rpki="valid"),
        )
    )
    found = list(rule.evaluate(TARGET, ans, NOW))
    assert [f.origin for f in found] == [64500, 64666]
    assert found[0].message == (
        "192.0.2.0/24 originated by AS64500 (NAME-64500) (expected) is RPKI invalid, "
        "seen by 90.0% of peers (900/1000)"
    )
    assert "(unexpected)" in found[1].message
    assert found[1].key == ("rpki", "192.0.2.0/24", "64666")
    assert found[0].labels == {"team": "core"}


def test_unknown_only_with_include_unknown() -> None:
    ans = answer(origins=(origin(64500, 900, rpki="not-found"), origin(64501, 9, rpki="NotFound")))
    strict = RpkiInvalidRule(name="rpki", severity=Severity.CRITICAL)
    loose = RpkiInvalidRule(name="rpki", severity=Severity.CRITICAL, include_unknown=True)
    assert list(strict.evaluate(TARGET, ans, NOW)) == []
    assert [f.origin for f in loose.evaluate(TARGET, ans, NOW)] == [64500, 64501]
