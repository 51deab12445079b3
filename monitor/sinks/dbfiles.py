"""The state database as files on disk: telling garbage, moving it aside, knowing which file a
connection writes to, and reading a WAL database from a folder nothing may be written to."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

#: The files SQLite keeps next to the database in WAL mode (they go where it goes).
SIDECARS = ("-wal", "-shm")
#: How every SQLite database file begins.
MAGIC = b"SQLite format 3\x00"
#: SQLite's codes for a file that is not, or no longer, a sound database.
_CORRUPT = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})

T = TypeVar("T")
#: (st_dev, st_ino) of the database ("") and of each sidecar that exists.
Identity = dict[str, tuple[int, int]]


class Garbage(Exception):
    """The file at the path holds no database we can read."""


def corrupt(exc: sqlite3.DatabaseError) -> bool:
    """Whether SQLite says the file is not a (sound) database."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) in _CORRUPT


def check_header(path: Path) -> None:
    """Raise `Garbage` if `path` holds bytes, but not those every SQLite database starts with.

    Told before SQLite opens the file: SQLite would delete a -wal next to it, and that belongs
    with it when it is moved aside.
    """
    with contextlib.suppress(FileNotFoundError), path.open("rb") as fh:
        head = fh.read(len(MAGIC))
        if head and head != MAGIC:
            raise Garbage("file is not a database: it does not start as SQLite's do")


def identify(path: Path) -> Identity:
    """Which files are at `path` and its sidecars' paths now."""
    found: Identity = {}
    for suffix in ("", *SIDECARS):
        with contextlib.suppress(OSError):
            st = os.stat(f"{path}{suffix}")
            found[suffix] = (st.st_dev, st.st_ino)
    return found


def remove_sidecars(path: Path, identity: Identity) -> None:
    """Delete the sidecars at `path` that are still the files of `identity`.

    A connection's -wal and -shm outlive its deleted database: they must not be taken for
    those of a new one (SQLite would apply the old frames to it).
    """
    for suffix in SIDECARS:
        sidecar = Path(f"{path}{suffix}")
        with contextlib.suppress(OSError):
            st = sidecar.stat()
            if (st.st_dev, st.st_ino) == identity.get(suffix):
                sidecar.unlink()


def set_aside(path: Path) -> Path:
    """Rename `path` and its sidecars to `<path>.corrupt-<UTC time>`; OSError if it cannot."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while any(Path(f"{aside}{s}").exists() for s in ("", *SIDECARS)):
        n += 1
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    # The database first: sidecars left without it are ignored by SQLite.
    path.rename(aside)
    for suffix in SIDECARS:
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").rename(f"{aside}{suffix}")
    return aside


def read_only(path: Path, read: Callable[[sqlite3.Connection], T]) -> T:
    """`read` on the database at `path` without writing next to it (a read-only folder).

    SQLite reads a WAL database only with a -shm, which it cannot make in such a folder.
    Raises what SQLite or the file system raise.
    """
    wal = Path(f"{path}-wal")
    try:
        # Works where SQLite finds (or can make) the -shm.
        return _read_uri(path, "mode=ro", read)
    except sqlite3.OperationalError:
        if not wal.exists() or wal.stat().st_size == 0:
            # Nothing but the main file to read: read it as a file that nobody changes, for
            # which SQLite needs no -shm.
            return _read_uri(path, "mode=ro&immutable=1", read)
    # The last writes are in a -wal that SQLite cannot use here: read a copy of both.
    with tempfile.TemporaryDirectory(prefix="radar-monitor-state-") as folder:
        copy = Path(folder) / "state.db"
        shutil.copyfile(path, copy)
        shutil.copyfile(wal, f"{copy}-wal")
        with contextlib.closing(sqlite3.connect(copy, timeout=5.0)) as db:
            return read(db)


def _read_uri(path: Path, query: str, read: Callable[[sqlite3.Connection], T]) -> T:
    uri = f"{path.absolute().as_uri()}?{query}"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5.0)) as db:
        return read(db)
