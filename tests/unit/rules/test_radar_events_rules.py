"""radar_hijack and radar_leak: one finding per ongoing event Radar reports, hijacks from
`min_confidence` on, each naming the AS, the prefixes, the start and the link, and saying it
is Radar's classification; their options are checked with key paths."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.config import parse_config
from monitor.core.finding import Severity
from monitor.core.radar_event import EventKind, RadarEvent
from monitor.rules.radar_hijack import RadarHijackRule
from monitor.rules.radar_leak import RadarLeakRule
from monitor.validate import ConfigError

STARTED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
PREFIX = "prefixes: [{prefix: 192.0.2.0/24, origins: [64500]}]\n"


def hijack(event_id: int, confidence: int, *, ongoing: bool = True, n: int = 1) -> RadarEvent:
    prefixes = tuple(f"192.0.{i}.0/24" for i in range(n))
    return RadarEvent(
        EventKind.HIJACK, event_id, 64666, prefixes, STARTED, ongoing,
        asn_name="EVIL-NET", victims=(64500,), confidence=confidence,
    )  # fmt: skip


def test_hijacks_fire_from_min_confidence_on_while_ongoing() -> None:
    rule = RadarHijackRule(name="hijack", severity=Severity.CRITICAL, min_confidence=5)
    events = [hijack(1, 4), hijack(2, 5), hijack(3, 9, ongoing=False), hijack(4, 8)]
    findings = list(rule.judge_events(events))
    assert [f.subject for f in findings] == ["hijack 2", "hijack 4"]
    assert findings[0].key == ("hijack", "", "hijack 2")
    assert (findings[1].value, findings[1].threshold, findings[1].prefix) == (8.0, 5.0, None)


def test_a_hijack_message_says_whose_classification_it_is() -> None:
    rule = RadarHijackRule(name="hijack", severity=Severity.CRITICAL)
    [finding] = rule.judge_events([hijack(77, 8, n=7)])
    assert finding.message == (
        "Radar reports a BGP hijack (confidence 8, high) of AS64500 by AS64666 (EVIL-NET): "
        "192.0.0.0/24, 192.0.1.0/24, 192.0.2.0/24, 192.0.3.0/24, 192.0.4.0/24 and 2 more; "
        "since 2026-12-01 09:30:00 UTC. This is Radar's classification (event 77), not "
        "radar-monitor's own judgement: https://radar.cloudflare.com/routing/as64666"
    )


def test_leaks_fire_until_finished_and_name_the_segment() -> None:
    rule = RadarLeakRule(name="leak", severity=Severity.WARNING)
    leak = RadarEvent(
        EventKind.LEAK, 9, 64510, (), STARTED, True, segment=(174, 64510, 3356), more_prefixes=3
    )
    done = RadarEvent(EventKind.LEAK, 10, 64510, (), STARTED, False)
    [finding] = rule.judge_events([leak, done, hijack(1, 9)])
    assert finding.subject == "leak 9" and finding.value is None
    assert finding.message.startswith(
        "Radar reports a route leak by AS64510 (learnt from AS174, leaked to AS3356): "
        "3 prefixes (not listed by Radar); since 2026-12-01 09:30:00 UTC. This is Radar's "
        "classification"
    )


def test_the_options_load_with_their_defaults() -> None:
    config = parse_config(
        PREFIX
        + "rules:\n"
        + "  - {name: hijack, type: radar_hijack, severity: critical}\n"
        + "  - {name: leak, type: radar_leak, severity: warning, events_interval: 90s}\n"
        + "  - {name: strict, type: radar_hijack, severity: critical, min_confidence: 8,"
        + " events_interval: 1s}\n"
    )
    hijack_rule, leak_rule, strict = config.rules
    assert isinstance(hijack_rule, RadarHijackRule) and isinstance(strict, RadarHijackRule)
    assert (hijack_rule.min_confidence, hijack_rule.events_interval) == (5, 300.0)
    assert isinstance(leak_rule, RadarLeakRule) and leak_rule.events_interval == 90.0
    assert (strict.min_confidence, strict.events_interval) == (8, 1.0)


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ("events_interval: 500ms", "rules[0] (hijack).events_interval: must be at least 1s"),
        ("events_interval: soon", "rules[0] (hijack).events_interval: must be a duration"),
        ("min_confidence: 0", "rules[0] (hijack).min_confidence: must be a whole number"),
        ("min_confidenc: 3", "rules[0] (hijack).min_confidenc: unknown key; did you mean"),
    ],
)
def test_bad_options_name_their_key_path(options: str, problem: str) -> None:
    text = (
        PREFIX + f"rules: [{{name: hijack, type: radar_hijack, severity: critical, {options}}}]\n"
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, "cfg.yaml")
    assert problem in str(info.value)


def test_a_leak_rule_has_no_min_confidence() -> None:
    text = PREFIX + "rules: [{name: leak, type: radar_leak, severity: info, min_confidence: 3}]\n"
    with pytest.raises(ConfigError, match=r"rules\[0\] \(leak\)\.min_confidence: unknown key"):
        parse_config(text, "cfg.yaml")


def test_events_unreachable_is_a_built_in_name() -> None:
    text = PREFIX + "rules: [{name: events-unreachable, type: radar_leak, severity: info}]\n"
    with pytest.raises(ConfigError, match="built-in alert name"):
        parse_config(text, "cfg.yaml")
