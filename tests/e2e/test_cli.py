"""The real `radar-monitor` CLI as a subprocess against the fake Radar server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor import __version__
from testkit.answers import OriginSpec, encode, make_answer
from testkit.config import (
    RPKI_INVALID,
    STALE_COLLECTORS,
    UNEXPECTED_ORIGIN,
    daemon_yaml,
    write_config,
)
from testkit.fakeradar import DEFAULT_TOKEN, FakeRadar
from tests.incidents import CLEAN, CLEAN_ORIGINS, HIJACK, V6, VICTIM, VICTIM_ORIGINS


@pytest.fixture(autouse=True)
def scenario(fake: FakeRadar) -> None:
    fake.clear_faults()
    fake.set_prefix(CLEAN, CLEAN_ORIGINS, n_routes=400)
    fake.set_prefix(V6, [OriginSpec(64500, ratio=0.95)], n_routes=200, ts_style="z")
    fake.set_prefix(VICTIM, VICTIM_ORIGINS, n_routes=400)


def cli_config(tmp_path: Path, fake: FakeRadar, prefixes: list[str]) -> Path:
    """A config for `once`: `prefixes` with their expected origin, four rules, no retries."""
    watched = [
        f"{{prefix: '{p}', origins: [{64501 if p == VICTIM else 64500}],"
        f" description: 'watched {p}'}}"
        for p in prefixes
    ]
    rules = [
        RPKI_INVALID,
        UNEXPECTED_ORIGIN,
        "{name: low-visibility, type: visibility_below, threshold: 0.8, for: 5m,"
        " severity: warning}",
        STALE_COLLECTORS,
    ]
    text = daemon_yaml(fake.base_url, watched, rules, source={"retries": 0, "timeout": "5s"})
    return write_config(tmp_path, text)


def run(*args: str, token: str | None = DEFAULT_TOKEN) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CLOUDFLARE_API_TOKEN", "CREDENTIALS_DIRECTORY")
    }
    if token is not None:
        env["CLOUDFLARE_API_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_version() -> None:
    result = run("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"radar-monitor {__version__}")


def test_check_ok_and_bad(tmp_path: Path, fake: FakeRadar) -> None:
    good = cli_config(tmp_path, fake, [CLEAN])
    result = run("check", "--config", str(good))
    assert result.returncode == 0, result.stderr
    assert "1 prefixes, 4 rules" in result.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("threshold: 0.8", "threshold: 1.5"))
    result = run("check", "--config", str(bad))
    assert result.returncode == 2
    assert (
        f"{bad}: rules[2] (low-visibility).threshold: must be between 0 and 1, got 1.5"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_clean_prefixes_exit_0(tmp_path: Path, fake: FakeRadar) -> None:
    result = run("once", "--config", str(cli_config(tmp_path, fake, [CLEAN, V6])))
    assert result.returncode == 0, result.stderr
    assert "No findings." in result.stdout
    assert CLEAN in result.stdout and V6 in result.stdout


def test_hijack_exits_1_with_json_findings(tmp_path: Path, fake: FakeRadar) -> None:
    fake.set_prefix(VICTIM, HIJACK, n_routes=400)
    config = cli_config(tmp_path, fake, [CLEAN, VICTIM])
    result = run("once", "--config", str(config), "--format", "json")
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    found = {(f["rule"], f["prefix"], f["origin"]) for f in doc["findings"]}
    assert found == {
        ("rpki-invalid", VICTIM, 666),
        ("unexpected-origin", VICTIM, 666),
        ("low-visibility", VICTIM, None),  # `for` is ignored by once
    }
    for finding in doc["findings"]:
        assert set(finding) >= {
            "rule",
            "type",
            "severity",
            "prefix",
            "parent",
            "origin",
            "upstream",
            "collector",
            "value",
            "threshold",
            "message",
        }
        assert finding["collector"] is None
        # A watched prefix is no more-specific, and no rule here judges upstreams.
        assert finding["parent"] is None and finding["upstream"] is None
    prefixes = {p["prefix"]: p for p in doc["prefixes"]}
    assert prefixes[CLEAN]["status"] == "ok" and prefixes[CLEAN]["error"] is None
    origins = {o["asn"]: o for o in prefixes[VICTIM]["origins"]}
    assert origins[666]["expected"] is False and origins[666]["rpki"] == "invalid"
    assert origins[64501]["expected"] is True
    assert origins[666]["as_name"] and origins[666]["total_peers"] > 0
    assert 0.3 < origins[666]["visibility"] < 0.5


def test_table_lists_findings(tmp_path: Path, fake: FakeRadar) -> None:
    fake.set_prefix(
        VICTIM, [OriginSpec(64501, ratio=0.5), OriginSpec(666, rpki="invalid", ratio=0.45)]
    )
    result = run("once", "--config", str(cli_config(tmp_path, fake, [VICTIM])))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["SEVERITY", "RULE", "PREFIX", "SUBJECT"]
    assert any(line.startswith("critical  unexpected-origin") and "666" in line for line in lines)


def test_unreachable_prefix_exits_3(tmp_path: Path, fake: FakeRadar) -> None:
    fake.set_fault("500", prefix=V6)
    result = run(
        "once", "--config", str(cli_config(tmp_path, fake, [CLEAN, V6])), "--format", "json"
    )
    assert result.returncode == 3
    prefixes = {p["prefix"]: p for p in json.loads(result.stdout)["prefixes"]}
    assert prefixes[V6]["status"] == "error" and "HTTP 500" in prefixes[V6]["error"]
    assert f"{V6}: HTTP 500" in result.stderr


def test_fired_wins_over_unreachable(tmp_path: Path, fake: FakeRadar) -> None:
    fake.set_fault("500", prefix=V6)
    fake.set_prefix(VICTIM, [OriginSpec(666, rpki="invalid", ratio=0.9)])
    result = run("once", "--config", str(cli_config(tmp_path, fake, [VICTIM, V6])))
    assert result.returncode == 1


@pytest.mark.parametrize("token", ["wrong-token", None])
def test_authentication_failure_exits_3_and_says_how(
    tmp_path: Path, fake: FakeRadar, token: str | None
) -> None:
    result = run("once", "--config", str(cli_config(tmp_path, fake, [CLEAN])), token=token)
    assert result.returncode == 3
    assert "authentication failed: authentication failed" not in result.stderr
    if token:  # a token was given: it was rejected, and it needs this permission
        assert "Radar rejected the API token" in result.stderr
        assert "Account → Radar → Read" in result.stderr and "token_file" not in result.stderr
    else:  # none was given: where to put one
        assert "no API token found" in result.stderr
        assert "CLOUDFLARE_API_TOKEN" in result.stderr and "token_file" in result.stderr
    assert "Traceback" not in result.stderr
    if token:
        assert token not in result.stderr + result.stdout


def test_token_file_from_config(tmp_path: Path, fake: FakeRadar) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(DEFAULT_TOKEN + "\n")
    config = cli_config(tmp_path, fake, [CLEAN])
    config.write_text(
        config.read_text().replace("source:\n", f"source:\n  token_file: {token_file}\n")
    )
    assert run("once", "--config", str(config), token=None).returncode == 0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["once"], "--config"),
        (["once", "--config", "/nonexistent.yaml"], "cannot read"),
        (["bogus"], "invalid choice"),
        (["query", "banana"], "'banana' is not a prefix"),
    ],
)
def test_usage_errors_exit_2(args: list[str], words: str) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert words in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_query(fake: FakeRadar, fmt: str) -> None:
    fake.set_prefix(
        VICTIM, [OriginSpec(64501, ratio=0.6), OriginSpec(666, rpki="invalid", ratio=0.3)]
    )
    result = run("query", VICTIM, "--base-url", fake.base_url, "--format", fmt)
    assert result.returncode == 0, result.stderr
    if fmt == "json":
        doc = json.loads(result.stdout)
        assert {o["asn"] for o in doc["origins"]} == {64501, 666}
        assert len(doc["collectors"]) == 50
        assert doc["paths"] and doc["paths"][0]["as_path"][-1] in (64501, 666)
    elif fmt == "csv":
        header, *rows = result.stdout.splitlines()
        assert header.startswith("prefix,asn,as_name")
        assert {r.split(",")[1] for r in rows} == {"64501", "666"}
    else:
        assert "AS666" in result.stdout and "invalid" in result.stdout
        assert "collector realtime age" in result.stdout
        assert "AS PATH" in result.stdout


@pytest.mark.parametrize(
    ("arg", "says"),
    [
        ("1.1.1.1", "1.1.1.1 is an address, not a prefix"),
        ("2606:4700::1111", "often 2606:4700::/48"),
        ("not-a-prefix", "'not-a-prefix' is not a prefix"),
    ],
)
def test_query_of_a_non_prefix_says_what_to_ask_instead(arg: str, says: str) -> None:
    result = run("query", arg, "--base-url", "http://127.0.0.1:9/client/v4")
    assert result.returncode == 2
    assert says in result.stderr and "config error" not in result.stderr
    assert "Traceback" not in result.stderr
    if arg == "1.1.1.1":
        assert "often 1.1.1.0/24" in result.stderr and "bgp.tools/prefix/1.1.1.1" in result.stderr


def test_check_summarises_channels_and_silences_and_warns_when_nobody_is_told(
    tmp_path: Path,
) -> None:
    told = tmp_path / "told.yaml"
    told.write_text(
        "prefixes: [{prefix: 192.0.2.0/24, origins: [64500], labels: {team: edge}}]\n"
        "rules: [{name: rpki, type: rpki_invalid, severity: critical}]\n"
        "notifications:\n  channels:\n"
        '    - {name: edge, url: "json://user:s3cr3tpw@127.0.0.1:9/x", labels: {team: edge}}\n'
        "silences:\n  - {comment: maintenance, ends: 2099-01-01T00:00:00Z, matchers: {rule: rpki}}\n"
    )
    result = run("check", "--config", str(told))
    assert result.returncode == 0, result.stderr
    assert "  edge (apprise): labels team=edge" in result.stdout
    assert "silences: 1 active of 1" in result.stdout
    assert "maintenance (until 2099-01-01 00:00:00 UTC)" in result.stdout
    assert "warning" not in result.stderr and "s3cr3tpw" not in result.stdout

    nobody = tmp_path / "nobody.yaml"
    nobody.write_text("prefixes: []\nrules: []\n")
    result = run("check", "--config", str(nobody))
    assert result.returncode == 0
    assert "warning: no prefixes are watched" in result.stderr
    assert "warning: no rules are configured" in result.stderr
    assert "warning: no notification channels" in result.stderr


def test_check_refuses_a_channel_url_that_cannot_send(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "prefixes: [{prefix: 192.0.2.0/24, origins: [64500]}]\n"
        "rules: [{name: rpki, type: rpki_invalid, severity: critical}]\n"
        'notifications: {channels: [{name: slack, url: "slak://abc/def/s3cr3tpart"}]}\n'
    )
    for command in ("check", "run"):
        result = run(command, "--config", str(path))
        assert result.returncode == 2, (command, result.stderr)
        assert "notifications.channels[0] (slack).url: channel 'slack'" in result.stderr
        assert "s3cr3tpart" not in result.stderr


def test_once_into_a_closed_pipe_exits_quietly() -> None:
    env = {k: v for k, v in os.environ.items() if k != "CLOUDFLARE_API_TOKEN"}
    demo = Path(__file__).resolve().parents[2] / "monitor" / "data" / "demo.yaml"
    result = subprocess.run(
        # `true` exits at once, so the pipe is closed before the daemon-less `once` prints.
        ["bash", "-c", f'"{sys.executable}" -m monitor once --config "{demo}" | true'],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.stderr == ""


def test_once_says_how_many_prefixes_could_not_be_fetched(tmp_path: Path, fake: FakeRadar) -> None:
    fake.set_fault("500", prefix=CLEAN)
    fake.set_fault("500", prefix=V6)
    result = run("once", "--config", str(cli_config(tmp_path, fake, [CLEAN, V6])))
    assert result.returncode == 3
    assert "No findings." not in result.stdout
    assert "but 2 of 2 prefixes could not be fetched" in result.stdout


#: An AS name that would retitle the terminal, clear it, and overwrite the line with "OK".
TERMINAL_ATTACK = "EVIL\x1b]0;pwned\x07\x1b[2J\rOK\u202e\x9b31m"


@pytest.mark.parametrize("command", ["query", "once"])
def test_hostile_as_names_cannot_drive_the_terminal(
    tmp_path: Path, fake: FakeRadar, command: str
) -> None:
    hijacker = OriginSpec(666, rpki="invalid", ratio=0.3)  # valid would be authorised: no finding
    answer = make_answer(VICTIM, [OriginSpec(64501, ratio=0.6), hijacker])
    for info in answer["result"]["meta"]["asn_info"]:
        info["as_name"] = TERMINAL_ATTACK
    fake.set_prefix(VICTIM, body=encode(answer))
    if command == "query":
        result = run("query", VICTIM, "--base-url", fake.base_url)
    else:
        result = run("once", "--config", str(cli_config(tmp_path, fake, [VICTIM])))
    output = result.stdout + result.stderr
    assert not any(c in output for c in "\x1b\x07\r\u202e\x9b"), repr(output)
    assert "EVIL\\u001b]0;pwned" in result.stdout  # shown, as inert text
