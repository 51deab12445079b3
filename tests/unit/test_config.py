"""Configuration: the example loads, and every kind of mistake names file, key path and problem."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from monitor.config import config_warnings, load_config, parse_config
from monitor.core.finding import Severity
from monitor.rules.stale_collector import StaleCollectorRule
from monitor.rules.visibility_below import VisibilityBelowRule
from monitor.validate import ConfigError
from tests.paths import EXAMPLE_CONFIG

BASE = """
prefixes:
  - prefix: 192.0.2.0/24
    origins: [64500]
rules:
  - {name: rpki-invalid, type: rpki_invalid, severity: critical}
  - {name: low-visibility, type: visibility_below, threshold: 0.8, for: 5m, severity: warning}
  - {name: stale, type: stale_collector, max_age: 30m, severity: warning}
"""
#: How errors name the prefix of BASE: by index, then the prefix as written.
PREFIX = "prefixes[0] (192.0.2.0/24)"


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "cfg.yaml")
    return str(info.value)


def test_example_config_loads() -> None:
    config = load_config(EXAMPLE_CONFIG)
    assert [p.prefix for p in config.prefixes] == [
        "1.1.1.0/24",
        "2606:4700:4700::/48",
        "192.0.2.0/24",
    ]
    first = config.prefixes[0]
    assert first.origins == frozenset({13335})
    assert first.labels == {"team": "edge"}
    # stale-collectors is disabled for 1.1.1.0/24 and low-visibility is overridden to 0.5.
    assert "stale-collectors" not in [r.name for r in first.rules]
    low = next(r for r in first.rules if r.name == "low-visibility")
    assert isinstance(low, VisibilityBelowRule)
    assert low.threshold == 0.5
    assert low.for_ == 300.0
    other = next(r for r in config.prefixes[1].rules if r.name == "low-visibility")
    assert isinstance(other, VisibilityBelowRule) and other.threshold == 0.8


def test_defaults() -> None:
    config = parse_config(BASE)
    assert config.source.base_url == "https://api.cloudflare.com/client/v4"
    assert config.source.interval == 60
    assert config.source.concurrency == 4
    assert config.source.budget == 1000
    assert config.source.max_body_bytes == 32 * 1024 * 1024
    stale = config.rules[2]
    assert isinstance(stale, StaleCollectorRule) and stale.stream == "realtime"
    assert stale.max_age == 1800


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            BASE.replace("threshold: 0.8", "threshold: 1.5"),
            "cfg.yaml: rules[1] (low-visibility).threshold: must be between 0 and 1, got 1.5",
        ),
        (
            BASE.replace("type: rpki_invalid", "type: rpki_bogus"),
            "rules[0] (rpki-invalid).type: unknown rule type",
        ),
        (
            BASE.replace("name: stale,", "name: rpki-invalid,"),
            "rules[2] (rpki-invalid).name: duplicate rule name",
        ),
        (BASE.replace("192.0.2.0/24", "192.0.2.1/24"), "prefixes[0].prefix: has host bits set"),
        (BASE.replace("192.0.2.0/24", "banana"), "prefixes[0].prefix: must be a prefix"),
        (BASE.replace("[64500]", "[0]"), f"{PREFIX}.origins[0]: must be an AS number"),
        (BASE.replace("[64500]", "[4294967296]"), f"{PREFIX}.origins[0]: must be an AS number"),
        (
            BASE.replace("for: 5m", "for: 5 minutes"),
            "rules[1] (low-visibility).for: must be a duration",
        ),
        (
            BASE.replace("max_age: 30m", "max_age: -3s"),
            "rules[2] (stale).max_age: must be a duration",
        ),
        (
            BASE.replace("severity: warning}", "severity: urgent}", 1),
            "rules[1] (low-visibility).severity: must be one of",
        ),
        (
            BASE.replace("origins: [64500]", "origins: [64500]\n    colour: red"),
            f"{PREFIX}.colour: unknown key (known keys: description, ignore_more_specifics, labels, "
            "max_length, origins, prefix, rules, tier)",
        ),
        (
            BASE.replace("threshold: 0.8,", "treshold: 0.8,"),
            'rules[1] (low-visibility).treshold: unknown key; did you mean "threshold"?',
        ),
        (BASE + "extra: 1\n", "cfg.yaml: extra: unknown key"),
        (
            BASE.replace("origins: [64500]", "origins: [64500]\n    rules: {nope: false}"),
            f"{PREFIX}.rules.nope: no rule named 'nope'",
        ),
        (
            BASE.replace(
                "origins: [64500]", "origins: [64500]\n    rules: {low-visibility: {threshold: 2}}"
            ),
            f"{PREFIX}.rules.low-visibility.threshold: must be between 0 and 1, got 2",
        ),
        (
            BASE.replace(
                "origins: [64500]",
                "origins: [64500]\n    rules: {low-visibility: {type: stale_data}}",
            ),
            f"{PREFIX}.rules.low-visibility.type: a prefix may not change",
        ),
        (BASE + "source: {interval: 0s}\n", "source.interval: must be at least 1s"),
        (
            BASE + "source: {concurrency: 0}\n",
            "source.concurrency: must be a whole number of at least 1",
        ),
        (BASE + "source: {base_url: ftp://x}\n", "source.base_url: must be an http(s) URL"),
        ("", "cfg.yaml: the file is empty"),
        ("prefixes: [\n", "cfg.yaml: line"),
        ("\x1f", "cfg.yaml: invalid YAML: unacceptable character #x001f"),
        ("- 1\n- 2\n", "(top level): must be a mapping"),
        (
            BASE + "source: {token_file: '${RADAR_MONITOR_UNSET_VAR}'}\n",
            "environment variable RADAR_MONITOR_UNSET_VAR is not set",
        ),
    ],
)
def test_errors_name_file_key_and_problem(text: str, expected: str) -> None:
    assert expected in error_of(text)


def test_duplicate_prefix_after_canonicalisation() -> None:
    text = BASE.replace(
        "    origins: [64500]\n",
        "    origins: [64500]\n  - prefix: 2001:DB8::/32\n  - prefix: 2001:db8:0::/32\n",
    )
    assert (
        "prefixes[2] (2001:db8:0::/32).prefix: duplicate prefix 2001:db8::/32"
        " (also prefixes[1] (2001:DB8::/32))"
    ) in error_of(text)


def test_env_interpolation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RADAR_TOKEN_PATH", str(tmp_path / "token"))
    config = parse_config(BASE + "source: {token_file: '${RADAR_TOKEN_PATH}'}\n")
    assert config.source.token_file == tmp_path / "token"


def test_durations_and_asn_spellings() -> None:
    config = parse_config(
        BASE.replace("for: 5m", "for: 90s").replace("[64500]", "[AS64500, 64501]")
        + "source: {interval: 1h, timeout: 250ms}\n"
    )
    assert config.rules[1].for_ == 90
    assert config.source.interval == 3600
    assert config.source.timeout == 0.25
    assert config.prefixes[0].origins == frozenset({64500, 64501})


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")


def test_config_is_frozen() -> None:
    config = parse_config(BASE)
    with pytest.raises(AttributeError):
        config.prefixes[0].prefix = "x"  # type: ignore[misc]


def test_safe_loading_refuses_python_tags() -> None:
    assert "invalid YAML" in error_of("a: !!python/object/apply:os.system ['true']\n")


def test_round_trip_of_every_rule_option() -> None:
    data = yaml.safe_load(BASE)
    data["rules"].append(
        {
            "name": "stale-data",
            "type": "stale_data",
            "max_age": "15m",
            "severity": "info",
            "keep_firing_for": "10m",
            "labels": {"runbook": "x"},
        }
    )
    config = parse_config(yaml.safe_dump(data))
    rule = config.rules[3]
    assert (rule.keep_firing_for, dict(rule.labels)) == (600.0, {"runbook": "x"})


DAEMON = """
notifications:
  repeat_interval: 2h
  send_resolved: false
  channels:
    - {name: pager, url: "json://127.0.0.1:1/x", severities: [critical]}
    - {name: noc, url_file: URL_FILE, rules: [low-visibility, source-unreachable]}
