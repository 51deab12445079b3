"""SQLite persistence of alerts and the outbox, degrading to memory when the disk says no."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from monitor.core.finding import AlertKey
from monitor.core.lifecycle import Alert, AlertBook
from monitor.sinks import dbfiles
from monitor.sinks.dbfiles import Garbage
from monitor.sinks.outbox import Outbox, OutboxItem

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (key TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY, channel TEXT NOT NULL, payload TEXT NOT NULL, created REAL NOT NULL,
    attempts INTEGER NOT NULL, next_attempt REAL NOT NULL, last_error TEXT NOT NULL
);
"""
#: What follows when garbage was moved aside: at start, or while the daemon runs.
_STARTED_EMPTY = (
    "a new one is started there; the alerts and notifications it held are lost, "
    "and alerts firing now will be notified again"
)
_REFILLED = "a new one there gets the full state from memory"
#: What decoding a row may raise (`Alert.from_json` asserts its timestamps).
_UNDECODABLE = (ValueError, KeyError, TypeError, AssertionError)
#: How long `Store.error` keeps reporting that the database was deleted under the running
#: daemon, after it was recreated: long enough for a scrape, and for the contrib alert's `for`.
LOST_NOTICE_SECONDS = 600.0


class _Unmovable(Exception):
    """The file at the path is no database we can use, and it cannot be moved aside."""


