"""The HTTP listener against hostile clients, on the real daemon: silent and slow connections
under a low descriptor limit, a flood of malformed requests, and password guessing."""

from __future__ import annotations

import base64
import errno
import os
import resource
import select
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest

from monitor.exposition.auth import MAX_CONCURRENT_CHECKS, MAX_WAITING_CHECKS
from monitor.exposition.connections import connection_limit
from monitor.exposition.web import IDLE_SECONDS
from testkit.config import ANY_UNEXPECTED_ORIGIN, FAST_POLLING, daemon_yaml, write_config
from testkit.daemon import DaemonProcess, http_get, metric, texts
from testkit.fakeradar import FakeRadar
from testkit.receivers import Receiver, free_port
from testkit.waiting import wait_for
from tests.incidents import HIJACK, VICTIM, VICTIM_ORIGINS

#: What a unit without LimitNOFILE would give, and then some less: systemd's default is 1,024.
NOFILE = 256
SILENT = 1100
USER, PASSWORD = "prometheus", "first-login-pw-5d2c9e"
CREDENTIALS = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
#: One request of each kind aiohttp's parser refuses; the last carries a password before the fault.
MALFORMED = (
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
    b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\n\r\n",
    f"GET / HTTP/1.1\r\nAuthorization: Basic {CREDENTIALS}\r\nX: \x01\r\n\r\n".encode(),
)


@pytest.fixture(autouse=True)
def scenario(fake: FakeRadar) -> None:
    fake.set_prefix(VICTIM, VICTIM_ORIGINS, n_routes=100)


def start(
    tmp: Path,
    daemons: list[DaemonProcess],
    text: str,
    *,
    nofile: int | None = None,
    log_level: str = "debug",
) -> DaemonProcess:
    """The daemon on config `text`, ready."""
    daemon = DaemonProcess(tmp, write_config(tmp, text), nofile=nofile, log_level=log_level)
    daemons.append(daemon.start())
    daemon.wait_ready()
    return daemon


def watching(fake: FakeRadar, tmp: Path, port: int | None, notifications: list[str]) -> str:
    """VICTIM watched for AS64501, polled every second; the HTTP listener on `port` if given."""
    return daemon_yaml(
        fake.base_url,
        [f"{{prefix: {VICTIM}, origins: [64501]}}"],
        [ANY_UNEXPECTED_ORIGIN],
        source=FAST_POLLING,
        notifications=notifications,
        port=port,
        state=tmp / "state.db",
    )


