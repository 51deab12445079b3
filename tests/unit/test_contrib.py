"""contrib/ as files: every Prometheus rule is labelled, annotated and unit-tested both ways, and
the Grafana dashboard is provisionable as it is and has a row for the stream
(tests/e2e/test_contrib.py runs them for real)."""

from __future__ import annotations

import re

import yaml

from tests.contrib_files import dashboard, panel_targets, rules
from tests.paths import PROVISIONING, RULE_TESTS


def test_every_rule_is_labelled_annotated_and_unit_tested_both_ways() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    cases = [case for group in tests for case in group.get("alert_rule_test", [])]
    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names))
    for rule in rules():
        name = rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        assert {"summary", "description"} <= set(rule["annotations"]), name
        mine = [case for case in cases if case["alertname"] == name]
        assert any(case.get("exp_alerts") for case in mine), f"{name}: no firing case"
        assert any(not case.get("exp_alerts") for case in mine), f"{name}: no silent case"
    assert {case["alertname"] for case in cases} <= set(names)


def test_dashboard_is_provisionable_as_is() -> None:
    doc = dashboard()
    assert doc["uid"] == "radar-monitor" and "id" not in doc and "__inputs" not in doc
    assert 36 <= doc["schemaVersion"] <= 41
    variables = {v["name"]: v for v in doc["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    prefix = variables["prefix"]
    assert prefix["type"] == "query" and prefix["multi"] and prefix["includeAll"]
    assert prefix["query"].startswith("label_values(radar_monitor_prefix_")
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
    for panel in doc["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            for target in panel["targets"]:
                assert target["datasource"] == panel["datasource"], panel["title"]
    kinds = {p["type"] for p in doc["panels"]}
    assert {"timeseries", "table", "stat"} <= kinds
    provider = yaml.safe_load(PROVISIONING.read_text())
    assert provider["apiVersion"] == 1 and provider["providers"][0]["type"] == "file"


def test_the_stream_row_has_a_panel_for_each_fact_the_issue_lists() -> None:
    panels = dashboard()["panels"]
    rows = [i for i, p in enumerate(panels) if p["type"] == "row"]
    start = next(i for i in rows if panels[i]["title"] == "RIS Live stream")
    end = min((i for i in rows if i > start), default=len(panels))
    section = {"panels": panels[start + 1 : end]}
    used = {
        name
        for _, expr in panel_targets(section)
        for name in re.findall(r"radar_monitor_stream_[a-z_]+", expr)
    }
    assert used == {
        "radar_monitor_stream_connected",
        "radar_monitor_stream_updates_total",
        "radar_monitor_stream_malformed_frames_total",
        "radar_monitor_stream_reconnects_total",
        "radar_monitor_stream_last_canary_timestamp_seconds",
        "radar_monitor_stream_more_specifics",
        "radar_monitor_stream_confirmations_total",
        "radar_monitor_stream_messages_total",
        "radar_monitor_stream_subscriptions",
    }
