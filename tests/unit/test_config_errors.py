"""Configuration mistakes come all at once, in file order, each naming its key path (with the
rule's, prefix's or channel's name) and suggesting the key a misspelt one meant; `check`, `run`
and a SIGHUP reload show them all. YAML anchors, aliases and merge keys work, within a bound."""

from __future__ import annotations

import logging
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitor.bundled import bundled
from monitor.cli import main
from monitor.config import load_config, parse_config
from monitor.rules.visibility_below import VisibilityBelowRule
from monitor.supervisor import Supervisor
from monitor.validate import ConfigError, parse_duration
from monitor.yamlload import MAX_NODES, parse_yaml

RULES = """\
rules:
  - {name: rpki-invalid, type: rpki_invalid, severity: critical}
  - {name: low-visibility, type: visibility_below, threshold: 0.8, severity: warning}
"""
ONE_PREFIX = "prefixes: [{prefix: 192.0.2.0/24, origins: [64500]}]\n"
#: Three mistakes, written in another order than the loader reads the sections in.
THREE_MISTAKES = """\
rules:
  - {name: rpki-invalid, type: rpki_invalid, severity: critical}
  - name: low-visibility
    type: visibility_below
    threshhold: 0.8
    severity: warning
prefixes:
  - prefix: 192.0.2.0/24
    origins: [64500, 0]
source:
  interval: 0s
"""
THREE_PROBLEMS = [
    'rules[1] (low-visibility).threshhold: unknown key; did you mean "threshold"?',
    "prefixes[0] (192.0.2.0/24).origins[1]: must be an AS number in 1..4294967295, got 0",
    "source.interval: must be at least 1s",
]


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "cfg.yaml")
    return str(info.value)


def test_every_mistake_is_reported_at_once_in_file_order() -> None:
    assert error_of(THREE_MISTAKES) == "\n".join(
        ["cfg.yaml: 3 problems:"] + [f"  cfg.yaml: {p}" for p in THREE_PROBLEMS]
    )


def test_the_error_lists_its_problems_for_callers() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(THREE_MISTAKES, "cfg.yaml")
    error = info.value
    assert [p.describe() for p in error.problems] == [f"cfg.yaml: {p}" for p in THREE_PROBLEMS]
    assert (error.file, error.path) == ("cfg.yaml", "rules[1] (low-visibility).threshhold")
    assert error.describe() == str(error)


def test_mistakes_on_one_line_come_in_column_order() -> None:
    rule = (
        "rules: [{name: low, colour: red, type: visibility_below, keep_firing_for: later,"
        " for: soon, threshold: 0.5, severity: warning}]\n"
    )
    assert error_of(ONE_PREFIX + rule).splitlines()[1:] == [
        "  cfg.yaml: rules[0] (low).colour: unknown key (known keys: for, keep_firing_for,"
        " labels, name, severity, threshold, type)",
        "  cfg.yaml: rules[0] (low).keep_firing_for: must be a duration like 90s, 5m, 1h or 4h30m,"
        " got 'later'",
        "  cfg.yaml: rules[0] (low).for: must be a duration like 90s, 5m, 1h or 4h30m, got 'soon'",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            RULES + "prefixs: [{prefix: 192.0.2.0/24, origins: [64500]}]\n",
            'prefixs: unknown key; did you mean "prefixes"?',
        ),
        (
            RULES.replace("threshold: 0.8", "threshold: 0.8, lables: {team: edge}") + ONE_PREFIX,
            'rules[1] (low-visibility).lables: unknown key; did you mean "labels"?',
        ),
        (
            RULES + ONE_PREFIX.replace("]}]", "], rules: {low-visibility: {treshold: 0.5}}}]"),
            "prefixes[0] (192.0.2.0/24).rules.low-visibility.treshold: unknown key;"
            ' did you mean "threshold"?',
        ),
        (
            RULES + ONE_PREFIX + "notifications: {channels: [{name: pager, ulr: 'json://x/'}]}\n",
            'notifications.channels[0] (pager).ulr: unknown key; did you mean "url"?',
        ),
        (
            RULES + ONE_PREFIX + "silences: [{matchers: {rule: rpki-invalid}, commnet: lab}]\n",
            'silences[0].commnet: unknown key; did you mean "comment"?',
        ),
        (
            RULES + ONE_PREFIX + "state: {pth: /tmp/x.db}\n",
            'state.pth: unknown key; did you mean "path"?',
        ),
    ],
)
def test_a_misspelt_key_is_reported_with_the_key_it_meant(text: str, expected: str) -> None:
    # The only problem: not also "threshold: is required", "needs exactly one of url or
    # url_file" or "comment: is required" for the key it meant.
    assert error_of(text) == f"cfg.yaml: {expected}"


