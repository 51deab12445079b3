"""Configuration problems: a `ConfigError` carries every problem found in a file, in file order.

A file is read in parts (each rule, each prefix, each channel, `source`…). A mistake is recorded
in `Problems` and reading goes on; a part that cannot go on raises `Abandoned` (its problem is
recorded already), and `Problems.attempt` moves on to the next part. At the end `check()` raises
one ConfigError with them all, sorted by where in the file they are. A string expanded from
`${VAR}` is a `FromEnv`: messages quoting it show the `${VAR}`, not the value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

T = TypeVar("T")

#: Where in the text: (line, column), both counted from 1.
Mark = tuple[int, int]
#: At most this many problems are shown; a hostile file could have one per value.
MAX_SHOWN = 100


@dataclass(frozen=True)
class Problem:
    """One mistake: the key path, what is wrong, and (for ordering) where it was written."""

    path: str
    problem: str
    file: str = ""
    mark: Mark | None = None

    def describe(self) -> str:
        """`FILE: key.path: problem`."""
        where = ": ".join(p for p in (self.file, self.path) if p)
        return f"{where}: {self.problem}" if where else self.problem


def _order(problem: Problem) -> Mark:
    return problem.mark or (0, 0)


class ConfigError(ValueError):
    """Invalid configuration: `problems`, in file order; `path`, `problem` and `file` are the
    first one's. `str()` is `describe()`: `FILE: key.path: problem` for one problem; for several,
    `FILE: N problems:` and then one such line for each."""

    problems: tuple[Problem, ...]

    def __init__(self, path: str, problem: str, file: str = "") -> None:
        self._hold((Problem(path, problem, file),))

    @classmethod
    def of(cls, problems: Iterable[Problem]) -> ConfigError:
        """One error for `problems` (at least one), sorted into file order."""
        error = cls.__new__(cls)
        error._hold(tuple(sorted(problems, key=_order)))
        return error

    def _hold(self, problems: tuple[Problem, ...]) -> None:
        if not problems:
            raise ValueError("a ConfigError needs at least one problem")
        self.problems = problems
        first = problems[0]
        self.path, self.problem, self.file = first.path, first.problem, first.file
        ValueError.__init__(self, self.describe())

    def describe(self) -> str:
        """The message shown to operators: every problem, one per line."""
        if len(self.problems) == 1:
            return self.problems[0].describe()
        files = {p.file for p in self.problems}
        head = f"{len(self.problems)} problems:"
        if len(files) == 1 and self.file:
            head = f"{self.file}: {head}"
        lines = [head] + [f"  {p.describe()}" for p in self.problems[:MAX_SHOWN]]
        if len(self.problems) > MAX_SHOWN:
            lines.append(f"  ... and {len(self.problems) - MAX_SHOWN} more problems")
        return "\n".join(lines)

    def in_file(self, file: str) -> ConfigError:
        """The same problems, naming the file they came from."""
        return ConfigError.of(replace(p, file=file) for p in self.problems)


class FromEnv(str):
    """A string that named environment variables (`${VAR}`): its repr and format (so every
    message quoting it) show what the file says, never the value; `str()` is the value.
    `unset` when a variable was not set (recorded where the string was expanded)."""

    template: str
    unset: bool

    def __new__(cls, value: str, template: str, unset: bool) -> FromEnv:
        text = super().__new__(cls, value)
        text.template, text.unset = template, unset
        return text

    def __repr__(self) -> str:
        return repr(self.template)

    def __format__(self, spec: str) -> str:
        return format(self.template, spec)


class Abandoned(Exception):
    """A part of the file cannot be read any further; its problem is recorded already."""


class Problems:
    """The problems of one file so far; `check()` raises them all as one ConfigError."""

    def __init__(self, found: Iterable[Problem] = ()) -> None:
        self.found: list[Problem] = []
        self._seen: set[Problem] = set()
        for problem in found:
            self.add(problem.path, problem.problem, problem.mark)

    def add(self, path: str, problem: str, mark: Mark | None) -> None:
        """Record a problem (the same one at the same place is kept once)."""
        item = Problem(path, problem, mark=mark)
        if item not in self._seen:
            self._seen.add(item)
            self.found.append(item)

    def add_error(self, error: ConfigError, mark: Mark | None) -> None:
        """Record the problems of `error`; those that do not know their place get `mark`."""
        for p in error.problems:
            self.add(p.path, p.problem, p.mark or mark)

    def attempt(self, mark: Mark | None, read: Callable[[], T]) -> T | None:
        """`read()`, or None when it raised a ConfigError (recorded at `mark`) or gave up."""
        try:
            return read()
        except Abandoned:
            return None
        except ConfigError as exc:
            self.add_error(exc, mark)
            return None

    def check(self) -> None:
        """Raise every problem recorded, as one ConfigError."""
        if self.found:
            raise ConfigError.of(self.found)


def describe_value(value: Any) -> str:
    """A short rendering of a bad value for an error message, never of a possible secret.

    A URL (`json://user:pass@…`), and anything with `@` is described by
    its type and length instead: a channel URL typed into the wrong key, or given as a list,
    would otherwise reach the log of a reload before it is known as a secret.
    """
    if _may_be_secret(value):
        return _shape(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _may_be_secret(value: Any) -> bool:
    if isinstance(value, FromEnv):
        return False  # its repr is the `${VAR}` the file wrote, never the value
    if isinstance(value, str):
        return "://" in value or "@" in value or (":" in value and "/" in value)
    if isinstance(value, (list, tuple)):
        return any(_may_be_secret(v) for v in value)
    if isinstance(value, dict):
        return any(_may_be_secret(k) or _may_be_secret(v) for k, v in value.items())
    return False


def _shape(value: Any) -> str:
    """`a string of 43 characters`, `a list of 2 items`: what a hidden value was."""
    if isinstance(value, str):
        return f"a string of {len(value)} characters (not shown: it may be a secret)"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} items (not shown: it may hold a secret)"
    if isinstance(value, dict):
        return f"a mapping of {len(value)} keys (not shown: it may hold a secret)"
    return f"a {type(value).__name__}"
