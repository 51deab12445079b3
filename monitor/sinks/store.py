"""SQLite persistence of alerts and the outbox, degrading to memory when the disk says no."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from pathlib import Path

from monitor.core.lifecycle import Alert, AlertBook
from monitor.sinks.outbox import Outbox, OutboxItem

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (key TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY, channel TEXT NOT NULL, payload TEXT NOT NULL, created REAL NOT NULL,
    attempts INTEGER NOT NULL, next_attempt REAL NOT NULL, last_error TEXT NOT NULL
);
"""


class Store:
    """Mirrors the in-memory alert book and outbox into SQLite (WAL) at `path`.

    Memory is the truth while the daemon runs; the database is what survives a restart. When a
    write fails (read-only or full disk) the changes stay marked and the next flush retries,
    rewriting everything once the database is back.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.error: str | None = None
        self._db: sqlite3.Connection | None = None
        self._resync = False

    @property
    def healthy(self) -> bool:
        """Whether the last operation reached the disk."""
        return self.error is None

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, timeout=5.0)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(_SCHEMA)
            except sqlite3.Error:
                db.close()
                raise
            self._db = db
        return self._db

    def load(self) -> tuple[list[Alert], list[OutboxItem]]:
        """The alerts and undelivered items of the last run (nothing, if unreadable).

        A database that cannot be opened for writing is still read, so that a read-only state
        directory does not make the daemon forget firing alerts.
        """
        try:
            return self._read(self._connect())
        except (sqlite3.Error, OSError, ValueError, KeyError) as exc:
            self._fail("open", exc)
        if not self.path.exists():
            return [], []
        try:
            with contextlib.closing(
                sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5.0)
            ) as db:
                return self._read(db)
        except (sqlite3.Error, OSError, ValueError, KeyError) as exc:
            log.error("cannot read state database %s either: %s", self.path, exc)
            return [], []

    def _read(self, db: sqlite3.Connection) -> tuple[list[Alert], list[OutboxItem]]:
        alerts = [Alert.from_json(json.loads(d)) for (d,) in db.execute("SELECT doc FROM alerts")]
        items = [
            OutboxItem(
                id=r[0],
                channel=r[1],
                payload=json.loads(r[2]),
                created=r[3],
                attempts=r[4],
                next_attempt=r[5],
                last_error=r[6],
            )
            for r in db.execute(
                "SELECT id, channel, payload, created, attempts, next_attempt, last_error "
                "FROM outbox"
            )
        ]
        return alerts, items

    def flush(self, book: AlertBook, outbox: Outbox) -> bool:
        """Write what changed since the last flush in one transaction; False when it failed."""
        alerts, gone = book.take_dirty()
        items, done = outbox.take_dirty()
        if self._resync:
            alerts, gone = list(book.alerts.values()), []
            items, done = list(outbox.items.values()), []
        if not (alerts or gone or items or done or self._resync):
            return self.healthy
        try:
            db = self._connect()
            db.execute("BEGIN IMMEDIATE")
            try:
                if self._resync:
                    db.execute("DELETE FROM alerts")
                    db.execute("DELETE FROM outbox")
                db.executemany(
                    "INSERT OR REPLACE INTO alerts (key, doc) VALUES (?, ?)",
                    [(json.dumps(a.key), json.dumps(a.to_json())) for a in alerts],
                )
                db.executemany("DELETE FROM alerts WHERE key = ?", [(json.dumps(k),) for k in gone])
                db.executemany(
                    "INSERT OR REPLACE INTO outbox VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            i.id,
                            i.channel,
                            json.dumps(i.payload),
                            i.created,
                            i.attempts,
                            i.next_attempt,
                            i.last_error,
                        )
                        for i in items
                    ],
                )
                db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in done])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except (sqlite3.Error, OSError) as exc:
            book.restore_dirty(a.key for a in alerts)
            book.restore_dirty(gone)
            outbox.restore_dirty(i.id for i in items)
            outbox.restore_dirty(done)
            self._fail("write", exc)
            return False
        if self.error is not None:
            log.warning("state database %s is writable again", self.path)
        self.error = None
        self._resync = False
        outbox.persisted.update(i.id for i in items)
        return True

    def _fail(self, what: str, exc: BaseException) -> None:
        why = self._diagnose()
        message = f"cannot {what} state database {self.path}: {exc}" + (f" ({why})" if why else "")
        if self.error != message:
            log.error("%s; keeping state in memory and retrying", message)
        self.error = message
        # The database may now lag memory in ways the dirty sets cannot describe (a rolled
        # back transaction, a fresh file): rewrite everything once it is writable again.
        self._resync = True
        self.close()

    def _diagnose(self) -> str:
        """Why the disk refuses, in words (SQLite often just says "unable to open")."""
        folder = self.path.parent
        try:
            fs = os.statvfs(folder)
        except OSError as exc:
            return f"{folder}: {exc.strerror}"
        if fs.f_flag & os.ST_RDONLY:
            return "the file system is read-only"
        if fs.f_bavail == 0:
            return "the disk is full"
        if not os.access(folder, os.W_OK):
            return f"{folder} is not writable"
        return ""

    def integrity_ok(self) -> bool:
        """`PRAGMA integrity_check` says ok."""
        row = self._connect().execute("PRAGMA integrity_check").fetchone()
        return bool(row and row[0] == "ok")

    def close(self) -> None:
        """Close the connection (a later flush reopens it)."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
