"""stale_collector: one finding per stale collector, streams chosen, missing feeds not stale."""

from datetime import timedelta

from monitor.config import parse_config
from monitor.core.finding import Severity
from monitor.core.target import Target
from monitor.pipeline import judge, merge_findings
from monitor.rules.stale_collector import StaleCollectorRule
from tests.builders import NOW, answer, collector, origin

TARGET = Target("192.0.2.0/24", frozenset({64500}))
COLLECTORS = (
    collector("rrc00", timedelta(minutes=5)),
    collector("rrc01", timedelta(hours=2), updates_age=timedelta(minutes=1)),
    collector("route-views2", None),
)


def test_only_old_feeds_fire_and_missing_is_not_stale() -> None:
    rule = StaleCollectorRule(name="stale", severity=Severity.WARNING, max_age=1800)
    [finding] = rule.evaluate(TARGET, answer(collectors=COLLECTORS), NOW)
    assert finding.collector == "rrc01"
    assert finding.prefix is None
    assert finding.value == 7200
    assert finding.message == "collector rrc01 realtime data is 2h old (limit 30m)"


def test_stream_and_collector_filter() -> None:
    updates = StaleCollectorRule(
        name="s", severity=Severity.WARNING, max_age=1800, stream="updates"
    )
    assert list(updates.evaluate(TARGET, answer(collectors=COLLECTORS), NOW)) == []
    only = StaleCollectorRule(
        name="s", severity=Severity.WARNING, max_age=60, collectors=frozenset({"rrc00"})
    )
    assert [f.collector for f in only.evaluate(TARGET, answer(collectors=COLLECTORS), NOW)] == [
        "rrc00"
    ]


def test_one_finding_per_collector_across_prefixes() -> None:
    config = parse_config(
        """
prefixes:
  - {prefix: 192.0.2.0/24, origins: [64500]}
  - {prefix: 198.51.100.0/24, origins: [64500]}
  - {prefix: 203.0.113.0/24, origins: [64500], rules: {stale: false}}
rules:
  - {name: stale, type: stale_collector, max_age: 30m, severity: warning, collectors: [RRC01]}
"""
    )
    answers = {
        p.prefix: answer(prefix=p.prefix, origins=(origin(64500, 900),), collectors=COLLECTORS)
        for p in config.prefixes
    }
    findings = merge_findings(judge(p, answers[p.prefix], NOW) for p in config.prefixes)
    assert [(f.rule, f.prefix, f.collector) for f in findings] == [("stale", None, "rrc01")]