def test_a_required_key_nothing_resembles_is_required() -> None:
    text = RULES.replace("threshold: 0.8, ", "") + ONE_PREFIX
    assert error_of(text) == "cfg.yaml: rules[1] (low-visibility).threshold: is required"


RULE_KEYS = ["severity", "threshold", "keep_firing_for", "labels"]
GOOD_VALUES = {"severity": "warning", "threshold": 0.8, "keep_firing_for": "5m", "labels": {}}


@given(st.sampled_from(RULE_KEYS), st.integers(0, 20), st.booleans())
@example("threshold", 6, True)  # threshhold
def test_any_one_letter_slip_suggests_the_key(key: str, at: int, doubled: bool) -> None:
    at %= len(key)
    typo = key[: at + 1] + key[at:] if doubled else key[:at] + key[at + 1 :]
    rule: dict[str, Any] = {"name": "low", "type": "visibility_below", **GOOD_VALUES}
    rule[typo] = rule.pop(key)
    text = yaml.safe_dump({"prefixes": [{"prefix": "192.0.2.0/24"}], "rules": [rule]})
    assert error_of(text) == f'cfg.yaml: rules[0] (low).{typo}: unknown key; did you mean "{key}"?'


def test_paths_name_the_rule_the_prefix_and_the_channel() -> None:
    text = (
        RULES.replace("threshold: 0.8", "threshold: 1.5")
        + "prefixes: [{prefix: 192.0.2.0/24, origins: [AS0]}]\n"
        + "notifications: {channels: [{name: pager, url: 'json://127.0.0.1:9/x', type: sms}]}\n"
    )
    assert error_of(text).splitlines()[1:] == [
        "  cfg.yaml: rules[1] (low-visibility).threshold: must be between 0 and 1, got 1.5",
        "  cfg.yaml: prefixes[0] (192.0.2.0/24).origins[0]: must be an AS number in"
        " 1..4294967295, got 0",
        "  cfg.yaml: notifications.channels[0] (pager).type: must be one of apprise,"
        " alertmanager, got 'sms'",
    ]


def test_a_broken_rule_is_reported_once_not_by_everything_naming_it() -> None:
    text = (
        RULES.replace("severity: warning", "severity: loud")
        + ONE_PREFIX.replace("]}]", "], rules: {low-visibility: {threshold: 0.5}}}]")
        + "notifications: {channels: [{name: a, url: 'json://127.0.0.1:9/x',"
        " rules: [low-visibility]}]}\n"
        + "silences: [{matchers: {rule: low-visibility}, comment: lab}]\n"
    )
    assert error_of(text) == (
        "cfg.yaml: rules[1] (low-visibility).severity: must be one of critical, warning, info,"
        " got 'loud'"
    )


