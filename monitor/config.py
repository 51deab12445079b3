"""The one YAML configuration file → a frozen, validated `Config`."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monitor.core.finding import BUILTIN_RULES, Severity
from monitor.core.measures import normalise_collector
from monitor.core.silence import Silence
from monitor.exposition.webconfig import load_web_config
from monitor.ops.secret import Secret
from monitor.ops.systemd import default_state_dir
from monitor.rules import RULE_TYPES, Rule
from monitor.settings import (
    DEFAULT_BASE_URL,
    ChannelConfig,
    Config,
    HttpConfig,
    NotificationsConfig,
    PrefixConfig,
    SourceConfig,
    StateConfig,
)
from monitor.sinks.notifier import channel_problem
from monitor.validate import (
    ConfigError,
    Section,
    boolean,
    describe_value,
    join,
    labels,
    load_yaml,
    name_of,
    one_of,
    parse_asn,
    parse_duration,
    parse_prefix,
    parse_time,
    positive_int,
    read_limited,
    string,
    string_list,
)

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: A YAML file larger than this is refused before parsing (keeps hostile files cheap).
MAX_CONFIG_BYTES = 1024 * 1024


def interpolate(value: Any, path: str) -> Any:
    """Replace `${VAR}` in every string with the environment variable; unset is an error."""
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(path, f"environment variable {name} is not set")
            return os.environ[name]

        return _ENV_REF.sub(sub, value)
    if isinstance(value, list):
        return [interpolate(v, join(path, i)) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: interpolate(v, join(path, str(k))) for k, v in value.items()}
    return value


def load_config(path: str | Path) -> Config:
    """Read, parse and validate the file; every problem is a ConfigError naming file and key."""
    file = str(path)
    raw = read_limited(path, MAX_CONFIG_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("", "not UTF-8 text", file) from None
    return parse_config(text, file)


def parse_config(text: str, file: str = "") -> Config:
    """Validate YAML text into a Config; errors name `file`."""
    try:
        return _parse(text, file)
    except ConfigError as exc:
        raise exc.in_file(file) from None


def _parse(text: str, file: str) -> Config:
    data = load_yaml(text)
    if data is None:
        raise ConfigError("", "the file is empty", file)
    top = Section(interpolate(data, ""), "")
    source = _source(top.sub("source"), file)
    rules = _rules(top)
    by_name = {r.name: r for r in rules}
    for builtin in BUILTIN_RULES:
        if builtin in by_name:
            raise ConfigError("rules", f"{builtin!r} is a built-in alert name; choose another")
    raw_rules = {r.name: raw for r, raw in zip(rules, top.raw("rules", []), strict=True)}
    prefixes = _prefixes(top, by_name, raw_rules)
    notifications = _notifications(top.sub("notifications"), by_name)
    http = _http(top.sub("http"), file)
    state = _state(top.sub("state"))
    silences = tuple(_silence(Section(item, path), by_name) for path, item in top.items("silences"))
    top.close()
    return Config(
        source=source,
        prefixes=prefixes,
        rules=rules,
        notifications=notifications,
        http=http,
        state=state,
        silences=silences,
        file=file,
    )


def _relative(path: str | None, config_file: str) -> Path | None:
    """A path from the config, relative to the config file's folder unless absolute."""
    if path is None:
        return None
    p = Path(path)
    return p if p.is_absolute() or not config_file else Path(config_file).parent / p


def _source(s: Section, file: str) -> SourceConfig:
    token_file = s.get("token_file", string, None)
    cfg = SourceConfig(
        type=s.get("type", one_of("radar", "replay"), "radar"),
        base_url=s.get("base_url", _url, DEFAULT_BASE_URL),
        token_file=Path(token_file) if token_file else None,
        interval=s.get("interval", parse_duration, 60.0),
        timeout=s.get("timeout", parse_duration, 20.0),
        concurrency=s.get("concurrency", positive_int, 4),
        budget=s.get("budget", positive_int, 1000),
        budget_window=s.get("budget_window", parse_duration, 300.0),
        retries=s.get("retries", _retries, 3),
        max_failures=s.get("max_failures", positive_int, 3),
        max_body_bytes=s.get("max_body_bytes", positive_int, 32 * 1024 * 1024),
        file=_relative(s.get("file", string, None), file),
        loop=s.get("loop", boolean, False),
    )
    if cfg.type == "replay" and cfg.file is None:
        raise ConfigError(s.where("file"), "is required for type: replay")
    if cfg.interval < 1:
        raise ConfigError(s.where("interval"), "must be at least 1s")
    if cfg.timeout <= 0:
        raise ConfigError(s.where("timeout"), "must be more than 0s")
    s.close()
    return cfg


