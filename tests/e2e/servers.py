"""Debian's Prometheus and Alertmanager, each run on loopback ports for a test."""

from __future__ import annotations

import json
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from testkit.daemon import http_get
from testkit.receivers import Receiver, free_port
from testkit.waiting import wait_for
from tests.paths import RULES


def terminate(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM `proc` and wait for it; SIGKILL if it takes over 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class Prometheus:
    """Debian's prometheus on a loopback port, its data in `data`, scraping `target` (the
    daemon) and a dead target, with the contrib/ rules loaded."""

    def __init__(self, binary: str, data: Path, target: str) -> None:
        self.port = free_port()
        self.dead_target = f"127.0.0.1:{free_port()}"
        data.mkdir()
        config = data / "prometheus.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "global": {
                        "scrape_interval": "1s",
                        "scrape_timeout": "1s",
                        "evaluation_interval": "1s",
                    },
                    "rule_files": [str(RULES)],
                    "scrape_configs": [
                        {
                            "job_name": "radar-monitor",
                            "static_configs": [{"targets": [target, self.dead_target]}],
                        }
                    ],
                }
            )
        )
        self.log_path = data / "prometheus.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                f"--storage.tsdb.path={data / 'tsdb'}",
                # Lets a query at a later time still see the latest samples (RadarMonitorNotPolling).
                "--query.lookback-delta=30m",
                "--log.level=warn",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get(self, path: str, **params: str) -> Any:
        status, body = http_get(self.port, f"{path}?{urllib.parse.urlencode(params)}")
        assert status == 200, body
        doc = json.loads(body)
        assert doc["status"] == "success", doc
        return doc["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": expr} if at is None else {"query": expr, "time": f"{at:.3f}"}
        result: list[dict[str, Any]] = self.get("/api/v1/query", **params)["result"]
        return result

    def ready(self) -> bool:
        assert self.proc.poll() is None, f"prometheus died:\n{self.log}"
        try:
            return http_get(self.port, "/-/ready")[0] == 200
        except OSError:
            return False

    def close(self) -> None:
        terminate(self.proc)
        self._log.close()


class Alertmanager:
    """`prometheus-alertmanager` on loopback ports, its webhook pointing at `receiver`."""

    def __init__(
        self,
        binary: str,
        tmp: Path,
        receiver: Receiver,
        cluster: Sequence[str] = ("--cluster.listen-address=",),  # a single node: no gossip
    ) -> None:
        tmp.mkdir(exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = tmp / "alertmanager.yml"
        config.write_text(
            f"""
route:
  receiver: hook
  group_by: [alertname, prefix]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:{receiver.port}/am
        send_resolved: true
"""
        )
        self.log_path = tmp / "alertmanager.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.path={tmp / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                *cluster,
                "--log.level=debug",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self._ready, within=15, what="Alertmanager to be ready")

    def _ready(self) -> bool:
        assert self.proc.poll() is None, self.log_path.read_text()
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def get(self, path: str) -> Any:
        """GET a v2 API path as JSON."""
        with urllib.request.urlopen(f"{self.url}/api/v2{path}", timeout=5) as resp:
            return json.loads(resp.read())

    def stop(self) -> None:
        """Terminate the process and wait for it."""
        terminate(self.proc)
        self._log.close()
