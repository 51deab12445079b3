"""The one YAML configuration file → a frozen, validated `Config`."""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from monitor.config_asns import read_asns
from monitor.config_rules import Rules, apply_overrides, read_rules, rule_name
from monitor.config_stream import read_stream
from monitor.core.collectors import MAX_COLLECTORS
from monitor.core.finding import Severity
from monitor.core.measures import normalise_collector
from monitor.core.silence import Silence
from monitor.exposition.webconfig import load_web_config
from monitor.ops.files import FileProblem, read_small_text
from monitor.ops.secret import Secret
from monitor.ops.systemd import default_state_dir
from monitor.problems import Abandoned, FromEnv, Mark, Problems
from monitor.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_SNAPSHOT_INTERVAL,
    ChannelConfig,
    Config,
    HttpConfig,
    NotificationsConfig,
    PrefixConfig,
    SourceConfig,
    StateConfig,
    Tier,
)
from monitor.sinks.notifier import channel_problem
from monitor.validate import (
    ConfigError,
    Section,
    at_least_a_second,
    boolean,
    describe_value,
    join,
    labels,
    name_of,
    named,
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
from monitor.yamlload import entry_mark, parse_yaml, rebuilt

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: A YAML file larger than this is refused before parsing (keeps hostile files cheap).
MAX_CONFIG_BYTES = 1024 * 1024


def interpolate(value: Any, path: str, problems: Problems, mark: Mark | None = None) -> Any:
    """Replace `${VAR}` in every string with the environment variable; unset is a problem.

    A string that names variables becomes a `FromEnv`: messages quoting it show the file's
    text, never the value."""
    if isinstance(value, str):
        names = _ENV_REF.findall(value)
        if not names:
            return value
        unset = [n for n in dict.fromkeys(names) if n not in os.environ]
        for name in unset:
            problems.add(path, f"environment variable {name} is not set", mark)
        expanded = value if unset else _ENV_REF.sub(lambda m: os.environ[m.group(1)], value)
        return FromEnv(expanded, value, bool(unset))
    if isinstance(value, list):
        return rebuilt(
            value,
            [
                interpolate(v, _element(path, i, v), problems, entry_mark(value, i))
                for i, v in enumerate(value)
            ],
        )
    if isinstance(value, dict):
        return rebuilt(
            value,
            {
                k: interpolate(v, join(path, str(k)), problems, entry_mark(value, k))
                for k, v in value.items()
            },
        )
    return value


def _element(path: str, index: int, item: Any) -> str:
    """The path of a list item, named as the validation names it (by `name` or `prefix`)."""
    where = join(path, index)
    if isinstance(item, Mapping):
        for key in ("name", "prefix"):
            if isinstance(item.get(key), str):
                return named(where, item[key])
    return where


def load_config(path: str | Path) -> Config:
    """Read, parse and validate the file; every problem is in the ConfigError, in file order."""
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
    data, duplicates = parse_yaml(text, aliases=True)
    if data is None:
        raise ConfigError("", "the file is empty")
    found = Problems(duplicates)
    top = Section(interpolate(data, "", found), "", problems=found)
    source = found.attempt(top.mark("source"), lambda: _source(top.sub("source"), file))
    rules = read_rules(top)
    seen: dict[str, str] = {}
    prefixes = top.sections("prefixes", lambda s: _prefix(s, rules, seen))
    asns = read_asns(top, rules)
    notifications = found.attempt(
        top.mark("notifications"), lambda: _notifications(top.sub("notifications"), rules)
    )
    http = found.attempt(top.mark("http"), lambda: _http(top.sub("http"), file))
    state = found.attempt(top.mark("state"), lambda: _state(top.sub("state")))
    silences = top.sections("silences", lambda s: _silence(s, rules))
    stream = found.attempt(top.mark("stream"), lambda: read_stream(top))
    top.close()
    found.check()
    # Each part that gave up recorded a problem, which `check` raised.
    assert source is not None and notifications is not None
    assert http is not None and state is not None
    return Config(
        source=source,
        prefixes=tuple(prefixes),
        rules=tuple(rules.by_name.values()),
        notifications=notifications,
        http=http,
        state=state,
        silences=tuple(silences),
        stream=stream,
        file=file,
        asns=tuple(asns),
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
        snapshot_interval=s.get("snapshot_interval", at_least_a_second, DEFAULT_SNAPSHOT_INTERVAL),
        timeout=s.get("timeout", parse_duration, 20.0),
        concurrency=s.get("concurrency", positive_int, 4),
        budget=s.get("budget", positive_int, 1000),
        budget_window=s.get("budget_window", parse_duration, 300.0),
        retries=s.get("retries", _retries, 3),
        max_failures=s.get("max_failures", positive_int, 3),
        max_retry_after=s.get("max_retry_after", parse_duration, 300.0),
        max_collectors=s.get("max_collectors", positive_int, MAX_COLLECTORS),
        max_body_bytes=s.get("max_body_bytes", positive_int, 32 * 1024 * 1024),
        file=_relative(s.get("file", string, None), file),
        loop=s.get("loop", boolean, False),
    )
    if cfg.type == "replay" and cfg.file is None:
        s.report("file", "is required for type: replay")
    if cfg.interval < 1:
        s.report("interval", "must be at least 1s")
    if cfg.timeout <= 0:
        s.report("timeout", "must be more than 0s")
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


def _prefix(s: Section, rules: Rules, seen: dict[str, str]) -> PrefixConfig:
    """A watched prefix; from the prefix on, paths name it: `prefixes[0] (192.0.2.0/24)`."""
    prefix = s.get("prefix", parse_prefix)
    s.path = named(s.path, s.data["prefix"])
    if prefix in seen:
        written = s.data["prefix"]  # from the environment: quoted as the file has it
        shown = written if isinstance(written, FromEnv) else prefix
        s.report("prefix", f"duplicate prefix {shown} (also {seen[prefix]})")
    seen.setdefault(prefix, s.path)
    cfg = PrefixConfig(
        prefix=prefix,
        origins=frozenset(s.each("origins", parse_asn)),
        description=s.get("description", string, ""),
        labels=s.get("labels", labels, {}),
        rules=apply_overrides(s.sub("rules"), rules),
        max_length=s.get("max_length", _max_length(prefix), None),
        ignore_more_specifics=s.get("ignore_more_specifics", boolean, False),
        written=frozenset(str(k) for k in s.data),
        tier=Tier(s.get("tier", one_of(*Tier), Tier.REALTIME)),
    )
    if cfg.tier is Tier.SNAPSHOT and not cfg.origins:
        s.report("tier", "snapshot needs origins: it reads what they originate")
    s.close()
    return cfg


def _max_length(prefix: str) -> Callable[[Any, str], int]:
    """A converter for a prefix's `max_length`: from its own length to the family's longest."""
    network = ipaddress.ip_network(prefix)
    low, high = network.prefixlen, network.max_prefixlen

    def convert(value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(
                path,
                f"must be a prefix length from {low} (the prefix's own) to {high}, "
                f"got {describe_value(value)}",
            )
        return value

    return convert


def _notifications(s: Section, rules: Rules) -> NotificationsConfig:
    names: set[str] = set()
    channels = s.sections("channels", lambda c: _channel(c, rules, names))
    cfg = NotificationsConfig(
        repeat_interval=s.get("repeat_interval", parse_duration, 4 * 3600.0),
        send_resolved=s.get("send_resolved", boolean, True),
        group_wait=s.get("group_wait", parse_duration, 10.0),
        max_backoff=s.get("max_backoff", parse_duration, 300.0),
        channels=tuple(channels),
    )
    s.close()
    return cfg


def _channel(c: Section, rules: Rules, names: set[str]) -> ChannelConfig:
    """A channel; from its name on, paths name it: `notifications.channels[0] (pager)`."""
    name = c.get("name", name_of)
    c.path = named(c.path, c.data["name"])
    if name in names:
        c.report("name", f"duplicate channel name {describe_value(c.data['name'])}")
    names.add(name)
    kind = c.get("type", one_of("apprise", "alertmanager"), "apprise")
    severities = frozenset(Severity(v) for v in c.get("severities", _severities, ()))
    routed = frozenset(c.each("rules", rule_name(rules)))
    matchers = c.get("labels", labels, {})
    url, url_file = c.get("url", string, None), c.get("url_file", string, None)
    c.close()
    channel = ChannelConfig(
        name, _channel_url(c, url, url_file), kind, severities, routed, matchers
    )
    problem = None if c.failed("type") else channel_problem(channel)
    if problem is not None:
        c.report("url" if url_file is None else "url_file", problem)
    return channel


def _channel_url(c: Section, url: str | None, url_file: str | None) -> Secret:
    """The URL from `url` or the first line of `url_file`, exactly one of them."""
    if (url is None) == (url_file is None):
        if url is None and c.misspelt("url", "url_file"):
            raise Abandoned
        c.fail(None, "needs exactly one of url or url_file")
    if url is not None:
        return Secret(url)
    assert url_file is not None
    # Bounded, regular files only; the path is not quoted (it sits next to a secret).
    try:
        text = read_small_text(Path(url_file)).strip()
    except FileProblem as exc:
        c.fail("url_file", f"cannot read the file: {exc}")
    if not text:
        c.fail("url_file", "the file is empty")
    return Secret(text.splitlines()[0].strip())


def _severities(value: Any, path: str) -> tuple[str, ...]:
    return tuple(
        one_of(*Severity)(v, join(path, i)) for i, v in enumerate(string_list(value, path))
    )


def _http(s: Section, file: str) -> HttpConfig:
    listen = s.get("listen", string, "127.0.0.1:9847")
    web_config_file = _relative(s.get("web_config_file", string, None), file)
    instance = s.get("instance", string, None) or socket.gethostname()
    s.close()
    host, sep, port = listen.rpartition(":")
    host = host.strip("[]")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535 or not host:
        s.fail("listen", f"must be HOST:PORT, got {describe_value(s.data.get('listen', listen))}")
    web = None
    if web_config_file is not None:
        try:
            web = load_web_config(web_config_file)
        except ConfigError as exc:
            # Kept whole, naming the web config file and key, under this key of the config file.
            s.fail("web_config_file", exc.describe())
    return HttpConfig(host=host, port=int(port), web=web, instance=instance)


def _state(s: Section) -> StateConfig:
    default_dir = default_state_dir()
    default = (default_dir / "state.db") if default_dir else Path("radar-monitor-state.db")
    path = s.get("path", string, None)
    s.close()
    return StateConfig(path=Path(path) if path else default)


def _silence(s: Section, rules: Rules) -> Silence:
    m = s.sub("matchers")
    rule = m.get("rule", rule_name(rules), None)
    collector = m.get("collector", string, None)
    prefix = m.get("prefix", parse_prefix, None)
    origin = m.get("origin", parse_asn, None)
    m.close()
    if not m.data:
        m.report(None, "needs at least one matcher (rule, prefix, origin, collector)")
    comment = s.get("comment", string, None)
    starts = s.get("starts", parse_time, None)
    ends = s.get("ends", parse_time, None)
    until = s.get("until", parse_time, None)
    s.close()
    if comment is None:
        s.require("comment")
    if s.has("ends") and s.has("until"):
        s.report("until", "give ends or until, not both")
    ends = ends or until
    if starts and ends and ends <= starts:
        s.report("ends" if s.has("ends") else "until", "must be after starts")
    return Silence(
        comment=comment,
        starts=starts,
        ends=ends,
        rule=rule,
        prefix=prefix,
        origin=origin,
        collector=normalise_collector(collector) if collector else None,
    )


def config_warnings(config: Config) -> list[str]:
    """What is valid but almost certainly not meant: `check` prints these, `run` logs them."""
    warnings = []
    if not config.prefixes and not config.asns:
        warnings.append("no prefixes are watched (prefixes: is empty)")
    if not config.rules:
        warnings.append("no rules are configured: nothing will ever fire (rules: is empty)")
    if not config.notifications.channels:
        warnings.append(
            "no notification channels: alerts show in /metrics, /api/v1/alerts and the status "
            "page, but nobody is told (see notifications.channels)"
        )
    return warnings
