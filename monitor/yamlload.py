"""Untrusted YAML text → plain values, safely.

Only safe tags; a key given twice is a problem (YAML would let the last one win, silently);
`[`/`{` nesting deeper than `MAX_FLOW_DEPTH` is refused before parsing. Aliases (`*name`) are
refused unless the caller allows them, as the configuration file does: then merge keys
(`<<: *name`) work too, and a document that would expand to more than `MAX_NODES` nodes (an
alias bomb: a few lines that expand to billions) is refused while it is composed, before
anything is built from it. The configuration's mappings and lists remember where each entry was
written (`mark_of`, `entry_mark`), so that its problems can be told in file order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import yaml

from monitor.problems import ConfigError, Mark, Problem

#: Deeper `[`/`{` nesting is refused before parsing: PyYAML's scanner is quadratic in it.
MAX_FLOW_DEPTH = 64
#: Where aliases are allowed, a document with more nodes than this, once every alias is
#: expanded, is refused. Far above any real configuration (a prefix is about ten nodes).
MAX_NODES = 100_000


class YamlMapping(dict[Any, Any]):
    """A mapping that knows where it starts (`mark`) and where each key was written."""

    def __init__(
        self,
        items: Mapping[Any, Any] | Iterable[tuple[Any, Any]] = (),
        mark: Mark | None = None,
        key_marks: Mapping[Any, Mark] | None = None,
    ) -> None:
        super().__init__(items)
        self.mark = mark
        self.key_marks: dict[Any, Mark] = dict(key_marks or {})


class YamlList(list[Any]):
    """A list that knows where it starts (`mark`) and where each item was written."""

    def __init__(
        self, items: Iterable[Any] = (), mark: Mark | None = None, item_marks: Iterable[Mark] = ()
    ) -> None:
        super().__init__(items)
        self.mark = mark
        self.item_marks: list[Mark] = list(item_marks)


def mark_of(value: Any) -> Mark | None:
    """Where a mapping or list from the file starts (None for other values)."""
    return value.mark if isinstance(value, (YamlMapping, YamlList)) else None


def entry_mark(container: Any, key: Any) -> Mark | None:
    """Where the key (or list index) `key` of `container` was written, else the container."""
    if isinstance(container, YamlMapping):
        return container.key_marks.get(key, container.mark)
    if isinstance(container, YamlList):
        if isinstance(key, int) and 0 <= key < len(container.item_marks):
            return container.item_marks[key]
        return container.mark
    return None


def rebuilt(original: Any, content: Any) -> Any:
    """`content`, a dict or list made from `original`, keeping `original`'s marks."""
    if isinstance(original, YamlMapping):
        return YamlMapping(content, original.mark, original.key_marks)
    if isinstance(original, YamlList):
        return YamlList(content, original.mark, original.item_marks)
    return content


def merged(base: Mapping[Any, Any], changes: Mapping[Any, Any]) -> YamlMapping:
    """`base` updated with `changes`, each key marked where its value was written."""
    marks = {k: m for k in base if (m := entry_mark(base, k)) is not None}
    marks.update({k: m for k in changes if (m := entry_mark(changes, k)) is not None})
    return YamlMapping({**base, **changes}, mark_of(base), marks)


def _mark(mark: yaml.Mark) -> Mark:
    return (mark.line + 1, mark.column + 1)


class _Loader(yaml.SafeLoader):
    """SafeLoader collecting duplicate keys, refusing aliases."""

    aliases = False

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.problems: list[Problem] = []

    def compose_node(self, parent: Any, index: Any) -> Any:
        if not self.aliases and self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise ConfigError(
                f"line {event.start_mark.line + 1}", "YAML aliases (*name) are not supported"
            )
        return super().compose_node(parent, index)

    def compose_mapping_node(self, anchor: Any) -> Any:
        # Checked as written, before merge keys are flattened into the mapping: a key that
        # overrides one merged in is not a duplicate, a key written twice is.
        node = super().compose_mapping_node(anchor)
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            line = key_node.start_mark.line + 1
            if key_node.value in first:
                self.problems.append(
                    Problem(
                        f"line {line}",
                        f"duplicate key {key_node.value!r} (first given on line "
                        f"{first[key_node.value]})",
                        mark=_mark(key_node.start_mark),
                    )
                )
            else:
                first[key_node.value] = line
        return node


class _BoundedLoader(_Loader):
    """Aliases and merge keys allowed, up to `MAX_NODES` once expanded; values keep marks."""

    aliases = True

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        #: The expanded size of every node composed so far, by id (the nodes live as long).
        self._sizes: dict[int, int] = {}
        self._aliased = False

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            node = super().compose_node(parent, index)
            if id(node) not in self._sizes:  # still being composed: it contains the alias
                raise ConfigError(
                    f"line {event.start_mark.line + 1}",
                    f"YAML alias *{event.anchor} is inside the node it names (the document "
                    "would be endless)",
                )
            self._aliased = True
            return node
        node = super().compose_node(parent, index)
        size = 1
        if isinstance(node, yaml.SequenceNode):
            size += sum(self._sizes[id(item)] for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            size += sum(self._sizes[id(k)] + self._sizes[id(v)] for k, v in node.value)
        if size > MAX_NODES:
            problem = f"the document has more than {MAX_NODES} YAML nodes: refused"
            if self._aliased:
                problem = (
                    f"YAML aliases (*name) expand the document to more than {MAX_NODES} "
                    "nodes: refused as a possible alias bomb"
                )
            raise ConfigError(f"line {node.start_mark.line + 1}", problem)
        self._sizes[id(node)] = size
        return node


def _construct_mapping(loader: _BoundedLoader, node: yaml.MappingNode) -> Iterator[YamlMapping]:
    data = YamlMapping(mark=_mark(node.start_mark))
    yield data
    data.update(loader.construct_mapping(node))  # flattens merge keys into node.value
    for key_node, _ in node.value:  # merged keys first, then the mapping's own: the last wins
        data.key_marks[loader.construct_object(key_node)] = _mark(key_node.start_mark)


def _construct_sequence(loader: _BoundedLoader, node: yaml.SequenceNode) -> Iterator[YamlList]:
    data = YamlList(mark=_mark(node.start_mark))
    yield data
    data.extend(loader.construct_sequence(node))
    data.item_marks = [_mark(item.start_mark) for item in node.value]


_BoundedLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_BoundedLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def _flow_depth(text: str) -> int:
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_yaml(text: str, *, aliases: bool = False) -> tuple[Any, list[Problem]]:
    """The document and its duplicate keys; what leaves nothing to read is a ConfigError."""
    if _flow_depth(text) > MAX_FLOW_DEPTH:
        raise ConfigError("", f"invalid YAML: nested deeper than {MAX_FLOW_DEPTH} levels")
    try:
        loader = (_BoundedLoader if aliases else _Loader)(text)  # reads: may refuse the text
        try:
            return loader.get_single_data(), loader.problems
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(where, f"invalid YAML: {problem}") from None
    except RecursionError:
        raise ConfigError("", "invalid YAML: nested too deeply") from None


def load_yaml(text: str | bytes) -> Any:
    """Parse untrusted YAML without aliases; the first problem (naming its line) is raised."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    data, problems = parse_yaml(text)
    if problems:
        first = min(problems, key=lambda p: p.mark or (0, 0))
        raise ConfigError(first.path, first.problem)
    return data
