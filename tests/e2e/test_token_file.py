"""A token file that cannot be read: `check`, `run` and a reload all treat it as a bad config."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from testkit.config import FAST_POLLING, RPKI_INVALID, daemon_yaml
from testkit.daemon import TOKEN, DaemonProcess, http_get, launch, metric
from testkit.fakeradar import FakeRadar
from testkit.receivers import free_port
from testkit.waiting import wait_for
from tests.incidents import CLEAN, CLEAN_ORIGINS


def missing(path: Path) -> None:
    path.unlink()


def directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


def symlink_loop(path: Path) -> None:
    path.unlink()
    path.symlink_to(path)


def fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def endless(path: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


def two_lines(path: Path) -> None:
    path.write_text(f"{TOKEN}\nsecond-line\n")


BREAKS: dict[str, Callable[[Path], None]] = {
    "missing": missing,
    "a directory": directory,
    "a symlink loop": symlink_loop,
    "a FIFO": fifo,
    "/dev/zero": endless,
    "two lines": two_lines,
}


def token_config(tmp: Path, fake: FakeRadar, port: int) -> tuple[Path, Path]:
    token = tmp / "token"
    token.write_text(TOKEN + "\n")
    text = daemon_yaml(
        fake.base_url,
        [f"{{prefix: {CLEAN}, origins: [64500]}}"],
        [RPKI_INVALID],
        source={**FAST_POLLING, "token_file": f'"{token}"'},
        port=port,
        state=tmp / "state.db",
    )
    config = tmp / "config.yaml"
    config.write_text(text)
    return config, token


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CLOUDFLARE_API_TOKEN"}
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )


@pytest.mark.parametrize("broken", list(BREAKS))
def test_a_broken_token_file_is_a_config_error_for_check_run_and_reload(
    tmp_path: Path, fake: FakeRadar, daemons: list[DaemonProcess], broken: str
) -> None:
    fake.set_prefix(CLEAN, CLEAN_ORIGINS, n_routes=50)
    port = free_port()
    config, token = token_config(tmp_path, fake, port)
    daemon = launch(daemons, tmp_path, config)

    BREAKS[broken](token)  # a token rotation gone wrong, then `systemctl reload`
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: "reload rejected" in daemon.log, what="the rejected reload")
    assert "source.token_file" in daemon.log
    assert daemon.alive()
    assert metric(port, "radar_monitor_config_last_reload_successful") == 0
    before = len(fake.requests)
    wait_for(lambda: len(fake.requests) > before + 2, what="polling with the old token")
    assert http_get(port, "/readyz")[0] == 200

    for command in (["check"], ["run"]):
        result = cli(*command, "--config", str(config))
        assert result.returncode == 2, (command, result.stderr)
        assert "source.token_file" in result.stderr and "Traceback" not in result.stderr
    assert daemon.stop() == 0


def test_a_rotated_token_is_used_after_a_reload(
    tmp_path: Path, fake: FakeRadar, daemons: list[DaemonProcess]
) -> None:
    fake.set_prefix(CLEAN, CLEAN_ORIGINS, n_routes=50)
    port = free_port()
    config, token = token_config(tmp_path, fake, port)
    token.write_text("revoked-token\n")
    daemon = DaemonProcess(tmp_path, config).start()
    daemons.append(daemon)
    daemon.wait_ready()
    wait_for(
        lambda: (
            metric(
                port,
                'radar_monitor_alert_active{prefix="",rule="source-auth",'
                'severity="critical",silenced="false",state="firing",subject=""}',
            )
            == 1
        ),
        what="source-auth for the revoked token",
    )
    token.write_text(TOKEN + "\n")  # the rotation: same config, new file content
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: http_get(port, "/readyz")[0] == 200, what="fresh data with the new token")
    assert metric(port, "radar_monitor_config_last_reload_successful") == 1
    assert daemon.stop() == 0
