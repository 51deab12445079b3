"""visibility_below counts only expected origins, and a prefix seen by nobody is at 0."""

from monitor.core.finding import Severity
from monitor.core.measures import expected_visibility
from monitor.core.target import Target
from monitor.rules.visibility_below import VisibilityBelowRule
from tests.builders import NOW, answer, origin

TARGET = Target("192.0.2.0/24", frozenset({64500, 64501}))
RULE = VisibilityBelowRule(name="low", severity=Severity.WARNING, threshold=0.8)


def test_sum_of_expected_origins_only() -> None:
    ans = answer(origins=(origin(64500, 500), origin(64501, 350), origin(666, 140)))
    assert expected_visibility(TARGET, ans) == (0.85, 850, 1000)
    assert list(RULE.evaluate(TARGET, ans, NOW)) == []


def test_hijacked_share_does_not_count_as_visible() -> None:
    ans = answer(origins=(origin(64500, 300), origin(666, 700)))
    [finding] = RULE.evaluate(TARGET, ans, NOW)
    assert (finding.value, finding.threshold) == (0.3, 0.8)
    assert finding.message == (
        "192.0.2.0/24 is visible to 30.0% of peers (300/1000 peers) through its expected "
        "origins, below 80.0%"
    )


def test_seen_by_nobody_is_zero() -> None:
    [finding] = RULE.evaluate(TARGET, answer(origins=()), NOW)
    assert finding.value == 0.0
    assert "no peer at all" in finding.message


def test_without_expected_origins_every_origin_counts() -> None:
    ans = answer(origins=(origin(64500, 500), origin(666, 400)))
    assert expected_visibility(Target("192.0.2.0/24", frozenset()), ans)[0] == 0.9
