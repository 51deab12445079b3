"""Hostile configuration files: `check` and `run` answer exit 2 with a message, fast, never a
traceback. Hypothesis writes arbitrary YAML; hand-made bombs cover what it rarely finds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.cli import main

KEYS = [
    "source",
    "prefixes",
    "rules",
    "notifications",
    "http",
    "state",
    "silences",
    "prefix",
    "origins",
    "name",
    "type",
    "severity",
    "threshold",
    "for",
    "max_age",
    "interval",
    "channels",
    "url",
    "matchers",
    "labels",
    "min_visibility",
    "base_url",
    "token_file",
]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "1.1.1.0/24",
            "5m",
            "rpki_invalid",
            "critical",
            "${HOME}",
            "${UNSET_VAR_XYZ}",
            "AS13335",
            "-1s",
        ]
    )
)
DOCS = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=40,
)
RAW = st.text(max_size=400) | st.binary(max_size=400).map(lambda b: b.decode("latin-1"))


def run_cli(*args: str) -> int:
    try:
        return main(list(args))
    except SystemExit as exc:  # argparse exits; anything else is a crash the test must see
        return int(exc.code or 0)


def check(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    code = run_cli("check", "--config", str(path))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code == 0:
        return  # hypothesis wrote a valid config; `run` would start a daemon
    assert code == 2 and f"{path}" in err and "config error" in err, err
    assert run_cli("run", "--config", str(path)) == 2
    assert "config error" in capsys.readouterr().err


@settings(
    max_examples=300, deadline=1000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(DOCS)
def test_arbitrary_yaml_structures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], doc: object
) -> None:
    check(tmp_path, yaml.safe_dump(doc, allow_unicode=True), capsys)


@settings(
    max_examples=300, deadline=1000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(RAW)
def test_arbitrary_text(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> None:
    check(tmp_path, text, capsys)


BOMBS = {
    "alias bomb": "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    ),
    "deep nesting": "rules: " + "[" * 50_000 + "]" * 50_000 + "\n",
    "deep mapping": "rules: " + "{a: " * 2_000 + "1" + "}" * 2_000 + "\n",
    "huge document": "prefixes:\n" + "  - {prefix: 10.0.0.0/8, origins: [1]}\n" * 200_000,
    "long line": "source: {base_url: '" + "x" * 1_000_000 + "'}\n",
    "binary": "\x00\x01\x02\xff" * 1000,
    "python tag": "source: !!python/object/apply:os.system ['touch /tmp/pwned']\n",
}


@pytest.mark.parametrize("name", list(BOMBS))
@pytest.mark.parametrize("command", ["check", "run"])
def test_bombs_in_a_real_process(tmp_path: Path, name: str, command: str) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_bytes(BOMBS[name].encode("utf-8", "surrogateescape"))
    result = subprocess.run(
        [sys.executable, "-m", "monitor", command, "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2, result.stderr
    assert (
        result.stderr.startswith("radar-monitor: config error: ")
        and "Traceback" not in result.stderr
    )
    assert len(result.stderr) < 2000  # a message, not the document echoed back