class Store:
    """Mirrors the in-memory alert book and outbox into SQLite (WAL) at `path`.

    Memory is the truth while the daemon runs; the database is what survives a restart. When a
    write fails (read-only or full disk) the changes stay marked and the next flush retries,
    rewriting everything once the database is back. A file that is no database is moved aside
    and replaced by a new one; a database deleted while the daemon runs is noticed at the next
    flush, reported, and written anew from memory.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._resync = False
        #: Why the last write (or open) failed; None once one succeeds.
        self._write_error: str | None = None
        self._cause = ""
        #: A past loss worth reporting for a while although writes work: (message, until).
        self._notice: tuple[str, float] | None = None
        #: The database and its sidecars as the connection opened them.
        self._identity: dbfiles.Identity = {}
        self._recreating = False

    @property
    def healthy(self) -> bool:
        """Whether the last operation reached the disk."""
        return self._write_error is None

    @property
    def error(self) -> str | None:
        """What is wrong with the state database, for the operator; None when nothing is.

        Besides a failing disk, for `LOST_NOTICE_SECONDS` after it was noticed: that the
        database had been deleted or replaced under the running daemon.
        """
        if self._write_error is not None:
            return self._write_error
        if self._notice is not None:
            message, until = self._notice
            if time.monotonic() < until:
                return message
            self._notice = None
        return None

    # --- opening ----------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        dbfiles.check_header(self.path)
        db = sqlite3.connect(self.path, isolation_level=None, timeout=5.0)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            # SQLite opens a database it may not write (a read-only folder that still holds
            # the -shm of a killed daemon) read-only without a word, and the statements above
            # pass on it: a write is what tells.
            db.execute("PRAGMA user_version = 1")
        except BaseException:
            db.close()
            raise
        return db

    def _connect(self, then: str = _REFILLED) -> sqlite3.Connection:
        """The open connection, or a new one; `then` is what happens after moving garbage aside."""
        if self._db is None:
            try:
                db = self._open()
            except (sqlite3.DatabaseError, Garbage) as exc:
                if isinstance(exc, sqlite3.DatabaseError) and not dbfiles.corrupt(exc):
                    raise
                self._set_aside(str(exc), then)
                db = self._open()
            self._db = db
            self._identity = dbfiles.identify(self.path)
        return self._db

    def _set_aside(self, problem: str, then: str) -> Path:
        """Move the unusable database and its sidecars aside, and say where.

        Raises `_Unmovable` when they cannot be moved (a read-only folder, say).
        """
        self.close()
        try:
            aside = dbfiles.set_aside(self.path)
        except OSError as exc:
            raise _Unmovable(f"{problem}; it cannot be moved aside: {exc.strerror or exc}") from exc
        log.error(
            "state database %s is unusable (%s): moved it aside to %s; %s",
            self.path,
            problem,
            aside,
            then,
        )
        return aside

    # --- loading ----------------------------------------------------------------------------

    def load(self) -> tuple[list[Alert], list[OutboxItem]]:
        """The alerts and undelivered items of the last run (nothing, if unreadable).

        A database that cannot be opened for writing is still read, so that a read-only state
        directory does not make the daemon forget firing alerts. A file that is no database
        (or one whose rows cannot be read) is moved aside, and a new database started.
        """
        try:
            size: int | None = self.path.stat().st_size
        except OSError:
            size = None
        how = ""
        try:
            alerts, items = self._load()
        except (sqlite3.Error, OSError, _Unmovable) as exc:
            self._fail("open", exc)
            if isinstance(exc, _Unmovable):
                return [], []
            alerts, items = self._read_only()
            how = ", opened read-only: changes stay in memory until it is writable"
        if size == 0:
            log.warning(
                "state database %s is empty (0 bytes): the previous state is gone; "
                "alerts firing now will be notified again",
                self.path,
            )
        elif size is not None and (alerts or items or how):
            log.info(
                "read %d alert(s) and %d notification(s) from state database %s%s",
                len(alerts),
                len(items),
                self.path,
                how,
            )
        return alerts, items

    def _load(self) -> tuple[list[Alert], list[OutboxItem]]:
        db = self._connect(_STARTED_EMPTY)
        try:
            (verdict,) = db.execute("PRAGMA quick_check").fetchone()
            if verdict != "ok":
                raise Garbage(f"integrity check: {verdict}")
            try:
                return self._read(db)
            except _UNDECODABLE as exc:
                raise Garbage(f"unreadable rows: {exc!r}") from exc
        except (sqlite3.DatabaseError, Garbage) as exc:
            if isinstance(exc, sqlite3.DatabaseError) and not dbfiles.corrupt(exc):
                raise
            self._set_aside(str(exc), _STARTED_EMPTY)
            return self._read(self._connect())

    def _read_only(self) -> tuple[list[Alert], list[OutboxItem]]:
        """Read the database without writing next to it (in a read-only folder, say)."""
        try:
            if not self.path.exists() or self.path.stat().st_size == 0:
                return [], []
            return dbfiles.read_only(self.path, self._read)
        except (sqlite3.Error, OSError, *_UNDECODABLE) as exc:
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

    # --- writing ----------------------------------------------------------------------------

    def flush(self, book: AlertBook, outbox: Outbox) -> bool:
        """Write what changed since the last flush in one transaction; False when it failed."""
        self._check_in_place()
        alerts, gone = book.take_dirty()
        items, done = outbox.take_dirty()
        if self._resync:
            alerts, gone = list(book.alerts.values()), []
            items, done = list(outbox.items.values()), []
        if not (alerts or gone or items or done or self._resync):
            return self.healthy
        try:
            self._write(self._connect(), alerts, gone, items, done)
        except (sqlite3.Error, OSError, _Unmovable) as exc:
            book.restore_dirty(a.key for a in alerts)
            book.restore_dirty(gone)
            outbox.restore_dirty(i.id for i in items)
            outbox.restore_dirty(done)
            if isinstance(exc, sqlite3.DatabaseError) and dbfiles.corrupt(exc):
                with contextlib.suppress(_Unmovable):
                    self._set_aside(str(exc), _REFILLED)
            self._fail("write", exc)
            return False
        if self._write_error is not None:
            log.warning("state database %s is writable again", self.path)
        if self._recreating:
            log.warning(
                "recreated state database %s with %d alert(s) and %d notification(s) from memory",
                self.path,
                len(alerts),
                len(items),
            )
        self._write_error = None
        self._resync = self._recreating = False
        outbox.persisted.update(i.id for i in items)
        return True

    def _write(
        self,
        db: sqlite3.Connection,
        alerts: list[Alert],
        gone: list[AlertKey],
        items: list[OutboxItem],
        done: list[str],
    ) -> None:
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
            # On some errors (a full disk, an I/O error) SQLite has already rolled the
            # transaction back; a ROLLBACK would then fail too and hide the error that counts.
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            raise

    def _check_in_place(self) -> None:
        """Notice that the open database is no longer the file at the path, and start anew.

        Deleted (or renamed, or replaced) under a running daemon, SQLite goes on writing to
        the unlinked file without a word, and a restart would find nothing.
        """
        if self._db is None or "" not in self._identity:
            return
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            how = "deleted"
        except OSError:
            return  # cannot tell now; a failing write will say why
        else:
            if (st.st_dev, st.st_ino) == self._identity[""]:
                return
            how = "replaced by another file"
        identity = self._identity
        self.close()
        dbfiles.remove_sidecars(self.path, identity)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        message = (
            f"state database {self.path} was {how} while the daemon ran (noticed {stamp}); "
            "writes went to a file a restart would not find"
        )
        log.error("%s; recreating it with the full state from memory", message)
        self._notice = (
            f"{message}; recreated from memory",
            time.monotonic() + LOST_NOTICE_SECONDS,
        )
        self._resync = self._recreating = True

    def _fail(self, what: str, exc: BaseException) -> None:
        why = self._diagnose()
        cause = f"{exc}" + (f" ({why})" if why else "")
        # Said once: the first flush after a failed open fails the same way, as do retries.
        if self._write_error is None or self._cause != cause:
            log.error(
                "cannot %s state database %s: %s; keeping state in memory and retrying",
                what,
                self.path,
                cause,
            )
        self._write_error = f"cannot {what} state database {self.path}: {cause}"
        self._cause = cause
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
        self._identity = {}
