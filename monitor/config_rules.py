"""The `rules:` list of the configuration, and a prefix's `rules:` overrides of it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.core.finding import BUILTIN_RULES
from monitor.problems import Abandoned
from monitor.rules import RULE_TYPES, Rule
from monitor.validate import ConfigError, Section, describe_value, join, name_of, named, string
from monitor.yamlload import merged


def _rule(section: Section) -> Rule:
    """A rule from its mapping; from its name on, paths name it: `rules[2] (low-visibility)`."""
    name = section.get("name", name_of)
    section.path = named(section.path, section.data["name"])
    kind = section.get("type", string)
    cls = RULE_TYPES.get(kind)
    if cls is None:
        known = ", ".join(sorted(RULE_TYPES))
        section.fail("type", f"unknown rule type {describe_value(kind)} (known: {known})")
    rule = cls.from_section(name, section)
    section.close()
    return rule


@dataclass
class Rules:
    """The rules that loaded, by name, with their YAML and path (overrides start from them).

    `names` holds the name of every rule written, loaded or not: a rule with a mistake is
    reported once, not again by each prefix, channel or silence naming it."""

    by_name: dict[str, Rule] = field(default_factory=dict)
    raw: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)
    #: `rules:` itself could not be read: any name is taken on trust.
    unreadable: bool = False

    def known(self, name: str) -> bool:
        return self.unreadable or name in self.names


def read_rules(top: Section) -> Rules:
    rules = Rules()
    items = top.raw("rules", [])
    if isinstance(items, list):
        rules.names = {
            i["name"] for i in items if isinstance(i, Mapping) and isinstance(i.get("name"), str)
        }
    top.sections("rules", lambda section: _add(section, rules))
    rules.unreadable = top.failed("rules")
    return rules


def _add(section: Section, rules: Rules) -> None:
    path, data = section.path, section.data
    rule = _rule(section)
    name = describe_value(data["name"])  # as written: from the environment, quoted so
    if rule.name in BUILTIN_RULES:
        section.fail("name", f"{name} is a built-in alert name; choose another")
    if rule.name in rules.by_name:
        section.fail("name", f"duplicate rule name {name} (also {rules.paths[rule.name]})")
    rules.by_name[rule.name], rules.raw[rule.name], rules.paths[rule.name] = rule, data, path


def rule_name(rules: Rules) -> Callable[[Any, str], str]:
    """A converter for a reference to a rule (or a built-in alert) by name."""

    def convert(value: Any, path: str) -> str:
        name = string(value, path)
        if not rules.known(name) and name not in BUILTIN_RULES:
            raise ConfigError(path, f"no rule named {describe_value(name)}")
        return name

    return convert


def apply_overrides(overrides: Section, rules: Rules) -> tuple[Rule, ...]:
    """Apply a prefix's `rules:` mapping: `false` disables a rule, a mapping overrides options."""
    for name in overrides.data:
        if not rules.known(name):
            defined = ", ".join(rules.by_name) or "none defined"
            overrides.report(name, f"no rule named {describe_value(name)} (rules: {defined})")
        overrides.raw(name, True)  # a rule with a mistake of its own is left out quietly
    effective: list[Rule] = []
    for name, rule in rules.by_name.items():
        override = overrides.raw(name, True)
        if override is False:
            continue
        if override is True:
            effective.append(rule)
            continue
        try:
            effective.append(_override(overrides, name, rules))
        except Abandoned:
            continue
        except ConfigError as exc:  # not a mapping
            overrides.report(name, exc.problem)
    overrides.close()
    return tuple(effective)


def _override(overrides: Section, name: str, rules: Rules) -> Rule:
    where = overrides.where(name)
    changes = Section(overrides.data[name], where, problems=overrides.problems)
    for key in ("name", "type"):
        if key in changes.data:
            changes.fail(key, "a prefix may not change a rule's name or type")
    key_paths = {k: join(where, k) for k in changes.data}
    rule = merged(rules.raw[name], changes.data)
    return _rule(Section(rule, rules.paths[name], key_paths, problems=overrides.problems))
