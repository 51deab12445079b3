"""Reading untrusted YAML into typed values, with errors that name the file and the key path."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml

from monitor.core.measures import parse_utc

T = TypeVar("T")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_MISSING: Any = object()


class ConfigError(ValueError):
    """Invalid configuration; `str()` reads `FILE: key.path: problem`."""

    def __init__(self, path: str, problem: str, file: str = "") -> None:
        self.path = path
        self.problem = problem
        self.file = file
        super().__init__(self.describe())

    def describe(self) -> str:
        """The one-line message shown to operators."""
        where = ": ".join(p for p in (self.file, self.path) if p)
        return f"{where}: {self.problem}" if where else self.problem

    def in_file(self, file: str) -> ConfigError:
        """The same error, naming the file it came from."""
        return ConfigError(self.path, self.problem, file)


def join(path: str, key: str | int) -> str:
    """`rules` + 2 → `rules[2]`; `source` + `interval` → `source.interval`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def describe_value(value: Any) -> str:
    """A short rendering of a bad value for an error message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_duration(value: Any, path: str) -> float:
    """`90s`, `5m`, `1h`, `250ms`, `2d` or a bare number of seconds → seconds."""
    if isinstance(value, bool):
        raise ConfigError(
            path, f"must be a duration like 90s, 5m or 1h, got {describe_value(value)}"
        )
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(value) if isinstance(value, str) else None
        if not match:
            raise ConfigError(
                path, f"must be a duration like 90s, 5m or 1h, got {describe_value(value)}"
            )
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
    if not math.isfinite(seconds) or seconds < 0:
        raise ConfigError(path, f"must be a non-negative duration, got {describe_value(value)}")
    return seconds


def parse_time(value: Any, path: str) -> datetime:
    """An ISO 8601 time (naive means UTC; YAML may have parsed it already) → aware UTC."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    try:
        return parse_utc(string(value, path))
    except ValueError:
        raise ConfigError(
            path, f"must be a time like 2026-12-01T02:00:00Z, got {describe_value(value)}"
        ) from None


def parse_prefix(value: Any, path: str) -> str:
    """A canonical IPv4/IPv6 prefix with no host bits set."""
    if not isinstance(value, str):
        raise ConfigError(path, f"must be a prefix like 192.0.2.0/24, got {describe_value(value)}")
    try:
        net = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ConfigError(
            path, f"must be a prefix like 192.0.2.0/24, got {describe_value(value)}"
        ) from None
    if "/" not in value:
        raise ConfigError(path, f"needs a prefix length, got {describe_value(value)}")
    if net.network_address != ipaddress.ip_interface(value.strip()).ip:
        raise ConfigError(path, f"has host bits set: {value} (did you mean {net}?)")
    return str(net)


def parse_asn(value: Any, path: str) -> int:
    """An AS number in 1..4294967295 (`AS13335`, `13335` and `"13335"` all accepted)."""
    if isinstance(value, str):
        text = value.strip()
        digits = text[2:] if text.upper().startswith("AS") else text
        if digits.isdigit() and digits.isascii():
            value = int(digits)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4294967295:
        raise ConfigError(
            path, f"must be an AS number in 1..4294967295, got {describe_value(value)}"
        )
    return value


class Section:
    """A YAML mapping being read key by key; `close()` rejects the keys nobody asked for."""

    def __init__(self, data: Any, path: str, key_paths: Mapping[str, str] | None = None) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(
                path or "(top level)", f"must be a mapping, got {describe_value(data)}"
            )
        for key in data:
            if not isinstance(key, str):
                raise ConfigError(path, f"keys must be strings, got {describe_value(key)}")
        self.data: Mapping[str, Any] = data
        self.path = path
        self._key_paths = dict(key_paths or {})
        self._seen: set[str] = set()

    def where(self, key: str) -> str:
        """The key path of `key` (overrides may map a key to where it was written)."""
        return self._key_paths.get(key) or join(self.path, key)

    def has(self, key: str) -> bool:
        """Whether the key is present (and not null)."""
        return self.data.get(key) is not None

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        """The unconverted value, or `default`; a missing key without default is an error."""
        self._seen.add(key)
        value = self.data.get(key)
        if value is None:
            if default is _MISSING:
                raise ConfigError(self.where(key), "is required")
            return default
        return value

    def get(self, key: str, convert: Callable[[Any, str], T], default: Any = _MISSING) -> T:
        """The value converted by `convert(value, path)`, or `default` when absent."""
        value = self.raw(key, _MISSING if default is _MISSING else None)
        if value is None:
            result: T = default
            return result
        return convert(value, self.where(key))

    def sub(self, key: str) -> Section:
        """A nested mapping (empty when absent)."""
        return Section(self.raw(key, {}), self.where(key))

    def items(self, key: str) -> Iterator[tuple[str, Any]]:
        """`(path, item)` for each element of a list under `key` (empty when absent)."""
        value = self.raw(key, [])
        if not isinstance(value, list):
            raise ConfigError(self.where(key), f"must be a list, got {describe_value(value)}")
        for i, item in enumerate(value):
            yield join(self.where(key), i), item

    def close(self) -> None:
        """Reject unknown keys, naming the closest known ones."""
        unknown = sorted(set(self.data) - self._seen)
        if unknown:
            known = ", ".join(sorted(self._seen))
            raise ConfigError(self.where(unknown[0]), f"unknown key (known keys: {known})")