def test_a_value_from_the_environment_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RADAR_MONITOR_TEST_URL", "ftp://user:hunter2@radar.example")
    monkeypatch.delenv("RADAR_MONITOR_TEST_UNSET", raising=False)
    text = (
        RULES
        + ONE_PREFIX
        + "source: {base_url: '${RADAR_MONITOR_TEST_URL}', token_file: '${RADAR_MONITOR_TEST_UNSET}'}\n"
    )
    assert error_of(text).splitlines()[1:] == [
        "  cfg.yaml: source.base_url: must be an http(s) URL, got '${RADAR_MONITOR_TEST_URL}'",
        "  cfg.yaml: source.token_file: environment variable RADAR_MONITOR_TEST_UNSET is not set",
    ]


def test_a_hostile_number_of_mistakes_is_cut_short() -> None:
    prefixes = "".join(f"  - {{prefix: 10.0.{i}.1/24}}\n" for i in range(130))
    lines = error_of(RULES + "prefixes:\n" + prefixes).splitlines()
    assert lines[0] == "cfg.yaml: 130 problems:"
    host_bits = "has host bits set: 10.0.0.1/24 (did you mean 10.0.0.0/24?)"
    assert lines[1] == f"  cfg.yaml: prefixes[0].prefix: {host_bits}"
    assert (len(lines), lines[-1]) == (102, "  ... and 30 more problems")


def test_check_and_run_show_every_problem_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text(THREE_MISTAKES)
    expected = [f"radar-monitor: config error: {path}: 3 problems:"]
    expected += [f"  {path}: {p}" for p in THREE_PROBLEMS]
    for command in ("check", "run"):
        assert main([command, "--config", str(path)]) == 2
        assert capsys.readouterr().err.splitlines() == expected


async def test_a_rejected_reload_logs_every_problem(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "cfg.yaml"
    replay = f"source: {{type: replay, file: {bundled('withdrawal.yaml')}}}\n"
    path.write_text(replay + f"state: {{path: {tmp_path / 'state.db'}}}\n" + RULES + ONE_PREFIX)
    supervisor = Supervisor(path, load_config(path))
    path.write_text(THREE_MISTAKES)
    with caplog.at_level(logging.ERROR):
        await supervisor._do_reload()
    await supervisor.app.close(0)
    assert supervisor.app.state.reload_ok is False
    [message] = [r.getMessage() for r in caplog.records if "reload rejected" in r.message]
    assert message.splitlines() == [
        f"reload rejected, keeping the running configuration: {path}: 3 problems:"
    ] + [f"  {path}: {p}" for p in THREE_PROBLEMS]


# --- anchors, aliases, merge keys ---------------------------------------------------------

SHARED_OVERRIDES = (
    RULES
    + """\
prefixes:
  - prefix: 192.0.2.0/24
    origins: [64500]
    rules: &edge {low-visibility: {threshold: 0.5}, rpki-invalid: false}
  - prefix: 198.51.100.0/24
    origins: [64501]
    rules: *edge
"""
)


def test_an_anchor_shares_rule_overrides_across_prefixes() -> None:
    first, second = parse_config(SHARED_OVERRIDES).prefixes
    assert [p.prefix for p in (first, second)] == ["192.0.2.0/24", "198.51.100.0/24"]
    assert first.rules == second.rules
    [low] = first.rules
    assert isinstance(low, VisibilityBelowRule) and low.threshold == 0.5


def test_a_merge_key_shares_a_prefix_and_its_keys_may_be_overridden() -> None:
    text = RULES + (
        "prefixes:\n"
        "  - &edge {prefix: 192.0.2.0/24, origins: [64500], labels: {team: edge},"
        " rules: {low-visibility: {threshold: 0.5}}}\n"
        "  - {<<: *edge, prefix: 198.51.100.0/24}\n"
        "  - <<: *edge\n"
        "    prefix: 203.0.113.0/24\n"
        "    origins: [64501]\n"
    )
    prefixes = parse_config(text).prefixes
    assert [(p.prefix, sorted(p.origins), dict(p.labels)) for p in prefixes] == [
        ("192.0.2.0/24", [64500], {"team": "edge"}),
        ("198.51.100.0/24", [64500], {"team": "edge"}),
        ("203.0.113.0/24", [64501], {"team": "edge"}),
    ]
    assert prefixes[0].rules == prefixes[1].rules == prefixes[2].rules


def test_a_key_written_twice_beside_a_merge_key_is_still_a_duplicate() -> None:
    text = RULES + (
        "prefixes:\n"
        "  - &edge {prefix: 192.0.2.0/24, origins: [64500]}\n"
        "  - <<: *edge\n"
        "    prefix: 198.51.100.0/24\n"
        "    prefix: 203.0.113.0/24\n"
    )
    assert error_of(text) == "cfg.yaml: line 8: duplicate key 'prefix' (first given on line 7)"


def test_a_mistake_in_shared_text_is_reported_for_each_use() -> None:
    text = SHARED_OVERRIDES.replace("{threshold: 0.5}", "{threshhold: 0.5}")
    suggestion = 'rules.low-visibility.threshhold: unknown key; did you mean "threshold"?'
    assert error_of(text).splitlines()[1:] == [
        f"  cfg.yaml: prefixes[0] (192.0.2.0/24).{suggestion}",
        f"  cfg.yaml: prefixes[1] (198.51.100.0/24).{suggestion}",
    ]


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, n in zip("abcdefgh", "bcdefghi", strict=True)
)


