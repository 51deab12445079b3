"""A read-only or full state directory: the daemon monitors and notifies from memory, says so
in logs, `/readyz` and a metric, and persists again once the disk is back."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.config import ANY_UNEXPECTED_ORIGIN, daemon_yaml, write_config
from testkit.daemon import DaemonProcess, http_get, launch, metric, texts
from testkit.fakeradar import FakeRadar
from testkit.receivers import Receiver, free_port
from testkit.waiting import wait_for
from tests.incidents import HIJACK, VICTIM, VICTIM_ORIGINS


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs of our own, so the test can make it read-only or full (needs root)."""
    folder = tmp_path / "state"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        message = f"cannot mount a tmpfs for the state directory: {mounted.stderr.strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture(autouse=True)
def scenario(fake: FakeRadar) -> None:
    fake.set_prefix(VICTIM, VICTIM_ORIGINS, n_routes=100)


def persisting(port: int) -> float | None:
    return metric(port, "radar_monitor_state_persistence_ok")


def fill(folder: Path) -> Path:
    """Write zeros until the file system is full."""
    filler = folder / "filler"
    with filler.open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    return filler


@pytest.mark.parametrize("fault", ["read-only", "full"])
def test_state_directory_fault_degrades_to_memory_and_recovers(
    tmp_path: Path,
    state_dir: Path,
    fake: FakeRadar,
    receiver: Receiver,
    daemons: list[DaemonProcess],
    fault: str,
) -> None:
    port = free_port()
    text = daemon_yaml(
        fake.base_url,
        [f"{{prefix: {VICTIM}, origins: [64501]}}"],
        [ANY_UNEXPECTED_ORIGIN],
        source={"interval": "1s", "timeout": "2s", "retries": 0},
        notifications=[
            "group_wait: 0s",
            f'channels: [{{name: pager, url: "{receiver.url("pager")}"}}]',
        ],
        port=port,
        state=state_dir / "state.db",
    )
    path = write_config(tmp_path, text)
    if fault == "read-only":
        # Read-only from the start (a remount under an open database is refused as busy).
        subprocess.run(["mount", "-o", "remount,ro", str(state_dir)], check=True)
        daemon = launch(daemons, tmp_path, path)
    else:
        daemon = launch(daemons, tmp_path, path)
        assert persisting(port) == 1
        filler = fill(state_dir)
    fake.set_prefix(VICTIM, HIJACK, n_routes=100)
    # Monitoring and notifying go on from memory.
    wait_for(lambda: any("FIRING" in t for t in texts(receiver, "pager")), what="the FIRING page")
    wait_for(lambda: persisting(port) == 0, what="the persistence metric to drop")
    status, reasons = http_get(port, "/readyz")
    assert status == 503 and "state database unavailable" in reasons
    assert "state database" in daemon.log and "keeping state in memory" in daemon.log
    assert ("the file system is read-only" if fault == "read-only" else "full") in daemon.log

    if fault == "read-only":
        subprocess.run(["mount", "-o", "remount,rw", str(state_dir)], check=True)
    else:
        filler.unlink()
    wait_for(lambda: persisting(port) == 1, what="persistence to resume")
    assert "writable again" in daemon.log
    assert http_get(port, "/readyz")[0] == 200
    assert daemon.stop() == 0
    with sqlite3.connect(state_dir / "state.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        keys = [row[0] for row in db.execute("SELECT key FROM alerts")]
    assert keys == [f'["unexpected-origin", "{VICTIM}", "666"]']  # what memory held meanwhile
