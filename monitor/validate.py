"""Reading untrusted YAML into typed values, with errors that name the file and the key path."""

from __future__ import annotations

import difflib
import ipaddress
import math
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar, cast

from monitor.core.measures import parse_utc
from monitor.problems import Abandoned, FromEnv, Mark, Problems
from monitor.problems import ConfigError as ConfigError  # re-exported: its old home
from monitor.problems import describe_value as describe_value  # re-exported
from monitor.yamlload import entry_mark, mark_of
from monitor.yamlload import load_yaml as load_yaml  # re-exported: its old home

T = TypeVar("T")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_DURATION_PARTS = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_DURATION_WHOLE = re.compile(r"^\s*(?:\d+(?:\.\d+)?(?:ms|s|m|h|d)){2,8}\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_MISSING: Any = object()


def _plain(value: T) -> T:
    """`value` with plain strs again for those from the environment (what the rest stores)."""
    if isinstance(value, FromEnv):
        return cast(T, str(value))
    if isinstance(value, tuple):
        return cast(T, tuple(_plain(v) for v in value))
    return value


def join(path: str, key: str | int) -> str:
    """`rules` + 2 → `rules[2]`; `source` + `interval` → `source.interval`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def named(path: str, name: str) -> str:
    """`rules[2]` + `low-visibility` → `rules[2] (low-visibility)`: a list item by its name
    (as written: what the file says, not what an environment variable in it says)."""
    label = name.template if isinstance(name, FromEnv) else name.strip()
    plain = label.isprintable() and len(label) <= 60
    return f"{path} ({label if plain else describe_value(label)})"


def parse_duration(value: Any, path: str) -> float:
    """`90s`, `5m`, `1h`, `250ms`, `2d` or a bare number of seconds → seconds."""
    if isinstance(value, bool):
        raise ConfigError(
            path, f"must be a duration like 90s, 5m, 1h or 4h30m, got {describe_value(value)}"
        )
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(value) if isinstance(value, str) else None
        parts = _DURATION_PARTS.findall(value) if isinstance(value, str) and not match else []
        if not match and not (parts and _DURATION_WHOLE.match(value)):
            raise ConfigError(
                path, f"must be a duration like 90s, 5m, 1h or 4h30m, got {describe_value(value)}"
            )
        if match:
            seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
        else:  # 4h30m, 1m30s: the parts add up
            seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in parts)
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
    """A YAML mapping being read key by key; `close()` rejects the keys nobody asked for.

    Without `problems`, the first mistake raises its ConfigError. With `problems` (the
    configuration file), mistakes are recorded there and reading goes on: a bad value that has
    a default is recorded and the default used; a missing or bad value with no default, or a
    `fail()`, records the problem and raises `Abandoned`, ending this mapping (its later keys
    go unchecked); `close()` records every unknown key, suggesting the nearest known one.
    """

    def __init__(
        self,
        data: Any,
        path: str,
        key_paths: Mapping[str, str] | None = None,
        *,
        problems: Problems | None = None,
        mark: Mark | None = None,
    ) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(
                path or "(top level)", f"must be a mapping, got {describe_value(data)}"
            )
        for key in data:
            if not isinstance(key, str):
                raise ConfigError(path, f"keys must be strings, got {describe_value(key)}")
        self.data: Mapping[str, Any] = data
        self.path = path
        self.problems = problems
        self._mark = mark_of(data) or mark
        self._key_paths = dict(key_paths or {})
        self._seen: set[str] = set()
        self._failed: set[str] = set()

    def where(self, key: str) -> str:
        """The key path of `key` (overrides may map a key to where it was written)."""
        return self._key_paths.get(key) or join(self.path, key)

    def mark(self, key: str | None = None) -> Mark | None:
        """Where `key` (None: this mapping) was written, when known."""
        found = None if key is None else entry_mark(self.data, key)
        return found or self._mark

    def has(self, key: str) -> bool:
        """Whether the key is present (and not null)."""
        return self.data.get(key) is not None

    def failed(self, key: str) -> bool:
        """Whether a problem with `key` was recorded."""
        return key in self._failed

    def report(self, key: str | None, problem: str) -> None:
        """Record `problem` with `key` (None: the mapping) and read on; the first problem with
        a key is the one kept. Without `problems`, raise it."""
        path = self.path if key is None else self.where(key)
        if self.problems is None:
            raise ConfigError(path, problem)
        if key is not None:
            if key in self._failed:
                return
            self._failed.add(key)
        self.problems.add(path, problem, self.mark(key))

    def fail(self, key: str | None, problem: str) -> NoReturn:
        """Record `problem` with `key` (or raise it) and give up on this mapping."""
        self.report(key, problem)
        raise Abandoned

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        """The unconverted value, or `default`; a missing key without default is an error."""
        self._seen.add(key)
        value = self.data.get(key)
        if value is None:
            if default is _MISSING:
                self.require(key)
            return default
        return value

    def require(self, key: str) -> NoReturn:
        """Report `key` as required (or, with `problems`, the unknown key misspelling it)."""
        if self.problems is not None and self.misspelt(key):
            raise Abandoned
        self.fail(key, "is required")

    def misspelt(self, *keys: str) -> bool:
        """Whether a key nobody asked for looks like one of `keys`: then it is reported as
        `unknown key; did you mean "KEY"?` (rather than KEY as missing: that is the news)."""
        for key in self.data:
            if key not in self._seen:
                for nearest in difflib.get_close_matches(key, keys, n=1):
                    self._seen.add(key)
                    self.report(key, f'unknown key; did you mean "{nearest}"?')
                    return True
        return False

    def get(self, key: str, convert: Callable[[Any, str], T], default: Any = _MISSING) -> T:
        """The value converted by `convert(value, path)`, or `default` when absent."""
        value = self.raw(key, _MISSING if default is _MISSING else None)
        if value is None:
            result: T = default
            return result
        if isinstance(value, FromEnv) and value.unset:  # recorded where it was expanded
            self._failed.add(key)
            if default is _MISSING:
                raise Abandoned
            return cast(T, default)
        try:
            return _plain(convert(value, self.where(key)))
        except ConfigError as exc:
            if self.problems is None:
                raise
            self._failed.add(key)
            self.problems.add_error(exc, self.mark(key))
            if default is _MISSING:
                raise Abandoned from None
            return cast(T, default)

    def sub(self, key: str) -> Section:
        """A nested mapping (empty when absent)."""
        return Section(
            self.raw(key, {}), self.where(key), problems=self.problems, mark=self.mark(key)
        )

    def items(self, key: str) -> Iterator[tuple[str, Any]]:
        """`(path, item)` for each element of a list under `key` (empty when absent)."""
        value = self.raw(key, [])
        if not isinstance(value, list):
            self.fail(key, f"must be a list, got {describe_value(value)}")
        for i, item in enumerate(value):
            yield join(self.where(key), i), item

    def each(self, key: str, convert: Callable[[Any, str], T]) -> list[T]:
        """Each element of the list under `key`, converted by `convert(item, path)`. With
        `problems`, a bad element is recorded and left out (and a non-list is an empty one)."""
        value = self.raw(key, [])
        if not isinstance(value, list):
            self.report(key, f"must be a list, got {describe_value(value)}")
            return []
        result: list[T] = []
        for i, item in enumerate(value):
            if isinstance(item, FromEnv) and item.unset:
                continue
            try:
                result.append(_plain(convert(item, join(self.where(key), i))))
            except Abandoned:
                continue
            except ConfigError as exc:
                if self.problems is None:
                    raise
                self.problems.add_error(exc, entry_mark(value, i))
        return result

    def sections(self, key: str, read: Callable[[Section], T]) -> list[T]:
        """`read(section)` for each mapping of the list under `key`, as `each` does."""
        return self.each(key, lambda item, path: read(Section(item, path, problems=self.problems)))

    def close(self) -> None:
        """Reject unknown keys, naming the closest known ones."""
        unknown = [key for key in self.data if key not in self._seen]
        if not unknown:
            return
        known = sorted(self._seen)
        if self.problems is None:
            raise ConfigError(
                self.where(min(unknown)), f"unknown key (known keys: {', '.join(known)})"
            )
        for key in unknown:
            self.report(key, unknown_key(key, known))


def unknown_key(key: str, known: list[str]) -> str:
    """`unknown key; did you mean "threshold"?`, or the known keys when none is close."""
    for nearest in difflib.get_close_matches(key, known, n=1):
        return f'unknown key; did you mean "{nearest}"?'
    return f"unknown key (known keys: {', '.join(known) or 'none'})"


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


def at_least_a_second(value: Any, path: str) -> float:
    """A duration of at least 1 s, like `source.interval` (`sync`, `events_interval`…)."""
    seconds = parse_duration(value, path)
    if seconds < 1:
        raise ConfigError(path, "must be at least 1s")
    return seconds


def one_of(*choices: str) -> Callable[[Any, str], str]:
    """A converter accepting only the given strings."""

    def convert(value: Any, path: str) -> str:
        if value not in choices:
            raise ConfigError(
                path, f"must be one of {', '.join(choices)}, got {describe_value(value)}"
            )
        return str(value)

    return convert


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
