"""The configuration of more-specifics and paths: a prefix's `max_length` and
`ignore_more_specifics`, the options of `more_specific`, `as_path` and `upstream`, and
`include_rpki_valid`, with errors naming the key path."""

from __future__ import annotations

import re

import pytest

from monitor.config import parse_config
from monitor.rules.as_path import AsPathRule
from monitor.rules.more_specific import MoreSpecificRule
from monitor.rules.unexpected_origin import UnexpectedOriginRule
from monitor.rules.upstream import UpstreamRule
from monitor.settings import Config
from monitor.validate import ConfigError

RULES = """\
rules:
  - {name: sub-prefix, type: more_specific, severity: critical}
  - {name: hijack, type: unexpected_origin, severity: critical}
  - {name: path, type: as_path, severity: warning, match: "^174 .* 13335$"}
  - {name: new-upstream, type: upstream, severity: critical}
"""


WATCHED = "{prefix: 192.0.2.0/23, origins: [64500]}"


def config(prefix: str = WATCHED, rules: str = RULES) -> Config:
    return parse_config(f"prefixes:\n  - {prefix}\n{rules}", "cfg.yaml")


def error_of(prefix: str = WATCHED, rules: str = RULES) -> str:
    with pytest.raises(ConfigError) as info:
        config(prefix, rules)
    return str(info.value)


def test_a_prefix_gives_max_length_and_ignore_more_specifics_to_its_target() -> None:
    loaded = config("{prefix: 192.0.2.0/23, origins: [64500], max_length: 24}")
    target = loaded.prefixes[0].target
    assert (target.max_length, target.ignore_more_specifics, target.parent) == (24, False, None)
    quiet = config("{prefix: 2001:db8::/32, ignore_more_specifics: true, max_length: 128}")
    assert quiet.prefixes[0].target.ignore_more_specifics is True
    assert quiet.prefixes[0].target.max_length == 128
    default = config().prefixes[0].target
    assert (default.max_length, default.ignore_more_specifics) == (None, False)


@pytest.mark.parametrize(
    ("prefix", "problem"),
    [
        (
            "{prefix: 192.0.2.0/23, max_length: 22}",
            "prefixes[0] (192.0.2.0/23).max_length: must be a prefix length from 23 (the "
            "prefix's own) to 32, got 22",
        ),
        ("{prefix: 192.0.2.0/23, max_length: 33}", "from 23 (the prefix's own) to 32, got 33"),
        ("{prefix: 2001:db8::/32, max_length: 129}", "from 32 (the prefix's own) to 128, got 129"),
        ("{prefix: 192.0.2.0/23, max_length: '24'}", "to 32, got '24'"),
        ("{prefix: 192.0.2.0/23, max_length: true}", "to 32, got True"),
        (
            "{prefix: 192.0.2.0/23, ignore_more_specifics: yes please}",
            "prefixes[0] (192.0.2.0/23).ignore_more_specifics: must be true or false",
        ),
    ],
)
def test_prefix_key_errors(prefix: str, problem: str) -> None:
    assert problem in error_of(prefix)