http: {listen: "[::1]:9999"}
state: {path: /var/tmp/x.db}
silences:
  - matchers: {prefix: 192.0.2.0/23, rule: low-visibility}
    starts: 2026-12-01T02:00:00Z
    ends: 2026-12-01T04:00:00Z
    comment: planned maintenance
  - {matchers: {origin: AS666}, until: "2026-12-24T00:00:00", comment: known lab ASN}
"""


def test_daemon_sections(tmp_path: Path) -> None:
    url_file = tmp_path / "url"
    url_file.write_text("mailto://user:pw@example.org\n")
    config = parse_config(BASE + DAEMON.replace("URL_FILE", str(url_file)))
    n = config.notifications
    assert (n.repeat_interval, n.send_resolved) == (7200, False)
    pager, noc = n.channels
    assert pager.routes("rpki-invalid", Severity.CRITICAL)
    assert not pager.routes("rpki-invalid", Severity.WARNING)
    assert noc.url.reveal() == "mailto://user:pw@example.org"
    assert "pw" not in repr(noc)
    assert noc.routes("low-visibility", Severity.INFO) and not noc.routes(
        "rpki-invalid", Severity.INFO
    )
    assert (config.http.host, config.http.port) == ("::1", 9999)
    assert config.state.path == Path("/var/tmp/x.db")
    maintenance, lab = config.silences
    assert maintenance.active(datetime(2026, 12, 1, 3, tzinfo=UTC))
    assert not maintenance.active(datetime(2026, 12, 1, 4, tzinfo=UTC))
    assert maintenance.matches("low-visibility", "192.0.2.0/24", None, None)
    assert lab.origin == 666 and lab.ends == datetime(2026, 12, 24, tzinfo=UTC)


def test_state_defaults_to_the_systemd_state_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/radar-monitor")
    assert parse_config(BASE).state.path == Path("/var/lib/radar-monitor/state.db")
    monkeypatch.delenv("STATE_DIRECTORY")
    assert parse_config(BASE).state.path == Path("radar-monitor-state.db")


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            "notifications: {channels: [{name: a}]}",
            "notifications.channels[0] (a): needs exactly one of url or url_file",
        ),
        (
            "notifications: {channels: [{name: a, url: x, severities: [loud]}]}",
            "notifications.channels[0] (a).severities[0]: must be one of",
        ),
        (
            "notifications: {channels: [{name: a, url: x, rules: [nope]}]}",
            "notifications.channels[0] (a).rules[0]: no rule named 'nope'",
        ),
        (
            "notifications: {channels: [{name: a, url_file: /nonexistent}]}",
            "notifications.channels[0] (a).url_file: cannot read",
        ),
        ("http: {listen: 9847}", "http.listen: must be a string"),
        ("http: {listen: 'localhost'}", "http.listen: must be HOST:PORT"),
        (
            "silences: [{matchers: {}, comment: x}]",
            "silences[0].matchers: needs at least one matcher",
        ),
        (
            "silences: [{matchers: {rule: nope}, comment: x}]",
            "silences[0].matchers.rule: no rule named",
        ),
        (
            "silences: [{matchers: {origin: 0}, comment: x}]",
            "silences[0].matchers.origin: must be an AS number",
        ),
        (
            "silences: [{matchers: {rule: stale}, comment: x, starts: tomorrow}]",
            "silences[0].starts: must be a time",
        ),
        (
            "silences: [{matchers: {rule: stale}, comment: x, starts: '2026-12-02T00:00:00Z', ends: '2026-12-01T00:00:00Z'}]",
            "silences[0].ends: must be after starts",
        ),
        (
            "rules: [{name: source-auth, type: stale_data, max_age: 1m, severity: info}]",
            "'source-auth' is a built-in alert name",
        ),
    ],
)
def test_daemon_section_errors(section: str, expected: str) -> None:
    text = BASE + section + "\n"
    if section.startswith("rules:"):
        text = section + "\n"
    assert expected in error_of(text)


# --- what an operator trips over (issue: no silent loss) -----------------------------------

ONE_PREFIX = "prefixes: [{prefix: 192.0.2.0/24, origins: [64500]}]\n"
ONE_RULE = "rules: [{name: rpki, type: rpki_invalid, severity: critical}]\n"


def test_a_key_given_twice_is_an_error_naming_both_lines() -> None:
    text = "prefixes:\n  - prefix: 192.0.2.0/24\n    origins: [64500]\n    origins: [666]\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text + ONE_RULE)
    assert str(info.value) == "line 4: duplicate key 'origins' (first given on line 3)"


def test_a_quoted_asn_is_an_asn() -> None:
    config = parse_config('prefixes: [{prefix: 192.0.2.0/24, origins: ["13335", AS64500]}]\n')
    assert config.prefixes[0].origins == {13335, 64500}


def test_a_channel_url_apprise_refuses_is_a_config_error_without_the_url() -> None:
    channels = 'notifications: {channels: [{name: slack, url: "slak://abc/def/s3cr3t-part"}]}\n'
    with pytest.raises(ConfigError) as info:
        parse_config(ONE_PREFIX + ONE_RULE + channels)
    message = str(info.value)
    assert message.startswith(
        "notifications.channels[0] (slack).url: channel 'slack': Apprise does not"
    )
    assert "s3cr3t" not in message and "slak" not in message


def test_channels_route_by_prefix_labels() -> None:
    config = parse_config(
        ONE_PREFIX
        + ONE_RULE
        + 'notifications: {channels: [{name: edge, url: "json://127.0.0.1:9/x", '
        "labels: {team: edge}}]}\n"
    )
    [edge] = config.notifications.channels
    assert edge.routes("rpki", Severity.CRITICAL, {"team": "edge", "site": "fra1"})
    assert not edge.routes("rpki", Severity.CRITICAL, {"team": "core"})
    assert not edge.routes("rpki", Severity.CRITICAL, {})


def test_warnings_for_a_config_that_watches_judges_or_tells_nobody() -> None:
    assert config_warnings(parse_config("prefixes: []\n")) == [
        "no prefixes are watched (prefixes: is empty)",
        "no rules are configured: nothing will ever fire (rules: is empty)",
        "no notification channels: alerts show in /metrics, /api/v1/alerts and the status "
        "page, but nobody is told (see notifications.channels)",
    ]
    told = 'notifications: {channels: [{name: hook, url: "json://127.0.0.1:9/x"}]}\n'
    assert config_warnings(parse_config(ONE_PREFIX + ONE_RULE + told)) == []


def test_the_example_with_its_commented_sections_switched_on_is_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = []
    for line in EXAMPLE_CONFIG.read_text().splitlines():
        body = line[2:]
        if line.startswith("# ") and body.startswith(
            ("asns", "notifications", "silences", "http", "state", "stream", " ")
        ):
            line = body
        lines.append(line.replace("/etc/radar-monitor/", f"{tmp_path}/"))
    for name in ("edge-mail-url", "noc-mail-url"):
        (tmp_path / name).write_text("mailtos://user:pass@mail.example.org?to=noc@example.org\n")
    (tmp_path / "web.yml").write_text("{}\n")
    for var in ("SLACK_TOKEN_A", "SLACK_TOKEN_B"):
        monkeypatch.setenv(var, "T0000000" if var.endswith("A") else "B0000000")
    monkeypatch.setenv("SLACK_TOKEN_C", "X" * 24)
    config = parse_config("\n".join(lines))
    assert [c.name for c in config.notifications.channels] == [
        "oncall-slack",
        "edge-team-mail",
        "noc-mail",
        "alertmanager",
    ]
    assert len(config.silences) == 1
    assert config.stream is not None and config.stream.confirm_interval == 30
    types = {r.name: r.type for r in config.rules}
    assert (types["sub-prefix"], types["via-174-only"], types["new-upstream"]) == (
        "more_specific",
        "as_path",
        "upstream",
    )
    assert (types["radar-hijack"], types["radar-leak"]) == ("radar_hijack", "radar_leak")
    assert types["new-prefix"] == "unlisted_prefix"
    [synced] = config.asns
    assert (synced.asn, synced.sync, synced.exclude) == (64500, 6 * 3600.0, ("192.0.2.128/25",))
