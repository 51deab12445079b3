"""Runs the real daemon as a subprocess with a notify socket, and reads what it shows."""

from __future__ import annotations

import functools
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from testkit.fakeradar import DEFAULT_TOKEN
from testkit.receivers import Receiver, SmtpServer
from testkit.waiting import wait_for

TOKEN = DEFAULT_TOKEN
#: Credentials that tests put into channel URLs; like the token, they must never be shown.
URL_PASSWORD = "url-pw-3e8d1c7a9f"
SECRETS = (TOKEN, URL_PASSWORD)


def assert_no_secrets(text: str, where: str) -> None:
    """Fail if the API token or a channel credential appears in `text`."""
    for secret in SECRETS:
        assert secret not in text, f"a secret leaked into {where}"


class NotifySocket:
    """A `$NOTIFY_SOCKET` the test owns: records every sd_notify datagram."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[dict[str, str]] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.2)
        self._stop = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop:
            try:
                data = self._sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.messages.append(fields)

    def having(self, key: str) -> list[dict[str, str]]:
        """Messages that carry `key`."""
        return [m for m in self.messages if key in m]

    def close(self) -> None:
        """Stop reading and remove the socket."""
        self._stop = True
        self._thread.join(2)
        self._sock.close()


class DaemonProcess:
    """`python -m monitor run --config FILE` with its own port, socket and log file."""

    def __init__(
        self,
        tmp: Path,
        config: Path,
        env: dict[str, str] | None = None,
        *,
        log_level: str = "debug",
        interpreter_args: Sequence[str] = (),
        nofile: int | None = None,
    ) -> None:
        self.tmp = tmp
        self.config = config
        self.log_path = tmp / f"daemon-{time.monotonic_ns()}.log"
        self.notify = NotifySocket(tmp / f"notify-{time.monotonic_ns()}.sock")
        self.extra_env = env or {}
        #: Debug by default, so that secret-leak checks see everything the daemon can log.
        self.log_level = log_level
        #: Before `-m monitor`, e.g. `-m cProfile -o FILE` for the load benchmark.
        self.interpreter_args = tuple(interpreter_args)
        #: RLIMIT_NOFILE (soft and hard) for the daemon, e.g. a low one a unit might set.
        self.nofile = nofile
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, log_format: str = "human") -> DaemonProcess:
        """Start the daemon (debug logging, so secret-leak checks see everything)."""
        env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
        env.update({"CLOUDFLARE_API_TOKEN": TOKEN, "NOTIFY_SOCKET": str(self.notify.path)})
        env.update(self.extra_env)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        limit = None
        if self.nofile is not None:
            # Only setrlimit runs in the forked child: the test's threads cannot deadlock it.
            bounds = (self.nofile, self.nofile)
            limit = functools.partial(resource.setrlimit, resource.RLIMIT_NOFILE, bounds)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                *self.interpreter_args,
                "-m",
                "monitor",
                "--log-level",
                self.log_level,
                "--log-format",
                log_format,
                "run",
                "--config",
                str(self.config),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=limit,
        )
        return self

    @property
    def pid(self) -> int:
        """The daemon's process id."""
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.proc is not None and self.proc.poll() is None

    @property
    def log(self) -> str:
        """Everything the daemon wrote so far."""
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, within: float = 30.0) -> None:
        """Wait for READY=1 (sent after the first full cycle)."""
        wait_for(lambda: self.notify.having("READY") or self._died(), within, "READY=1")
        assert self.notify.having("READY"), f"daemon died:\n{self.log}"

    def _died(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def signal(self, sig: signal.Signals) -> None:
        """Send `sig` to the daemon."""
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self._log.close()
        return code

    def kill(self) -> None:
        """SIGKILL: no chance to clean up."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)
        self._log.close()

    def close(self) -> None:
        """Make sure nothing is left running, and that nothing it wrote shows a secret."""
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
        log_file = getattr(self, "_log", None)
        if log_file is not None and not log_file.closed:
            log_file.close()
        self.notify.close()
        assert_no_secrets(self.log, f"the daemon log {self.log_path}")
        for message in self.notify.messages:
            assert_no_secrets(repr(message), "sd_notify messages")


def http_get(port: int, path: str) -> tuple[int, str]:
    """GET http://127.0.0.1:port/path → (status, body)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            status, body = resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read().decode()
    assert_no_secrets(body, f"GET {path}")
    return status, body


def alerts(port: int) -> list[dict[str, Any]]:
    """The daemon's /api/v1/alerts."""
    status, body = http_get(port, "/api/v1/alerts")
    assert status == 200, body
    result: list[dict[str, Any]] = json.loads(body)["alerts"]
    return result


def watched(port: int) -> dict[str, dict[str, Any]]:
    """The daemon's /api/v1/prefixes, by prefix."""
    status, body = http_get(port, "/api/v1/prefixes")
    assert status == 200, body
    return {p["prefix"]: p for p in json.loads(body)["prefixes"]}


def metric(port: int, line_prefix: str) -> float | None:
    """The value of the first /metrics sample whose line starts with `line_prefix`."""
    _, body = http_get(port, "/metrics")
    for line in body.splitlines():
        if line.startswith(line_prefix):
            return float(line.rsplit(" ", 1)[1])
    return None


def texts(receiver: Receiver, path: str) -> list[str]:
    """Title + message of every JSON post to `path`."""
    return [f"{p.doc.get('title', '')}\n{p.doc.get('message', '')}" for p in receiver.at(path)]


def mails(smtp: SmtpServer) -> list[str]:
    """Subject + body of every mail received."""
    return [f"{m['Subject']}\n{m.get_content()}" for m in smtp.mailbox.messages]


def launch(daemons: list[DaemonProcess], tmp: Path, config: Path, **env: str) -> DaemonProcess:
    """Start a daemon, remember it for cleanup, and wait for READY=1."""
    daemon = DaemonProcess(tmp, config, env).start()
    daemons.append(daemon)
    daemon.wait_ready()
    return daemon
