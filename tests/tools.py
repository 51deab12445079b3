"""Helpers for tests that need external programs."""

from __future__ import annotations

import os
import shutil

import pytest


def require_tool(name: str) -> str:
    """Path of program `name` on $PATH; missing fails the test under CI=true, else skips it."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (not found on PATH)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
