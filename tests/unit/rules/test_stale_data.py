"""stale_data fires when Radar's data_time lags, and stays quiet without a data_time."""

from datetime import timedelta

from monitor.core.finding import Severity
from monitor.core.target import Target
from monitor.rules.stale_data import StaleDataRule
from tests.builders import NOW, answer

TARGET = Target("192.0.2.0/24", frozenset({64500}))
RULE = StaleDataRule(name="radar-behind", severity=Severity.WARNING, max_age=900)


def test_old_data_fires() -> None:
    [finding] = RULE.evaluate(TARGET, answer(data_age=timedelta(minutes=20)), NOW)
    assert (finding.prefix, finding.value, finding.threshold) == ("192.0.2.0/24", 1200, 900)
    assert "20m old" in finding.message


def test_fresh_or_missing_data_time_is_quiet() -> None:
    assert list(RULE.evaluate(TARGET, answer(data_age=timedelta(minutes=5)), NOW)) == []
    assert list(RULE.evaluate(TARGET, answer(data_age=None), NOW)) == []
