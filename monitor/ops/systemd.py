"""Stdlib-only systemd integration (sd_notify, watchdog, credentials, state dir) for the daemon."""

from __future__ import annotations

import asyncio
import logging
import os
import pathlib
import socket
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

_warned = False
#: Seconds a notification may block if the manager's queue is full.
_SEND_TIMEOUT = 2.0


def notify(*fields: str) -> bool:
    """Send "KEY=value" fields as one datagram to $NOTIFY_SOCKET; False if unset or failed."""
    global _warned
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address or not fields:
        return False
    if address.startswith("@"):  # abstract namespace socket
        address = "\0" + address[1:]
    try:
        if not address.startswith(("/", "\0")):
            raise OSError(f"unsupported NOTIFY_SOCKET address {address!r}")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.settimeout(_SEND_TIMEOUT)
            sock.sendto("\n".join(fields).encode(), address)
    except OSError as exc:
        if not _warned:
            _warned = True
            log.warning("cannot notify systemd via %r: %s", address, exc)
        return False
    return True


def notify_ready(status: str) -> None:
    """Tell systemd start-up (or a reload) is complete, with a status line."""
    notify("READY=1", f"STATUS={status}")


#: While start-up lasts, the start timeout is extended this often, each time by three times as
#: long: the first cycle is spread over the interval (10 minutes, say), far past systemd's
#: default 90 s `TimeoutStartSec`, yet a daemon that hangs is still stopped within a minute.
EXTEND_EVERY = 20.0


async def notify_ready_when(
    ready: asyncio.Event, status: Callable[[], str], every: float = EXTEND_EVERY
) -> None:
    """Send READY=1 once `ready` is set; until then, extend systemd's start timeout."""
    while True:
        try:
            await asyncio.wait_for(ready.wait(), every)
        except TimeoutError:
            notify(f"EXTEND_TIMEOUT_USEC={int(every * 3 * 1e6)}", f"STATUS={status()}")
        else:
            notify_ready(status())
            return


def notify_reloading() -> None:
    """Tell systemd a configuration reload has started (with the monotonic timestamp)."""
    usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    notify("RELOADING=1", f"MONOTONIC_USEC={usec}")


def notify_status(status: str) -> None:
    """Set the free-form status line shown by `systemctl status`."""
    notify(f"STATUS={status}")


def notify_stopping() -> None:
    """Tell systemd the daemon is shutting down."""
    notify("STOPPING=1")


def notify_watchdog() -> None:
    """Ping the systemd watchdog."""
    notify("WATCHDOG=1")


def watchdog_interval() -> float | None:
    """Seconds between watchdog pings (half of $WATCHDOG_USEC) if the watchdog targets us."""
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", ""))
        pid = os.environ.get("WATCHDOG_PID", "")
        if pid and int(pid) != os.getpid():
            return None
    except ValueError:
        return None
    return usec / 2_000_000 if usec > 0 else None


def credential_path(name: str) -> pathlib.Path | None:
    """Path of systemd credential `name` in $CREDENTIALS_DIRECTORY if it exists."""
    directory = os.environ.get("CREDENTIALS_DIRECTORY", "")
    if not directory or not name or "/" in name or name in {".", ".."}:
        return None
    path = pathlib.Path(directory) / name
    return path if path.is_file() else None


def default_state_dir() -> pathlib.Path | None:
    """First directory of $STATE_DIRECTORY (set by StateDirectory=), if any."""
    first = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    return pathlib.Path(first) if first else None
