"""The `asns:` list: its defaults, `upstreams` and `rules:` merged into the generated watches'
rules, and every mistake named by its key path."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.config import config_warnings, parse_config
from monitor.config_asns import excluded, followed
from monitor.core.origins import MAX_PREFIXES
from monitor.rules.upstream import UpstreamRule
from monitor.settings import DEFAULT_SYNC
from monitor.validate import ConfigError

RULES = """\
rules:
  - {name: new-prefix, type: unlisted_prefix, severity: warning}
  - {name: leak, type: upstream, severity: warning}
  - {name: leak-pinned, type: upstream, severity: warning, upstreams: [3356]}
"""


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "cfg.yaml")
    return str(info.value)


def test_an_entry_with_only_its_as_gets_the_defaults() -> None:
    [entry] = parse_config(RULES + "asns: [{asn: 64500}]\n").asns
    assert (entry.asn, entry.sync, entry.max_prefixes) == (64500, DEFAULT_SYNC, MAX_PREFIXES)
    assert entry.exclude == () and entry.labels == {} and entry.description == ""
    assert [r.name for r in entry.rules] == ["new-prefix", "leak", "leak-pinned"]


def test_upstreams_are_the_default_of_upstream_rules_naming_none_and_rules_override() -> None:
    text = RULES + (
        "asns:\n"
        "  - {asn: 64500, sync: 90m, upstreams: [174], rules: {new-prefix: false},"
        " exclude: [192.0.2.128/25], max_prefixes: 10}\n"
    )
    [entry] = parse_config(text).asns
    rules = {r.name: r for r in entry.rules}
    assert sorted(rules) == ["leak", "leak-pinned"]
    leak = rules["leak"]
    assert isinstance(leak, UpstreamRule) and leak.upstreams == {174}
    pinned = rules["leak-pinned"]
    assert isinstance(pinned, UpstreamRule) and pinned.upstreams == {3356}  # its own list wins
    assert (entry.sync, entry.exclude, entry.max_prefixes) == (5400.0, ("192.0.2.128/25",), 10)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("{asn: 64500, sync: 500ms}", "asns[0].sync: must be at least 1s"),
        ("{asn: 0}", "asns[0].asn: must be an AS number in 1..4294967295, got 0"),
        ("{asn: 64500, exclude: [nope]}", "asns[0].exclude[0]: "),
        ("{asn: 64500, rules: {nope: false}}", "asns[0].rules.nope: no rule named 'nope'"),
        ("{asn: 64500, max_prefixes: 0}", "asns[0].max_prefixes: "),
        ("{asn: 64500, syncs: 1h}", 'asns[0].syncs: unknown key; did you mean "sync"?'),
        ("{sync: 1h}", "asns[0].asn: "),
    ],
)
def test_a_mistake_names_its_key_path(entry: str, problem: str) -> None:
    assert f"cfg.yaml: {problem}" in error_of(RULES + f"asns: [{entry}]\n")


def test_an_as_listed_twice_is_named_at_its_second_entry() -> None:
    text = RULES + "asns: [{asn: 64500}, {asn: 64500}]\n"
    assert "asns[1].asn: duplicate AS64500 (also asns[0])" in error_of(text)


def test_a_config_with_asns_only_is_no_config_without_prefixes() -> None:
    config = parse_config(RULES + "asns: [{asn: 64500}]\n")
    assert not any("no prefixes" in w for w in config_warnings(config))


@given(st.integers(0, 255), st.integers(24, 32))
def test_exclusion_covers_the_excluded_prefix_and_all_inside_it(octet: int, length: int) -> None:
    prefix = f"192.0.2.{octet & ~((1 << (32 - length)) - 1) & 255}/{length}"
    assert excluded(prefix, ("192.0.2.0/24",))
    assert excluded(prefix, ("192.0.2.128/25",)) == (length >= 25 and octet >= 128)
    assert not excluded(prefix, ("2001:db8::/32",))


def test_the_stream_follows_the_ases_an_unlisted_prefix_rule_judges() -> None:
    text = RULES + (
        "asns:\n"
        "  - {asn: 64500}\n"
        "  - {asn: 64501, rules: {new-prefix: false}}\n"
        "  - {asn: 64502, sync: 1h}\n"
    )
    assert followed(parse_config(text).asns) == [64500, 64502]
    assert (
        followed(
            parse_config(
                RULES.replace("unlisted_prefix", "stale_data, max_age: 1h")
                + "asns: [{asn: 64500}]\n"
            ).asns
        )
        == []
    )
