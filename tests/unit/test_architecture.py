"""The one-way flow, checked on the source tree: config → sources → observations → rules →
findings → lifecycle → events → sinks. A change that couples the parts again fails here."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

from tests.paths import PACKAGE, ROOT

#: Outside `sources/`, only these may be imported: a source's wire format stays inside it.
SOURCE_ENTRY_POINTS = {"monitor.sources.base", "monitor.sources.factory", "monitor.sources.polling"}
MAX_LINES = 400


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(path: Path) -> set[str]:
    """The `monitor.*` modules `path` imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("monitor"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("monitor")}
    return found


MODULES = modules()


def violations(names: list[str], bad: Callable[[str, str], bool]) -> dict[str, list[str]]:
    """For each module in `names`, the imports for which `bad(module, imported)` holds."""
    found = {}
    for name in names:
        hits = sorted(m for m in imports(MODULES[name]) if bad(name, m))
        if hits:
            found[name] = hits
    return found


def test_the_core_imports_only_the_core() -> None:
    core = [n for n in MODULES if n.startswith("monitor.core")]
    assert violations(core, lambda _, m: not m.startswith("monitor.core")) == {}


def test_no_wire_format_past_the_sources() -> None:
    outside = [n for n in MODULES if not n.startswith("monitor.sources")]
    assert (
        violations(
            outside, lambda _, m: m.startswith("monitor.sources.") and m not in SOURCE_ENTRY_POINTS
        )
        == {}
    )


def test_rule_modules_are_reached_only_through_the_registry() -> None:
    outside = [n for n in MODULES if not n.startswith("monitor.rules")]
    assert violations(outside, lambda _, m: m.startswith("monitor.rules.")) == {}


def test_judging_and_sinks_never_see_a_source() -> None:
    judging = [
        n for n in MODULES if n.startswith(("monitor.rules", "monitor.sinks", "monitor.exposition"))
    ]
    judging += ["monitor.core.lifecycle", "monitor.pipeline", "monitor.state"]
    assert violations(judging, lambda _, m: m.startswith("monitor.sources")) == {}


def test_modules_stay_small() -> None:
    sizes = {n: len(p.read_text(encoding="utf-8").splitlines()) for n, p in MODULES.items()}
    assert {n: lines for n, lines in sizes.items() if lines > MAX_LINES} == {}


def test_test_modules_and_the_testkit_stay_small() -> None:
    files = sorted((ROOT / "tests").rglob("*.py")) + sorted((ROOT / "testkit").rglob("*.py"))
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines()) for p in files
    }
    assert {n: lines for n, lines in sizes.items() if lines > MAX_LINES} == {}
