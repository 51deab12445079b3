"""Small secret files are read bounded, from regular files only, with a reason otherwise."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.ops.files import SMALL_FILE_LIMIT, FileProblem, read_small_text


def test_a_regular_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("token\n")
    assert read_small_text(path) == "token\n"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: None, "cannot open it: No such file or directory"),
        (lambda p: p.mkdir(), "it is a directory, not a regular file"),
        (lambda p: p.symlink_to(p), "cannot open it: Too many levels of symbolic links"),
        (lambda p: os.mkfifo(p), "it is a FIFO, not a regular file"),
        (lambda p: p.symlink_to("/dev/zero"), "it is a device, not a regular file"),
        (lambda p: p.write_bytes(b"x" * (SMALL_FILE_LIMIT + 1)), "larger than 65536 bytes"),
        (lambda p: p.write_bytes(b"\xff\xfe token"), "it is not UTF-8 text"),
    ],
)
def test_anything_else_is_refused_with_a_reason(
    tmp_path: Path, make: Callable[[Path], object], reason: str
) -> None:
    path = tmp_path / "secret-S3cretName"
    make(path)
    with pytest.raises(FileProblem) as info:
        read_small_text(path)
    assert reason in str(info.value)
    assert "S3cretName" not in str(info.value)  # the path may come from ${ENV}
