"""Reading the small files a config names (token, channel URL): bounded, regular files only.

`token_file: /dev/zero` exhausted memory and a FIFO hung `once` and `run` before the listener
started. A secret file is a few hundred bytes; anything else is refused with a reason that
names neither the path (it may come from `${ENV}`) nor the content.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: Far above any token or Apprise URL, far below trouble.
SMALL_FILE_LIMIT = 64 * 1024


class FileProblem(ValueError):
    """A file that cannot serve as a small text file; the message says why."""


def read_small_text(path: Path, limit: int = SMALL_FILE_LIMIT) -> str:
    """The UTF-8 text of the regular file at `path`, at most `limit` bytes."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise FileProblem(f"cannot open it: {exc.strerror}") from None
    try:
        kind = os.fstat(fd).st_mode
        if not stat.S_ISREG(kind):
            raise FileProblem(f"it is {_describe(kind)}, not a regular file")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise FileProblem(f"it is larger than {limit} bytes")
    except OSError as exc:
        raise FileProblem(f"cannot read it: {exc.strerror}") from None
    finally:
        os.close(fd)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise FileProblem("it is not UTF-8 text") from None


def _describe(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` all at once: a reader, or a failure, never sees half a file.

    The text goes to a temporary file beside `path` first, which then replaces it; on any
    error the temporary file is removed and `path` is left as it was (OSError propagates).
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