def read_all(sock: socket.socket) -> bytes:
    """Everything the daemon sends on `sock` until it closes it."""
    chunks = []
    while chunk := sock.recv(4096):
        chunks.append(chunk)
    return b"".join(chunks)


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    """A connection to the daemon, not waited for: the kernel completes it when it can."""
    sock = socket.socket()
    sock.bind((source, 0))
    sock.setblocking(False)
    sock.connect_ex(("127.0.0.1", port))
    return sock


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the daemon closed `sock` (end of file or reset), without waiting."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    if not poller.poll(0):
        return False
    try:
        return sock.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    """Sockets a test opens, closed after it; the test may open a few thousand."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4 * SILENT if hard == resource.RLIM_INFINITY else min(hard, 4 * SILENT)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_silent_and_slow_clients_neither_starve_the_daemon_nor_keep_their_connections(
    tmp_path: Path,
    fake: FakeRadar,
    receiver: Receiver,
    daemons: list[DaemonProcess],
    sockets: list[socket.socket],
) -> None:
    port = free_port()
    channels = [f'channels: [{{name: pager, url: "{receiver.url("pager")}"}}]', "group_wait: 0s"]
    text = watching(fake, tmp_path, port, channels)
    daemon = start(tmp_path, daemons, text, nofile=NOFILE)
    limit = connection_limit(NOFILE)

    sockets += [connect(port) for _ in range(SILENT)]  # never a byte from any of them
    fake.set_prefix(VICTIM, HIJACK, n_routes=100)
    # The listener still answers: the longest idle connections made room.
    assert http_get(port, "/healthz")[0] == 200
    assert metric(port, "radar_monitor_http_connections_limit") == limit
    evicted = 'radar_monitor_http_connections_dropped_total{reason="evicted"}'
    assert (metric(port, evicted) or 0) > 0
    held = metric(port, "radar_monitor_http_connections ")
    assert held is not None and held <= limit
    assert len(os.listdir(f"/proc/{daemon.pid}/fd")) < NOFILE
    # Polling and notifying go on: the hijack reaches on-call.
    wait_for(lambda: any("FIRING" in t for t in texts(receiver, "pager")), what="the FIRING page")

    assert http_get(port, "/metrics")[0] == 200
    assert "Too many open files" not in daemon.log
    assert "Traceback" not in daemon.log


def test_silent_slow_and_idle_connections_are_closed_after_the_idle_timeout(
    tmp_path: Path, fake: FakeRadar, daemons: list[DaemonProcess], sockets: list[socket.socket]
) -> None:
    port = free_port()
    start(tmp_path, daemons, watching(fake, tmp_path, port, []))
    silent = connect(port)
    slow = socket.create_connection(("127.0.0.1", port), timeout=5)
    idle = socket.create_connection(("127.0.0.1", port), timeout=5)
    sockets += [silent, slow, idle]
    opened = time.monotonic()
    slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")  # then kept alive, unused
    assert idle.recv(4096).startswith(b"HTTP/1.1 200 OK")
    probes = {"silent": silent, "slow": slow, "idle": idle}
    closed: dict[str, float] = {}
    while len(closed) < len(probes) and time.monotonic() < opened + IDLE_SECONDS + 15:
        for name, sock in probes.items():
            if name not in closed and closed_by_server(sock):
                closed[name] = time.monotonic() - opened
        if "slow" not in closed:
            try:
                slow.send(b"a")  # two bytes a second of one header, never its end
            except OSError as exc:
                assert exc.errno in (errno.EPIPE, errno.ECONNRESET)
        time.sleep(0.5)
    assert set(closed) == set(probes), f"open after {IDLE_SECONDS + 15:g}s: {closed}"
    # Closed by the idle timer, not before.
    assert min(closed.values()) >= IDLE_SECONDS - 1, closed
    assert http_get(port, "/healthz")[0] == 200


@pytest.mark.parametrize("level", ["info", "debug"])
def test_malformed_requests_cost_one_warning_and_a_metric(
    tmp_path: Path, fake: FakeRadar, daemons: list[DaemonProcess], level: str
) -> None:
    port = free_port()
    daemon = start(tmp_path, daemons, watching(fake, tmp_path, port, []), log_level=level)
    before = daemon.log.splitlines()
    rounds = 300
    for _ in range(rounds):
        for request in MALFORMED:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(request)
                answer = read_all(sock)
                assert answer.startswith(b"HTTP/1.0 400 Bad Request"), answer[:80]
    sent = rounds * len(MALFORMED)

    assert metric(port, "radar_monitor_http_bad_requests_total") == sent
    assert http_get(port, "/healthz")[0] == 200
    added = daemon.log.splitlines()[len(before) :]
    ours = [line for line in added if "malformed HTTP request" in line]
    warnings = [line for line in ours if " WARNING " in line]
    assert len(warnings) == 1 and "1 malformed HTTP request" in warnings[0]
    # Nothing else about them: no ERROR, no traceback; at debug one line each.
    assert not [line for line in added if " ERROR " in line or line.startswith("    ")]
    others = len(added) - len(ours)
    assert others <= 5, added[:20]
    assert len(ours) == (1 if level == "info" else sent + 1)
    assert PASSWORD not in daemon.log and CREDENTIALS not in daemon.log


def get_with_password(port: int, password: str, source: str = "127.0.0.1") -> socket.socket:
    """A GET /healthz with basic auth for USER, sent; the answer is read later."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60, source_address=(source, 0))
    credentials = base64.b64encode(f"{USER}:{password}".encode()).decode()
    sock.sendall(
        f"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {credentials}\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    return sock


def answered(sock: socket.socket) -> bool:
    """Whether the daemon has started to answer on `sock`."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def status(sock: socket.socket) -> int:
    """The status of the answer on `sock`, waiting for it."""
    sock.setblocking(True)
    return int(sock.recv(4096).split(b" ", 2)[1])


def test_a_first_login_overtakes_a_flood_of_wrong_passwords(
    tmp_path: Path, fake: FakeRadar, daemons: list[DaemonProcess], sockets: list[socket.socket]
) -> None:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=10)).decode()
    (tmp_path / "web.yml").write_text(f"basic_auth_users:\n  {USER}: '{hashed}'\n")
    port = free_port()
    listen = f'http: {{listen: "127.0.0.1:{port}", web_config_file: web.yml}}\n'
    daemon = start(tmp_path, daemons, watching(fake, tmp_path, None, []) + listen)

    guesses = 300
    sockets += [get_with_password(port, f"guess-{i}") for i in range(guesses)]
    # Once this many are answered, the daemon has read them all and the rest wait for bcrypt.
    in_flight = MAX_WAITING_CHECKS + MAX_CONCURRENT_CHECKS
    wait_for(lambda: sum(map(answered, sockets)) >= guesses - in_flight, what="the guesses")
    right = get_with_password(port, PASSWORD, source="127.0.0.2")  # another client
    sockets.append(right)
    assert status(right) == 200
    pending = guesses - sum(map(answered, sockets[:guesses]))
    assert pending >= in_flight // 2, f"only {pending} guesses still waited"

    statuses = [status(sock) for sock in sockets[:guesses]]
    assert set(statuses) == {401, 429}
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Basic {CREDENTIALS}"}
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        page = resp.read().decode()
    assert f"radar_monitor_http_auth_throttled_total {statuses.count(429)}.0" in page
    assert PASSWORD not in daemon.log and CREDENTIALS not in daemon.log
