"""What contrib/ holds, read: the Prometheus alerting rules and the Grafana dashboard's queries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import yaml

from tests.paths import DASHBOARD, RULES


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
