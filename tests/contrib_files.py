"""What contrib/ holds, read: the Prometheus alerting rules and the Grafana dashboard's queries."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import yaml

from tests.paths import DASHBOARD, RULES

METRIC_NAME = re.compile(r"\b(?:radar_monitor|process)_[a-z_]+")
#: Sample names a family of each type produces in the text format.
SAMPLE_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "gauge": ("",),
    "untyped": ("",),
}
#: Grafana's variables, as the dashboard is used: every prefix, Grafana's usual intervals.
GRAFANA_VARIABLES = {
    "$prefix": ".*",
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "5m",
}


def rules() -> list[dict[str, Any]]:
    """Every rule of the rules file."""
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def panel_targets(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(panel title, expr) of every query of every panel, rows' nested panels included."""
    stack = list(dashboard["panels"])
    while stack:
        panel = stack.pop()
        stack.extend(panel.get("panels", []))
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]


def dashboard() -> dict[str, Any]:
    """The dashboard JSON."""
    doc: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return doc


def grafana_to_promql(expr: str) -> str:
    """`expr` with Grafana's variables replaced as Grafana would (every prefix selected)."""
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    # `$1` is label_replace's capture group: no variable has that name, so Grafana leaves it.
    assert not re.search(r"\$(?!\d)", expr), f"unsubstituted variable in {expr!r}"
    return expr


def exported_names(exposition: str) -> set[str]:
    """Every sample name the families in a /metrics text can produce."""
    names: set[str] = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split()
            base = family.removesuffix("_total") if kind == "counter" else family
            names.update(base + suffix for suffix in SAMPLE_SUFFIXES[kind])
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names
