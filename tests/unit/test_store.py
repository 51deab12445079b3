"""SQLite state: survives restarts, keeps working from memory when the disk refuses, moves\ngarbage aside, and notices a database deleted under it."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.core.finding import Finding, Severity
from monitor.core.lifecycle import AlertBook, Policy, Scope
from monitor.sinks import store as store_module
from monitor.sinks.outbox import Outbox
from monitor.sinks.store import Store
from tests.builders import NOW

PREFIX = "192.0.2.0/24"
SCOPE = Scope(prefix=PREFIX, rules=frozenset({"hijack"}))
HIJACK = Finding("hijack", "unexpected_origin", Severity.CRITICAL, PREFIX, "AS666", origin=666)
#: A leak seen on a more-specific of a watched /23: it has a parent and an upstream.
LEAK = Finding(
    "leak",
    "upstream",
    Severity.CRITICAL,
    PREFIX,
    "via AS9999",
    parent="192.0.2.0/23",
    upstream=9999,
)


def test_alerts_and_outbox_survive_a_restart(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    alerts, items = store.load()
    book, outbox = AlertBook(alerts), Outbox(items)
    [event] = book.observe(SCOPE, [HIJACK], None, NOW, Policy())
    item = outbox.add("pager", {"kind": event.kind.value}, 1000.0)
    assert store.flush(book, outbox)
    assert item.id in outbox.persisted
    store.close()

    again = Store(tmp_path / "state.db")
    alerts, items = again.load()
    assert [a.key for a in alerts] == [HIJACK.key]
    assert alerts[0].notified_at == NOW  # a restart will not notify again
    assert [i.id for i in items] == [item.id]
    assert again.integrity_ok()
    assert sqlite3.connect(tmp_path / "state.db").execute("PRAGMA journal_mode").fetchone() == (
        "wal",
    )


def test_delivered_and_resolved_are_removed(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    book, outbox = AlertBook(), Outbox()
    book.observe(SCOPE, [HIJACK], None, NOW, Policy())
    item = outbox.add("pager", {}, 0.0)
    store.flush(book, outbox)
    outbox.delivered([item.id])
    book.observe(SCOPE, [], None, NOW + timedelta(minutes=1), Policy())
    store.flush(book, outbox)
    alerts, items = Store(tmp_path / "state.db").load()
    assert (alerts, items) == ([], [])


def test_unwritable_database_degrades_then_recovers(tmp_path: Path) -> None:
    # A path whose parent is a file cannot be created by anyone, root included.
    blocker = tmp_path / "state"
    blocker.write_text("not a directory")
    store = Store(blocker / "state.db")
    assert store.load() == ([], [])
    assert not store.healthy and "state.db" in (store.error or "")
    book, outbox = AlertBook(), Outbox()
    book.observe(SCOPE, [HIJACK], None, NOW, Policy())
    item = outbox.add("pager", {}, 0.0)
    assert not store.flush(book, outbox)
    assert item.id not in outbox.persisted  # the notifier may send it from memory
    blocker.unlink()  # the disk comes back
    assert store.flush(book, outbox)
    assert store.healthy
    alerts, items = Store(blocker / "state.db").load()
    assert [a.key for a in alerts] == [HIJACK.key] and [i.id for i in items] == [item.id]


def fired(store: Store) -> tuple[AlertBook, Outbox]:
    """A book with the hijack firing and an outbox with its page, as `store` loaded them."""
    alerts, items = store.load()
    book, outbox = AlertBook(alerts), Outbox(items)
    book.observe(SCOPE, [HIJACK], None, NOW, Policy())
    outbox.add("pager", {"kind": "firing"}, 1000.0)
    return book, outbox


def saved(path: Path) -> tuple[list[object], list[str]]:
    """Alert keys and outbox ids a fresh store reads from `path`."""
    store = Store(path)
    alerts, items = store.load()
    store.close()
    return [a.key for a in alerts], [i.id for i in items]


def test_a_full_database_reports_sqlite_s_error_not_the_failed_rollback(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    book, outbox = fired(store)
    assert store.flush(book, outbox)
    # SQLite rolls the transaction back itself when the database is full.
    db = store._connect()
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    db.execute(f"PRAGMA max_page_count = {pages}")
    item = outbox.add("pager", {"text": "x" * 50_000}, 1001.0)
    assert not store.flush(book, outbox)
    assert "database or disk is full" in (store.error or "")
    assert "cannot rollback" not in (store.error or "")
    assert store.flush(book, outbox)  # reopened, without the limit
    assert item.id in saved(tmp_path / "state.db")[1]


def test_garbage_is_moved_aside_with_its_sidecars_and_a_new_database_started(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"\x00garbage" * 1000)
    Path(f"{path}-wal").write_bytes(b"wal garbage")
    Path(f"{path}-shm").write_bytes(b"shm garbage")
    store = Store(path)
    assert store.load() == ([], [])
    assert store.healthy and store.error is None
    [aside] = tmp_path.glob("state.db.corrupt-*[0-9]Z")
    assert re.fullmatch(r"state\.db\.corrupt-\d{8}T\d{6}Z", aside.name)
    assert aside.read_bytes() == b"\x00garbage" * 1000
    assert Path(f"{aside}-wal").read_bytes() == b"wal garbage"
    assert Path(f"{aside}-shm").read_bytes() == b"shm garbage"
    [record] = [r for r in caplog.records if "moved it aside" in r.getMessage()]
    assert record.levelno == logging.ERROR and str(aside) in record.getMessage()
    assert "alerts firing now will be notified again" in record.getMessage()
    book, outbox = fired(store)
    assert store.flush(book, outbox)
    assert saved(path)[0] == [HIJACK.key]
    assert len(list(tmp_path.glob("state.db.corrupt-*"))) == 3  # nothing more moved


def test_corrupt_pages_are_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = Store(path)
    book, outbox = fired(store)
    for n in range(200):
        outbox.add("pager", {"text": f"{n}" * 500}, 1000.0 + n)
    assert store.flush(book, outbox)
    store.close()  # checkpointed into the main file
    data = bytearray(path.read_bytes())
    data[4096 * 3 : 4096 * 6] = b"\xa5" * (4096 * 3)  # the header stays; pages break
    path.write_bytes(bytes(data))
    again = Store(path)
    assert again.load() == ([], [])
    assert again.healthy
    assert len(list(tmp_path.glob("state.db.corrupt-*"))) == 1
    assert again.integrity_ok()


def test_rows_that_cannot_be_read_are_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    Store(path).load()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO alerts VALUES ('[]', 'not json')")
    store = Store(path)
    assert store.load() == ([], [])
    assert store.healthy
    [aside] = tmp_path.glob("state.db.corrupt-*[0-9]Z")
    with sqlite3.connect(aside) as db:
        assert db.execute("SELECT doc FROM alerts").fetchall() == [("not json",)]


def test_an_emptied_database_says_the_previous_state_is_gone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.db"
    first = Store(path)
    assert first.load() == ([], [])  # the first start: no loss, no warning
    first.close()
    assert "previous state is gone" not in caplog.text
    path.write_bytes(b"")
    store = Store(path)
    assert store.load() == ([], [])
    [record] = [r for r in caplog.records if "previous state is gone" in r.getMessage()]
    assert record.levelno == logging.WARNING and "0 bytes" in record.getMessage()
    assert store.healthy and store.integrity_ok()


@pytest.mark.parametrize("how", ["database", "database, -wal and -shm", "replaced"])
def test_a_database_deleted_while_running_is_reported_and_recreated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    path = tmp_path / "state.db"
    store = Store(path)
    book, outbox = fired(store)
    assert store.flush(book, outbox)
    if how == "replaced":
        other = Store(tmp_path / "other.db")
        other.load()
        other.close()
        (tmp_path / "other.db").replace(path)
    else:
        path.unlink()
        if how != "database":
            Path(f"{path}-wal").unlink()
            Path(f"{path}-shm").unlink()
    # Nothing changed in memory: the check is made at every flush all the same.
    assert store.flush(book, outbox)
    verb = "replaced by another file" if how == "replaced" else "deleted"
    assert f"was {verb} while the daemon ran" in (store.error or "")
    assert store.healthy  # writes reach the disk: nothing may be sent unpersisted
    assert any(
        r.levelno == logging.ERROR and f"{path} was {verb}" in r.getMessage()
        for r in caplog.records
    )
    assert saved(path) == ([HIJACK.key], list(outbox.items))
    assert len(book.observe(SCOPE, [], None, NOW + timedelta(minutes=1), Policy())) == 1
    assert store.flush(book, outbox)  # and the new file is the one written from now on
    assert saved(path)[0] == []
    assert f"was {verb}" in (store.error or "")  # still reported for a while
    store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.db"]


def test_the_report_of_a_deleted_database_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "LOST_NOTICE_SECONDS", 0.0)
    path = tmp_path / "state.db"
    store = Store(path)
    book, outbox = fired(store)
    assert store.flush(book, outbox)
    path.unlink()
    assert store.flush(book, outbox)
    assert store.error is None and path.exists()


def test_corruption_met_while_running_is_moved_aside_and_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = Store(path)
    book, outbox = fired(store)
    for n in range(50):
        outbox.add("pager", {"text": f"{n}" * 2000}, 1000.0 + n)
    assert store.flush(book, outbox)
    store.close()  # checkpointed into the main file
    store._connect()
    with path.open("r+b") as fh:  # pages break under the open connection
        fh.seek(4096 * 2)
        fh.write(b"\xa5" * 4096 * 10)
    outbox.delivered(list(outbox.items)[:5])
    assert not store.flush(book, outbox)
    assert "malformed" in (store.error or "")
    assert len(list(tmp_path.glob("state.db.corrupt-*[0-9]Z"))) == 1
    assert store.flush(book, outbox)  # a new database, with everything memory holds
    assert saved(path) == ([HIJACK.key], list(outbox.items))


def test_parent_and_upstream_survive_a_restart_and_older_rows_still_load(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    book = AlertBook()
    book.observe(Scope(PREFIX, frozenset({"hijack", "leak"})), [HIJACK, LEAK], None, NOW, Policy())
    assert store.flush(book, Outbox())
    store.close()
    alerts, _ = Store(tmp_path / "state.db").load()
    leak = next(a.finding for a in alerts if a.finding.rule == "leak")
    assert (leak.parent, leak.upstream, leak.key.subject) == ("192.0.2.0/23", 9999, "9999")
    # A row written before the two fields existed, as an upgraded daemon finds it.
    db = sqlite3.connect(tmp_path / "state.db")
    for key, doc in db.execute("SELECT key, doc FROM alerts").fetchall():
        old = json.loads(doc)
        del old["finding"]["parent"], old["finding"]["upstream"]
        db.execute("UPDATE alerts SET doc = ? WHERE key = ?", (json.dumps(old), key))
    db.commit()
    db.close()
    alerts, _ = Store(tmp_path / "state.db").load()
    hijack = next(a.finding for a in alerts if a.finding.rule == "hijack")
    assert (hijack.parent, hijack.upstream, hijack.key) == (None, None, HIJACK.key)
