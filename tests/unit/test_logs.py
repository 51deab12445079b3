"""Log lines: one per event, human or JSON, registered secrets masked."""

from __future__ import annotations

import json
import logging

import pytest

from monitor.ops.logs import mask, register_secret, setup_logging


def ours(err: str) -> list[str]:
    """Lines of this test's logger (other tests' leftovers may log meanwhile)."""
    return [line for line in err.splitlines() if "monitor.test" in line or line.startswith("    ")]


def test_json_lines_and_masking(capsys: pytest.CaptureFixture[str]) -> None:
    register_secret("hunter2-token-value")
    setup_logging("debug", "json")
    logging.getLogger("monitor.test").info("token is %s\nsecond line", "hunter2-token-value")
    err = ours(capsys.readouterr().err)
    assert len(err) == 1
    doc = json.loads(err[0])
    assert doc["level"] == "info" and doc["logger"] == "monitor.test"
    assert doc["msg"] == "token is ********\nsecond line"
    assert doc["ts"].endswith("Z")


def test_human_lines_indent_continuations(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("info", "human")
    logging.getLogger("monitor.test").warning("first\nsecond")
    logging.getLogger("monitor.test").debug("hidden")
    lines = ours(capsys.readouterr().err)
    assert lines[0].endswith("WARNING monitor.test: first")
    assert lines[1] == "    second"
    assert len(lines) == 2


def test_mask_ignores_short_values() -> None:
    register_secret("abc")  # too short to mask without mangling ordinary words
    assert mask("abc def") == "abc def"
