"""The `demo` and `test-notify` commands, run for real."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

from testkit.daemon import alerts, http_get
from testkit.receivers import Receiver, free_port
from testkit.waiting import wait_for

#: The demo's printed notification for the stream incident.
SUB_PREFIX = "FIRING: sub-prefix-hijack 208.65.153.0/24 (AS17557)"


def test_demo_runs_offline_serves_the_page_and_prints_notifications(tmp_path: Path) -> None:
    """Both reconstructions: Twitter's hijack from the replayed Radar answers, then YouTube's
    sub-prefix hijack from the demo's own RIS Live, through the real stream client."""
    port = free_port()
    out = tmp_path / "demo.out"
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "demo", "--port", str(port)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
        try:
            wait_for(lambda: "FIRING" in out.read_text(), within=60, what="a printed notification")
            status, page = http_get(port, "/")
            assert status == 200
            assert "104.244.42.0/24" in page and "129.134.30.0/23" in page
            assert "AS8342" in out.read_text()  # the reconstructed hijacker
            wait_for(lambda: SUB_PREFIX in out.read_text(), within=30, what="the stream incident")
            text = out.read_text()
            told = text.index("RIS Live (RECONSTRUCTION), 2008-02-24 18:47:00 UTC: AS17557")
            message = text[text.index(SUB_PREFIX) :].split("\n\n")[0]
            assert told < text.index(SUB_PREFIX)  # the reconstruction is announced first
            assert "208.65.153.0/24, a more-specific of 208.65.152.0/22" in message
            assert "originated by unexpected AS17557" in message
            assert "RECONSTRUCTION" in message  # the parent's description
            found = {(a["finding"]["rule"], a["finding"]["prefix"]): a for a in alerts(port)}
            hijack = found["sub-prefix-hijack", "208.65.153.0/24"]["finding"]
            assert (hijack["parent"], hijack["origin"]) == ("208.65.152.0/22", 17557)
            status, page = http_get(port, "/")
            assert "208.65.153.0/24, a more-specific of 208.65.152.0/22" in page
            assert "RECONSTRUCTION of its 2008-02-24 sub-prefix hijack" in page
            assert "on demo, reconstructed incidents" in page
            assert 'RIS Live stream: <span class="good">connected</span>' in page
        finally:
            proc.send_signal(signal.SIGINT)
            code = proc.wait(20)
    assert code == 0
    text = out.read_text()
    assert "reconstructed incidents, no network" in text
    assert "RIS Live: a local player tells a RECONSTRUCTION of YouTube, 2008-02-24" in text
    assert "Traceback" not in text
    assert [p.name for p in tmp_path.iterdir()] == ["demo.out"]  # state went to a temp folder


def test_demo_port_errors_name_the_option_not_a_temporary_file(tmp_path: Path) -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "monitor", "demo", "--port", "99999"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 2
    assert "--port: must be a port number from 1 to 65535" in bad.stderr
    assert "tmp" not in bad.stderr and "demo.yaml" not in bad.stderr

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = subprocess.run(
            [sys.executable, "-m", "monitor", "demo", "--port", str(taken.getsockname()[1])],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=tmp_path,
        )
    assert busy.returncode == 1
    # No banner inviting a visit to a page that is not there; the error says what to do.
    assert "Status page and metrics" not in busy.stdout
    assert "choose another port with --port" in busy.stderr


def test_test_notify_reports_per_channel(tmp_path: Path, receiver: Receiver) -> None:
    config = tmp_path / "config.yaml"
    dead = free_port()
    config.write_text(
        f"""
prefixes: [{{prefix: 192.0.2.0/24, origins: [64500]}}]
rules: [{{name: rpki, type: rpki_invalid, severity: critical}}]
notifications:
  channels:
    - {{name: hooks, url: "{receiver.url("hooks", "user:s3cr3tpw")}"}}
    - {{name: broken, url: "json://127.0.0.1:{dead}/x"}}
"""
    )
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "test-notify", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert lines["hooks"].startswith("delivered")
    assert lines["broken"].startswith("FAILED")
    assert receiver.at("hooks") and "test notification" in receiver.at("hooks")[0].doc["message"]
    assert "s3cr3tpw" not in result.stdout + result.stderr
