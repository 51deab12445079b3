"""The shipped unit file under Debian's real `systemd-analyze`: it verifies, and it is locked down."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.paths import UNIT
from tests.tools import require_tool

MAX_EXPOSURE = 1.5


def run_analyze(*args: str) -> subprocess.CompletedProcess[str]:
    tool = require_tool("systemd-analyze")
    env = {**os.environ, "SYSTEMD_PAGER": "cat", "SYSTEMD_COLORS": "0", "LC_ALL": "C.UTF-8"}
    return subprocess.run(
        [tool, *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=env,
        timeout=120,
        check=False,
    )


def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    # `verify` insists that ExecStart= is an existing executable, and the daemon is not installed
    # at /usr/local/bin here, so check a copy whose ExecStart= points at /bin/true instead.
    text = UNIT.read_text(encoding="utf-8")
    assert "ExecStart=/usr/local/bin/radar-monitor " in text
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace("ExecStart=/usr/local/bin/radar-monitor ", "ExecStart=/bin/true "))
    result = run_analyze("verify", "--man=no", str(copy))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Unknown or misspelt keys are only warned about (exit 0), naming the file.
    assert str(copy) not in output, output


def test_unit_exposure_score_is_low() -> None:
    # --threshold is on the 0-100 scale, i.e. ten times the printed score.
    threshold = round(MAX_EXPOSURE * 10)
    result = run_analyze(
        "security", "--offline=yes", f"--threshold={threshold}", "--no-pager", str(UNIT)
    )
    output = result.stdout + result.stderr
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", output)
    assert match, output
    assert float(match[1]) <= MAX_EXPOSURE, output
    assert result.returncode == 0, output
