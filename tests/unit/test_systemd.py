"""systemd integration: sd_notify datagrams, watchdog/credential/state-dir env, the shipped unit
(which systemd-analyze checks in tests/e2e/test_systemd.py)."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.exposition.connections import MAX_CLOSING, MAX_CONNECTIONS, connection_limit
from monitor.ops import systemd
from monitor.sources.radar_client import CREDENTIAL_NAME
from tests.paths import UNIT
from tests.tools import require_tool


def now_usec() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "NOTIFY_SOCKET",
        "WATCHDOG_USEC",
        "WATCHDOG_PID",
        "CREDENTIALS_DIRECTORY",
        "STATE_DIRECTORY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(systemd, "_warned", False)


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A bound datagram socket standing in for systemd, advertised via $NOTIFY_SOCKET."""
    path = tmp_path / "notify.sock"
    if len(os.fsencode(path)) > 100:  # sun_path holds 108 bytes; a long --basetemp may not fit
        path = Path(tempfile.mkdtemp(prefix="sdn")) / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        yield sock


def received(sock: socket.socket) -> str:
    return sock.recv(65536).decode()


def test_notify_without_socket_is_a_no_op() -> None:
    assert systemd.notify("READY=1") is False
    systemd.notify_ready("ok")  # must not raise either


def test_notify_sends_fields_as_one_datagram(notify_socket: socket.socket) -> None:
    assert systemd.notify("A=1", "B=2") is True
    assert received(notify_socket) == "A=1\nB=2"


def test_notify_ready_sends_ready_and_status(notify_socket: socket.socket) -> None:
    systemd.notify_ready("watching 3 prefixes")
    assert received(notify_socket) == "READY=1\nSTATUS=watching 3 prefixes"


async def test_start_up_longer_than_the_start_timeout_extends_it_until_ready(
    notify_socket: socket.socket,
) -> None:
    ready = asyncio.Event()
    waiting = asyncio.create_task(systemd.notify_ready_when(ready, lambda: "first cycle", 0.05))
    await asyncio.sleep(0.12)
    ready.set()
    await waiting
    messages = [received(notify_socket) for _ in range(3)]
    extend = "EXTEND_TIMEOUT_USEC=150000\nSTATUS=first cycle"
    assert messages == [extend, extend, "READY=1\nSTATUS=first cycle"]


def test_notify_reloading_sends_monotonic_timestamp(notify_socket: socket.socket) -> None:
    before = now_usec()
    systemd.notify_reloading()
    after = now_usec()
    message = received(notify_socket)
    match = re.fullmatch(r"RELOADING=1\nMONOTONIC_USEC=(\d+)", message)
    assert match, message
    assert before <= int(match[1]) <= after


def test_notify_status_stopping_watchdog(notify_socket: socket.socket) -> None:
    systemd.notify_status("checking")
    systemd.notify_stopping()
    systemd.notify_watchdog()
    messages = [received(notify_socket) for _ in range(3)]
    assert messages == ["STATUS=checking", "STOPPING=1", "WATCHDOG=1"]


def test_notify_abstract_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"radar-monitor-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        systemd.notify_watchdog()
        assert received(sock) == "WATCHDOG=1"


def test_notify_failure_returns_false_and_warns_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "missing.sock"))
    with caplog.at_level(logging.WARNING, logger="monitor.ops.systemd"):
        assert systemd.notify("READY=1") is False
        systemd.notify_watchdog()
    assert len(caplog.records) == 1
    assert "missing.sock" in caplog.text


def test_notify_unsupported_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", "vsock:2:1234")
    assert systemd.notify("READY=1") is False


@pytest.mark.parametrize(
    ("usec", "pid", "expected"),
    [
        (None, None, None),
        ("120000000", None, 60.0),
        ("120000000", "self", 60.0),
        ("120000000", "other", None),
        ("3000000", "", 1.5),
        ("0", None, None),
        ("soon", None, None),
        ("120000000", "nonsense", None),
    ],
)
def test_watchdog_interval(
    monkeypatch: pytest.MonkeyPatch, usec: str | None, pid: str | None, expected: float | None
) -> None:
    if usec is not None:
        monkeypatch.setenv("WATCHDOG_USEC", usec)
    if pid is not None:
        pids = {"self": str(os.getpid()), "other": str(os.getpid() + 1)}
        monkeypatch.setenv("WATCHDOG_PID", pids.get(pid, pid))
    assert systemd.watchdog_interval() == expected


def test_credential_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert systemd.credential_path("token") is None
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert systemd.credential_path("token") is None
    (tmp_path / "token").write_text("secret")
    assert systemd.credential_path("token") == tmp_path / "token"
    assert systemd.credential_path("../token") is None
    assert systemd.credential_path("") is None


def test_default_state_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    assert systemd.default_state_dir() is None
    monkeypatch.setenv("STATE_DIRECTORY", "")
    assert systemd.default_state_dir() is None
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/radar-monitor")
    assert systemd.default_state_dir() == Path("/var/lib/radar-monitor")
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/radar-monitor:/var/lib/other")
    assert systemd.default_state_dir() == Path("/var/lib/radar-monitor")


# --- the unit file operators install ---------------------------------------------------------


def unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_unit_declares_lifecycle_identity_and_secrets() -> None:
    settings = unit_settings()
    assert settings["Type"] == ["notify"]
    assert settings["NotifyAccess"] == ["main"]
    assert re.fullmatch(r"\d+s?", settings["WatchdogSec"][0])
    assert settings["ExecStart"][0].startswith("/usr/local/bin/radar-monitor run --config ")
    assert settings["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert settings["Restart"] == ["on-failure"]
    assert settings["DynamicUser"] == ["yes"]
    assert settings["StateDirectory"] == ["radar-monitor"]
    assert settings["ConfigurationDirectory"] == ["radar-monitor"]
    assert settings["LoadCredential"] == [f"{CREDENTIAL_NAME}:/etc/radar-monitor/{CREDENTIAL_NAME}"]
    assert settings["CapabilityBoundingSet"] == [""]
    assert settings["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6"]
    # The daemon talks to arbitrary Internet hosts: these must never creep in.
    assert "PrivateNetwork" not in settings
    assert "IPAddressDeny" not in settings


def test_unit_gives_the_listener_its_cap_and_everything_else_room() -> None:
    (nofile,) = unit_settings()["LimitNOFILE"]
    assert connection_limit(int(nofile)) == MAX_CONNECTIONS
    assert int(nofile) - MAX_CONNECTIONS - MAX_CLOSING >= 4096


def test_require_tool_skips_or_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = f"no-such-tool-{uuid.uuid4().hex}"
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_tool(missing)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        require_tool(missing)
    python = Path(sys.executable)
    monkeypatch.setenv("PATH", str(python.parent))
    assert require_tool(python.name) == str(python)