def test_rule_options_and_their_defaults() -> None:
    sub, hijack, path, upstream = config().rules
    assert isinstance(sub, MoreSpecificRule)
    assert (sub.origins, sub.min_peers, sub.include_rpki_valid) == ("unexpected", 2, False)
    assert isinstance(hijack, UnexpectedOriginRule) and hijack.include_rpki_valid is False
    assert isinstance(path, AsPathRule) and path.min_peers == 1
    # Compiled once, when the file loads: evaluation never compiles.
    assert isinstance(path.match, re.Pattern) and path.match.pattern == "^174 .* 13335$"
    assert isinstance(upstream, UpstreamRule)
    assert (upstream.upstreams, upstream.min_peers) == (frozenset(), 2)
    options = (
        RULES.replace("severity: critical}", "severity: critical, include_rpki_valid: true}", 2)
        .replace("type: more_specific,", "type: more_specific, origins: any, min_peers: 5,")
        .replace('13335$"', '13335$", not_match: " 666 ", max_length: 9, min_length: 2')
        .replace("type: upstream,", "type: upstream, upstreams: [AS174, '3356'], min_peers: 3,")
    )
    sub, hijack, path, upstream = config(rules=options).rules
    assert isinstance(sub, MoreSpecificRule) and isinstance(hijack, UnexpectedOriginRule)
    assert (sub.origins, sub.min_peers, sub.include_rpki_valid) == ("any", 5, True)
    assert hijack.include_rpki_valid is True
    assert isinstance(path, AsPathRule) and path.not_match is not None
    assert (path.not_match.pattern, path.max_length, path.min_length) == (" 666 ", 9, 2)
    assert isinstance(upstream, UpstreamRule)
    assert (upstream.upstreams, upstream.min_peers) == (frozenset({174, 3356}), 3)


def test_upstreams_are_set_per_prefix_by_an_override() -> None:
    loaded = config(
        "{prefix: 192.0.2.0/23, origins: [64500], rules: {new-upstream: {upstreams: [174]}}}\n"
        "  - {prefix: 198.51.100.0/24, origins: [64501]}"
    )
    judged, unjudged = (
        next(r for r in p.rules if isinstance(r, UpstreamRule)) for p in loaded.prefixes
    )
    assert (judged.upstreams, unjudged.upstreams) == (frozenset({174}), frozenset())


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            ("type: more_specific,", "type: more_specific, origins: mine,"),
            "rules[0] (sub-prefix).origins: must be one of unexpected, expected, any, got 'mine'",
        ),
        (
            ("type: more_specific,", "type: more_specific, min_peers: 0,"),
            "rules[0] (sub-prefix).min_peers: must be a whole number of at least 1",
        ),
        (
            ('"^174 .* 13335$"', '"^174 (.* 13335$"'),
            "rules[2] (path).match: is not a valid regular expression: missing ), unterminated "
            "subpattern at position 5",
        ),
        (
            ('match: "^174 .* 13335$"', "not_match: '*174'"),
            "rules[2] (path).not_match: is not a valid regular expression: nothing to repeat at "
            "position 0",
        ),
        (
            ('"^174 .* 13335$"', "'" + "1" * 513 + "'"),
            "rules[2] (path).match: must be at most 512 characters, got 513",
        ),
        (
            ('match: "^174 .* 13335$"', "min_peers: 2"),
            "rules[2] (path): needs at least one of match, not_match, max_length, min_length",
        ),
        (
            ('match: "^174 .* 13335$"', "max_length: 3, min_length: 4"),
            "rules[2] (path).min_length: must not be above max_length (3), got 4",
        ),
        (
            ('match: "^174 .* 13335$"', "max_length: 256"),
            "rules[2] (path).max_length: must be at most 255 hops, got 256",
        ),
        (
            ("type: upstream,", "type: upstream, upstreams: [174, AS0],"),
            "rules[3] (new-upstream).upstreams[1]: must be an AS number in 1..4294967295",
        ),
        (
            ("type: upstream,", "type: upstream, upstreams: 174,"),
            "rules[3] (new-upstream).upstreams: must be a list, got 174",
        ),
        (
            ("severity: critical}", "severity: critical, include_rpki_valid: 1}"),
            "rules[0] (sub-prefix).include_rpki_valid: must be true or false, got 1",
        ),
    ],
)
def test_rule_option_errors(change: tuple[str, str], problem: str) -> None:
    assert problem in error_of(rules=RULES.replace(*change, 1))


def test_a_bad_pattern_in_an_override_names_where_it_was_written() -> None:
    prefix = "{prefix: 192.0.2.0/23, rules: {path: {match: '(('}}}"
    assert (
        "prefixes[0] (192.0.2.0/23).rules.path.match: is not a valid regular expression"
        in error_of(prefix)
    )
