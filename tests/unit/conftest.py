"""Fixtures of the unit lane."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.webconfig_files import make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, server and client certificates it signed, and the server key encrypted."""
    return make_pki(tmp_path_factory.mktemp("pki"))