def _url(value: Any, path: str) -> str:
    text = string(value, path).rstrip("/")
    if not re.match(r"^https?://[^/\s]+", text):
        raise ConfigError(path, f"must be an http(s) URL, got {describe_value(value)}")
    return text


def _retries(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise ConfigError(path, f"must be a whole number from 0 to 10, got {describe_value(value)}")
    return value


def _rule(section: Section) -> Rule:
    name = section.get("name", name_of)
    kind = section.get("type", string)
    cls = RULE_TYPES.get(kind)
    if cls is None:
        raise ConfigError(
            section.where("type"),
            f"unknown rule type {kind!r} (known: {', '.join(sorted(RULE_TYPES))})",
        )
    rule = cls.from_section(name, section)
    section.close()
    return rule


def _rules(top: Section) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for path, item in top.items("rules"):
        rule = _rule(Section(item, path))
        if rule.name in seen:
            raise ConfigError(
                join(path, "name"), f"duplicate rule name {rule.name!r} (also {seen[rule.name]})"
            )
        seen[rule.name] = path
        rules.append(rule)
    return tuple(rules)


def _prefixes(
    top: Section, rules: Mapping[str, Rule], raw_rules: Mapping[str, Any]
) -> tuple[PrefixConfig, ...]:
    result: list[PrefixConfig] = []
    seen: dict[str, str] = {}
    for path, item in top.items("prefixes"):
        s = Section(item, path)
        prefix = s.get("prefix", parse_prefix)
        if prefix in seen:
            raise ConfigError(
                join(path, "prefix"), f"duplicate prefix {prefix} (also {seen[prefix]})"
            )
        seen[prefix] = path
        origins = frozenset(parse_asn(v, p) for p, v in s.items("origins"))
        effective = _overrides(s.sub("rules"), rules, raw_rules)
        result.append(
            PrefixConfig(
                prefix=prefix,
                origins=origins,
                description=s.get("description", string, ""),
                labels=s.get("labels", labels, {}),
                rules=effective,
            )
        )
        s.close()
    return tuple(result)


def _overrides(
    overrides: Section, rules: Mapping[str, Rule], raw_rules: Mapping[str, Any]
) -> tuple[Rule, ...]:
    """Apply a prefix's `rules:` mapping: `false` disables a rule, a mapping overrides options."""
    effective: list[Rule] = []
    for name in overrides.data:
        if name not in rules:
            known = ", ".join(rules) or "none defined"
            raise ConfigError(overrides.where(name), f"no rule named {name!r} (rules: {known})")
    for name, rule in rules.items():
        override = overrides.raw(name, True)
        if override is False:
            continue
        if override is True:
            effective.append(rule)
            continue
        where = overrides.where(name)
        changes = Section(override, where)
        for key in ("name", "type"):
            if key in changes.data:
                raise ConfigError(join(where, key), "a prefix may not change a rule's name or type")
        merged = {**raw_rules[name], **changes.data}
        key_paths = {k: join(where, k) for k in changes.data}
        effective.append(_rule(Section(merged, f"rules[{list(rules).index(name)}]", key_paths)))
    overrides.close()
    return tuple(effective)


def _notifications(s: Section, rules: Mapping[str, Rule]) -> NotificationsConfig:
    channels: list[ChannelConfig] = []
    names: set[str] = set()
    for path, item in s.items("channels"):
        c = Section(item, path)
        name = c.get("name", name_of)
        if name in names:
            raise ConfigError(join(path, "name"), f"duplicate channel name {name!r}")
        names.add(name)
        url = _channel_url(c)
        for i, rule in enumerate(c.get("rules", string_list, ())):
            if rule not in rules and rule not in BUILTIN_RULES:
                raise ConfigError(join(c.where("rules"), i), f"no rule named {rule!r}")
        channels.append(
            ChannelConfig(
                name=name,
                url=url,
                type=c.get("type", one_of("apprise", "alertmanager"), "apprise"),
                severities=frozenset(Severity(v) for v in c.get("severities", _severities, ())),
                rules=frozenset(c.get("rules", string_list, ())),
                labels=c.get("labels", labels, {}),
            )
        )
        problem = channel_problem(channels[-1])
        if problem is not None:
            raise ConfigError(c.where("url_file" if c.has("url_file") else "url"), problem)
        c.close()
    cfg = NotificationsConfig(
        repeat_interval=s.get("repeat_interval", parse_duration, 4 * 3600.0),
        send_resolved=s.get("send_resolved", boolean, True),
        group_wait=s.get("group_wait", parse_duration, 10.0),
        max_backoff=s.get("max_backoff", parse_duration, 300.0),
        channels=tuple(channels),
    )
    s.close()
    return cfg


def _channel_url(c: Section) -> Secret:
    """The URL from `url` or the first line of `url_file`, exactly one of them."""
    if c.has("url") == c.has("url_file"):
        raise ConfigError(c.path, "needs exactly one of url or url_file")
    if c.has("url"):
        return Secret(c.get("url", string))
    path = c.get("url_file", string)
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(c.where("url_file"), f"cannot read {path}: {exc.strerror}") from None
    if not text:
        raise ConfigError(c.where("url_file"), f"{path} is empty")
    return Secret(text.splitlines()[0].strip())


def _severities(value: Any, path: str) -> tuple[str, ...]:
    return tuple(
        one_of(*Severity)(v, join(path, i)) for i, v in enumerate(string_list(value, path))
    )


def _http(s: Section, file: str) -> HttpConfig:
    listen = s.get("listen", string, "127.0.0.1:9847")
    host, sep, port = listen.rpartition(":")
    host = host.strip("[]")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535 or not host:
        raise ConfigError(s.where("listen"), f"must be HOST:PORT, got {listen!r}")
    web_config_file = _relative(s.get("web_config_file", string, None), file)
    instance = s.get("instance", string, None) or socket.gethostname()
    s.close()
    web = None
    if web_config_file is not None:
        try:
            web = load_web_config(web_config_file)
        except ConfigError as exc:
            # Kept whole, naming the web config file and key, under this key of the config file.
            raise ConfigError(s.where("web_config_file"), exc.describe()) from None
    return HttpConfig(host=host, port=int(port), web=web, instance=instance)


def _state(s: Section) -> StateConfig:
    default_dir = default_state_dir()
    default = (default_dir / "state.db") if default_dir else Path("radar-monitor-state.db")
    path = s.get("path", string, None)
    s.close()
    return StateConfig(path=Path(path) if path else default)


def _silence(s: Section, rules: Mapping[str, Rule]) -> Silence:
    m = s.sub("matchers")
    rule = m.get("rule", string, None)
    if rule is not None and rule not in rules and rule not in BUILTIN_RULES:
        raise ConfigError(m.where("rule"), f"no rule named {rule!r}")
    collector = m.get("collector", string, None)
    silence = Silence(
        comment=s.get("comment", string),
        starts=s.get("starts", parse_time, None),
        ends=s.get("ends", parse_time, None) or s.get("until", parse_time, None),
        rule=rule,
        prefix=m.get("prefix", parse_prefix, None),
        origin=m.get("origin", parse_asn, None),
        collector=normalise_collector(collector) if collector else None,
    )
    if s.has("ends") and s.has("until"):
        raise ConfigError(s.where("until"), "give ends or until, not both")
    if not m.data:
        raise ConfigError(m.path, "needs at least one matcher (rule, prefix, origin, collector)")
    if silence.starts and silence.ends and silence.ends <= silence.starts:
        raise ConfigError(s.where("ends"), "must be after starts")
    m.close()
    s.close()
    return silence


def config_warnings(config: Config) -> list[str]:
    """What is valid but almost certainly not meant: `check` prints these, `run` logs them."""
    warnings = []
    if not config.prefixes:
        warnings.append("no prefixes are watched (prefixes: is empty)")
    if not config.rules:
        warnings.append("no rules are configured: nothing will ever fire (rules: is empty)")
    if not config.notifications.channels:
        warnings.append(
            "no notification channels: alerts show in /metrics, /api/v1/alerts and the status "
            "page, but nobody is told (see notifications.channels)"
        )
    return warnings
