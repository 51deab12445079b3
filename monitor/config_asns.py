"""The `asns:` list of the configuration: ASes whose every originated prefix is watched."""

from __future__ import annotations

import dataclasses
import ipaddress

from monitor.config_rules import Rules, apply_overrides
from monitor.core.measures import duration
from monitor.core.origins import MAX_PREFIXES
from monitor.rules import Rule, UnlistedPrefixRule, UpstreamRule
from monitor.settings import DEFAULT_SYNC, AsConfig, Tier
from monitor.validate import (
    Section,
    at_least_a_second,
    labels,
    one_of,
    parse_asn,
    parse_prefix,
    positive_int,
    string,
)


def read_asns(top: Section, rules: Rules) -> list[AsConfig]:
    """Every `asns:` entry; an AS listed twice is a problem at its second entry."""
    seen: dict[int, str] = {}
    return top.sections("asns", lambda s: _as(s, rules, seen))


def _as(s: Section, rules: Rules, seen: dict[int, str]) -> AsConfig:
    asn = s.get("asn", parse_asn)
    if asn in seen:
        s.report("asn", f"duplicate AS{asn} (also {seen[asn]})")
    seen.setdefault(asn, s.path)
    upstreams = frozenset(s.each("upstreams", parse_asn))
    cfg = AsConfig(
        asn=asn,
        description=s.get("description", string, ""),
        labels=s.get("labels", labels, {}),
        sync=s.get("sync", at_least_a_second, DEFAULT_SYNC),
        rules=_with_upstreams(apply_overrides(s.sub("rules"), rules), upstreams),
        exclude=tuple(s.each("exclude", parse_prefix)),
        max_prefixes=s.get("max_prefixes", positive_int, MAX_PREFIXES),
        tier=Tier(s.get("tier", one_of(*Tier), Tier.REALTIME)),
    )
    s.close()
    return cfg


def _with_upstreams(rules: tuple[Rule, ...], upstreams: frozenset[int]) -> tuple[Rule, ...]:
    """`upstreams` as the default of every `upstream` rule that names none of its own."""
    if not upstreams:
        return rules
    return tuple(
        dataclasses.replace(r, upstreams=upstreams)
        if isinstance(r, UpstreamRule) and not r.upstreams
        else r
        for r in rules
    )


def excluded(prefix: str, exclude: tuple[str, ...]) -> bool:
    """Whether `prefix` is one of `exclude` or lies inside one."""
    network = ipaddress.ip_network(prefix)
    for text in exclude:
        other = ipaddress.ip_network(text)
        if network.version == other.version and network.subnet_of(other):  # type: ignore[arg-type]
            return True
    return False


def describe_asns(asns: tuple[AsConfig, ...]) -> str:
    """`2 ASes synced: AS64500 every 6h, AS64501 every 30m`: what `check` says of them."""
    each = ", ".join(f"AS{a.asn} every {duration(a.sync)}" for a in asns)
    return f"{len(asns)} {'AS' if len(asns) == 1 else 'ASes'} synced: {each}"


def followed(asns: tuple[AsConfig, ...]) -> list[int]:
    """The ASes a stream follows by their origin path: those an `unlisted_prefix` rule judges."""
    return [a.asn for a in asns if any(isinstance(r, UnlistedPrefixRule) for r in a.rules)]
