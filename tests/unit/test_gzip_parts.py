"""GzipParts: whatever parts change between calls, the body decodes to their join, with Python's
gzip module and with the `gzip` tool."""

from __future__ import annotations

import gzip
import subprocess

from hypothesis import given
from hypothesis import strategies as st

from monitor.exposition.gzip_parts import GzipParts
from tests.tools import require_tool

PARTS = st.lists(st.binary(max_size=3000) | st.sampled_from([b"", b"# HELP x\n" * 50]), max_size=12)


@given(st.lists(PARTS, min_size=1, max_size=4))
def test_every_body_decodes_to_the_join_of_its_parts(calls: list[list[bytes]]) -> None:
    packer = GzipParts(1)
    for parts in calls:
        assert gzip.decompress(packer.compress(parts)) == b"".join(parts)


def test_the_gzip_tool_reads_a_body_whose_parts_were_reused() -> None:
    tool = require_tool("gzip")
    packer = GzipParts(1)
    parts = [f'metric_{i}{{prefix="10.0.{i}.0/24"}} {i}.0\n'.encode() * 40 for i in range(20)]
    packer.compress(parts)
    parts[7] = b"changed 1.0\n"
    body = packer.compress(parts)
    out = subprocess.run([tool, "-dc"], input=body, capture_output=True, check=True).stdout
    assert out == b"".join(parts)
