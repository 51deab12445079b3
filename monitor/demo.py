"""`radar-monitor demo`: the full daemon on a bundled incident replay, no token, no network."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from monitor.bundled import bundled
from monitor.core.lifecycle import AlertEvent
from monitor.sinks.templates import render


def demo_config(folder: Path, port: int) -> Path:
    """Write the bundled demo config into `folder`, with its state and port, and return it."""
    doc = yaml.safe_load(bundled("demo.yaml").read_text(encoding="utf-8"))
    doc["source"]["file"] = str(bundled(doc["source"]["file"]))
    doc["http"] = {"listen": f"127.0.0.1:{port}"}
    doc["state"] = {"path": str(folder / "state.db")}
    path = folder / "demo.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def print_events(events: Sequence[AlertEvent]) -> None:
    """Show a group of alert events as the notification that would be sent."""
    title, body = render(events)
    line = "=" * 78
    print(f"{line}\n{title}\n{line}\n{body}\n", flush=True)
