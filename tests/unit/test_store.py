"""SQLite state: survives restarts, keeps working from memory when the disk refuses."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from monitor.core.finding import Finding, Severity
from monitor.core.lifecycle import AlertBook, Policy, Scope
from monitor.sinks.outbox import Outbox
from monitor.sinks.store import Store
from tests.builders import NOW

PREFIX = "192.0.2.0/24"
SCOPE = Scope(prefix=PREFIX, rules=frozenset({"hijack"}))
HIJACK = Finding("hijack", "unexpected_origin", Severity.CRITICAL, PREFIX, "AS666", origin=666)


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
