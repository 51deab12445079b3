"""Which addresses a process listens on, read from Linux's /proc: servers in tests must bind
to loopback only."""

from __future__ import annotations

import os
from pathlib import Path

#: 127.0.0.1 and ::1 as /proc/net/tcp{,6} write them.
LOOPBACK = {"0100007F", "00000000000000000000000001000000"}


def listening_addresses(pid: int) -> set[str]:
    """Local addresses of the TCP sockets `pid` listens on (Linux /proc), e.g. 7F000001."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                found.add(fields[1].split(":")[0])
    return found