def string(value: Any, path: str) -> str:
    """A plain string (numbers are not silently turned into text)."""
    if not isinstance(value, str):
        raise ConfigError(path, f"must be a string, got {describe_value(value)}")
    return value


def name_of(value: Any, path: str) -> str:
    """A name (of a rule or channel): non-empty text."""
    text = string(value, path)
    if not text.strip():
        raise ConfigError(path, "must not be empty")
    return text


def boolean(value: Any, path: str) -> bool:
    """true or false."""
    if not isinstance(value, bool):
        raise ConfigError(path, f"must be true or false, got {describe_value(value)}")
    return value


def ratio(value: Any, path: str) -> float:
    """A number between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError(path, f"must be between 0 and 1, got {describe_value(value)}")
    return float(value)


def positive_int(value: Any, path: str) -> int:
    """A whole number of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            path, f"must be a whole number of at least 1, got {describe_value(value)}"
        )
    return value


def labels(value: Any, path: str) -> dict[str, str]:
    """A mapping of Prometheus-style label names to string values."""
    section = Section(value, path)
    result: dict[str, str] = {}
    for key, item in section.data.items():
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", key):
            raise ConfigError(join(path, key), "label names must match [a-zA-Z_][a-zA-Z0-9_]*")
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise ConfigError(join(path, key), f"must be a string, got {describe_value(item)}")
        result[key] = str(item)
    return result


def string_list(value: Any, path: str) -> tuple[str, ...]:
    """A list of strings."""
    if not isinstance(value, list):
        raise ConfigError(path, f"must be a list, got {describe_value(value)}")
    return tuple(string(v, join(path, i)) for i, v in enumerate(value))


def one_of(*choices: str) -> Callable[[Any, str], str]:
    """A converter accepting only the given strings."""

    def convert(value: Any, path: str) -> str:
        if value not in choices:
            raise ConfigError(
                path, f"must be one of {', '.join(choices)}, got {describe_value(value)}"
            )
        return str(value)

    return convert


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader refusing aliases: our files need none, and alias bombs expand exponentially."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise ConfigError(
                f"line {event.start_mark.line + 1}", "YAML aliases (*name) are not supported"
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Refuse a key given twice: YAML would let the last one win, silently."""
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self.construct_scalar(key_node)
            line = key_node.start_mark.line + 1
            if key in first:
                raise ConfigError(
                    f"line {line}", f"duplicate key {key!r} (first given on line {first[key]})"
                )
            first[key] = line
        return super().construct_mapping(node, deep=deep)


#: Deeper `[`/`{` nesting is refused before parsing: PyYAML's scanner is quadratic in it.
MAX_FLOW_DEPTH = 64


def _flow_depth(text: str) -> int:
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def load_yaml(text: str | bytes) -> Any:
    """Parse untrusted YAML safely; syntax problems are ConfigErrors naming the line."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if _flow_depth(text) > MAX_FLOW_DEPTH:
        raise ConfigError("", f"invalid YAML: nested deeper than {MAX_FLOW_DEPTH} levels")
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(where, f"invalid YAML: {problem}") from None
    except RecursionError:
        raise ConfigError("", "invalid YAML: nested too deeply") from None


def read_limited(path: str | Path, limit: int) -> bytes:
    """The file's bytes; unreadable or larger than `limit` is a ConfigError naming the file."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(limit + 1)
    except OSError as exc:
        raise ConfigError("", f"cannot read: {exc.strerror or exc}", str(path)) from None
    if len(raw) > limit:
        raise ConfigError("", f"larger than {limit} bytes", str(path))
    return raw
