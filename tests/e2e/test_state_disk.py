"""The state database and its disk going wrong, on the real daemon: a read-only or full state
directory (the daemon monitors and notifies from memory, says so in logs, `/readyz` and a
metric, and persists again once the disk is back), a read-only directory at start (firing
alerts are read and not sent again), and the file itself deleted while running, garbage, or
emptied while stopped."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit.config import ANY_UNEXPECTED_ORIGIN, daemon_yaml, write_config
from testkit.daemon import DaemonProcess, alerts, http_get, launch, metric, texts
from testkit.fakeradar import FakeRadar
from testkit.receivers import Receiver, free_port
from testkit.waiting import wait_for
from tests.incidents import HIJACK, VICTIM, VICTIM_ORIGINS

#: The alert key the hijack of VICTIM raises, as the store writes it.
HIJACK_KEY = f'["unexpected-origin", "{VICTIM}", "666"]'


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


def pages(receiver: Receiver) -> list[str]:
    return texts(receiver, "pager")


def config(tmp_path: Path, fake: FakeRadar, receiver: Receiver, port: int, db: Path) -> Path:
    """VICTIM watched for AS64501, polled every second, paging at once; state in `db`."""
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
        state=db,
    )
    return write_config(tmp_path, text)


def fire(
    daemons: list[DaemonProcess],
    tmp_path: Path,
    path: Path,
    fake: FakeRadar,
    receiver: Receiver,
    port: int,
) -> DaemonProcess:
    """A daemon that paged FIRING for the hijack and persisted it."""
    daemon = launch(daemons, tmp_path, path)
    fake.set_prefix(VICTIM, HIJACK, n_routes=100)
    wait_for(lambda: any("FIRING" in t for t in pages(receiver)), what="the FIRING page")
    wait_for(lambda: persisting(port) == 1, what="persistence")
    return daemon


def logged(daemon: DaemonProcess, level: str, text: str) -> bool:
    """Whether the daemon logged `text` at `level`."""
    return any(f" {level} " in line and text in line for line in daemon.log.splitlines())


def keys_in(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return [row[0] for row in conn.execute("SELECT key FROM alerts")]


def restart_sends_nothing(
    daemons: list[DaemonProcess], tmp_path: Path, path: Path, receiver: Receiver, port: int
) -> DaemonProcess:
    """Start another daemon on the same state: the alert is firing and nobody is paged again."""
    before = len(pages(receiver))
    daemon = launch(daemons, tmp_path, path)
    time.sleep(3)  # three polls that still see the hijack
    assert [a["state"] for a in alerts(port)] == ["firing"]
    assert len(pages(receiver)) == before, pages(receiver)[before:]
    return daemon


def fill(folder: Path) -> Path:
    """Write zeros until the file system is full."""
    filler = folder / "filler"
    # Unbuffered: a buffered file would raise ENOSPC once more when closed.
    with filler.open("wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
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
    path = config(tmp_path, fake, receiver, port, state_dir / "state.db")
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
    wait_for(lambda: any("FIRING" in t for t in pages(receiver)), what="the FIRING page")
    wait_for(lambda: persisting(port) == 0, what="the persistence metric to drop")
    status, reasons = http_get(port, "/readyz")
    assert status == 503 and "state database unavailable" in reasons
    assert "state database" in daemon.log and "keeping state in memory" in daemon.log
    if fault == "read-only":
        assert "the file system is read-only" in daemon.log
    else:
        # SQLite's own words, not those of a ROLLBACK that found no transaction to undo.
        assert "database or disk is full" in daemon.log
        assert "cannot rollback" not in daemon.log

    if fault == "read-only":
        subprocess.run(["mount", "-o", "remount,rw", str(state_dir)], check=True)
    else:
        filler.unlink()
    wait_for(lambda: persisting(port) == 1, what="persistence to resume")
    assert "writable again" in daemon.log
    assert http_get(port, "/readyz")[0] == 200
    assert daemon.stop() == 0
    assert keys_in(state_dir / "state.db") == [HIJACK_KEY]  # what memory held meanwhile


@pytest.mark.parametrize("stop", ["stopped", "killed", "killed, -shm removed"])
def test_read_only_state_directory_at_start_keeps_firing_alerts(
    tmp_path: Path,
    state_dir: Path,
    fake: FakeRadar,
    receiver: Receiver,
    daemons: list[DaemonProcess],
    stop: str,
) -> None:
    """Stopped cleanly, SQLite left no -shm behind and cannot make one in a read-only folder;
    killed, it left its -wal (with the latest writes) and -shm, which may be gone too."""
    port = free_port()
    db = state_dir / "state.db"
    path = config(tmp_path, fake, receiver, port, db)
    first = fire(daemons, tmp_path, path, fake, receiver, port)
    fired_at = alerts(port)[0]["fired_at"]
    if stop == "stopped":
        assert first.stop() == 0
        assert not Path(f"{db}-shm").exists()
    else:
        first.kill()
        assert Path(f"{db}-wal").stat().st_size > 0
        if stop == "killed, -shm removed":
            Path(f"{db}-shm").unlink()
    subprocess.run(["mount", "-o", "remount,ro", str(state_dir)], check=True)

    second = restart_sends_nothing(daemons, tmp_path, path, receiver, port)
    assert [a["fired_at"] for a in alerts(port)] == [fired_at]
    assert "read 1 alert(s) and 0 notification(s) from state database" in second.log
    # What it reads it cannot write: that is reported, not hidden.
    assert persisting(port) == 0
    status, reasons = http_get(port, "/readyz")
    assert status == 503 and "state database unavailable" in reasons
    assert "the file system is read-only" in second.log

    subprocess.run(["mount", "-o", "remount,rw", str(state_dir)], check=True)
    wait_for(lambda: persisting(port) == 1, what="persistence to resume")
    assert second.stop() == 0
    assert keys_in(db) == [HIJACK_KEY]


@pytest.mark.parametrize("deleted", ["state.db", "state.db with -wal and -shm"])
def test_state_database_deleted_while_running_is_reported_and_recreated(
    tmp_path: Path,
    fake: FakeRadar,
    receiver: Receiver,
    daemons: list[DaemonProcess],
    deleted: str,
) -> None:
    port = free_port()
    db = tmp_path / "state" / "state.db"
    path = config(tmp_path, fake, receiver, port, db)
    daemon = fire(daemons, tmp_path, path, fake, receiver, port)

    db.unlink()
    if deleted != "state.db":
        Path(f"{db}-wal").unlink()
        Path(f"{db}-shm").unlink()
    wait_for(lambda: persisting(port) == 0, what="the persistence metric to drop")
    status, reasons = http_get(port, "/readyz")
    assert status == 503 and "was deleted while the daemon ran" in reasons
    assert logged(daemon, "ERROR", f"state database {db} was deleted while the daemon ran")
    # A new database at the path holds the full state at once.
    wait_for(db.exists, what="the state database to be recreated")
    assert keys_in(db) == [HIJACK_KEY]
    assert "recreated state database" in daemon.log
    assert daemon.stop() == 0

    assert keys_in(db) == [HIJACK_KEY]
    again = restart_sends_nothing(daemons, tmp_path, path, receiver, port)
    assert persisting(port) == 1
    assert again.stop() == 0


def test_garbage_state_database_is_moved_aside_and_replaced(
    tmp_path: Path, fake: FakeRadar, receiver: Receiver, daemons: list[DaemonProcess]
) -> None:
    port = free_port()
    db = tmp_path / "state" / "state.db"
    db.parent.mkdir()
    db.write_bytes(b"not a database, just text\n" * 200)
    Path(f"{db}-wal").write_bytes(b"no wal either\n" * 10)
    path = config(tmp_path, fake, receiver, port, db)
    first = fire(daemons, tmp_path, path, fake, receiver, port)

    [aside] = db.parent.glob("state.db.corrupt-*[0-9]Z")
    assert aside.read_bytes() == b"not a database, just text\n" * 200
    assert Path(f"{aside}-wal").read_bytes() == b"no wal either\n" * 10
    assert logged(first, "ERROR", f"moved it aside to {aside}")
    assert http_get(port, "/readyz")[0] == 200  # a fresh database is in use
    assert first.stop() == 0
    assert keys_in(db) == [HIJACK_KEY]

    second = restart_sends_nothing(daemons, tmp_path, path, receiver, port)
    assert "moved it aside" not in second.log
    assert second.stop() == 0


def test_garbage_in_a_read_only_folder_is_reported_and_moved_once_writable(
    tmp_path: Path,
    state_dir: Path,
    fake: FakeRadar,
    receiver: Receiver,
    daemons: list[DaemonProcess],
) -> None:
    port = free_port()
    db = state_dir / "state.db"
    db.write_bytes(b"not a database\n" * 100)
    subprocess.run(["mount", "-o", "remount,ro", str(state_dir)], check=True)
    path = config(tmp_path, fake, receiver, port, db)
    daemon = launch(daemons, tmp_path, path)
    fake.set_prefix(VICTIM, HIJACK, n_routes=100)
    wait_for(lambda: any("FIRING" in t for t in pages(receiver)), what="the FIRING page")
    assert persisting(port) == 0
    assert logged(daemon, "ERROR", "file is not a database")
    assert "it cannot be moved aside: Read-only file system" in daemon.log

    subprocess.run(["mount", "-o", "remount,rw", str(state_dir)], check=True)
    wait_for(lambda: persisting(port) == 1, what="persistence to resume")
    [aside] = state_dir.glob("state.db.corrupt-*[0-9]Z")
    assert logged(daemon, "ERROR", f"moved it aside to {aside}")
    assert daemon.stop() == 0
    assert keys_in(db) == [HIJACK_KEY]


def test_state_database_emptied_while_stopped_is_reported(
    tmp_path: Path, fake: FakeRadar, receiver: Receiver, daemons: list[DaemonProcess]
) -> None:
    port = free_port()
    db = tmp_path / "state" / "state.db"
    path = config(tmp_path, fake, receiver, port, db)
    first = fire(daemons, tmp_path, path, fake, receiver, port)
    assert "previous state is gone" not in first.log  # a first start is no loss
    assert first.stop() == 0
    db.write_bytes(b"")

    second = launch(daemons, tmp_path, path)
    assert logged(
        second, "WARNING", f"state database {db} is empty (0 bytes): the previous state is gone"
    )
    wait_for(lambda: persisting(port) == 1, what="persistence")
    assert second.stop() == 0