def test_an_alias_bomb_is_refused_quickly_in_little_memory() -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        message = error_of(ALIAS_BOMB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert message == (
        "cfg.yaml: line 6: YAML aliases (*name) expand the document to more than 100000 nodes:"
        " refused as a possible alias bomb"
    )
    assert time.perf_counter() - started < 1.0
    assert peak < 2_000_000


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    assert error_of("rules: &r [*r]\n") == (
        "cfg.yaml: line 1: YAML alias *r is inside the node it names (the document would be"
        " endless)"
    )


def expanded(value: Any, sizes: dict[int, int] | None = None) -> int:
    """How many YAML nodes `value` is once every shared part is written out (keys count)."""
    sizes = {} if sizes is None else sizes
    if id(value) not in sizes:
        if isinstance(value, list):
            sizes[id(value)] = 1 + sum(expanded(v, sizes) for v in value)
        elif isinstance(value, dict):
            sizes[id(value)] = 1 + sum(1 + expanded(v, sizes) for v in value.values())
        else:
            return 1
    return sizes[id(value)]


#: Documents whose lists repeat one shared child: `yaml.safe_dump` writes them with anchors.
SHARED = st.recursive(
    st.integers(0, 9) | st.text("xy", max_size=2),
    lambda inner: (
        st.tuples(inner, st.integers(1, 12)).map(lambda t: [t[0]] * t[1])
        | st.dictionaries(st.sampled_from("abc"), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(deadline=None)
@given(SHARED)
@example([[[[[["x"] * 12] * 12] * 12] * 12] * 5])  # just above the bound
@example([[[[[["x"] * 12] * 12] * 12] * 12] * 4])  # just below
def test_aliases_load_as_written_up_to_the_bound(doc: Any) -> None:
    text = yaml.safe_dump({"doc": doc})
    if 2 + expanded(doc) <= MAX_NODES:
        assert parse_yaml(text, aliases=True)[0] == {"doc": doc}
    else:
        with pytest.raises(ConfigError, match=f"more than {MAX_NODES} nodes"):
            parse_yaml(text, aliases=True)


@given(st.integers(0, 48), st.integers(0, 59), st.integers(0, 59))
def test_compound_durations_add_up(hours: int, minutes: int, seconds: int) -> None:
    assert (
        parse_duration(f"{hours}h{minutes}m{seconds}s", "x")
        == hours * 3600 + minutes * 60 + seconds
    )
    assert parse_duration(f"{hours}h{minutes}m", "x") == hours * 3600 + minutes * 60
