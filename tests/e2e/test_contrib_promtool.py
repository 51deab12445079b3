"""contrib/prometheus under Debian's `promtool`: the rules load, their unit tests pass, and the
example Prometheus config is valid and loads them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.contrib_files import rules
from tests.paths import PROMETHEUS_EXAMPLE, RULE_TESTS, RULES
from tests.tools import require_tool


def run(*args: str, cwd: Path) -> str:
    done = subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def test_promtool_accepts_the_rules_and_their_unit_tests_pass(tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    checked = run(promtool, "check", "rules", str(RULES), cwd=tmp_path)
    assert f"SUCCESS: {len(rules())} rules found" in checked
    # From another directory: rule_files in the test file resolve next to the test file.
    tested = run(promtool, "test", "rules", str(RULE_TESTS), cwd=tmp_path)
    assert "SUCCESS" in tested and "FAILED" not in tested


def test_example_prometheus_config_is_valid_and_loads_the_rules(tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    # rule_files paths are relative to the config file, not to the working directory.
    output = run(promtool, "check", "config", str(PROMETHEUS_EXAMPLE), cwd=tmp_path)
    assert "1 rule files found" in output and f"SUCCESS: {len(rules())} rules found" in output
    config = yaml.safe_load(PROMETHEUS_EXAMPLE.read_text())
    [job] = config["scrape_configs"]
    assert job["job_name"] == "radar-monitor"
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:9847"]
