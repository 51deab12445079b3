"""Timeline files for the replay tests: recorded answers, steps, and a source on a fixed clock."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from monitor.core.observation import PrefixView
from monitor.sources.replay import ReplaySource

T0 = datetime(2024, 6, 27, 18, 0, tzinfo=UTC)
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
A, B, C = "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"


def iso(ts: datetime) -> str:
    """Radar's style: naive UTC, no fraction."""
    return ts.astimezone(UTC).replace(tzinfo=None).isoformat()


def result(origin: int = 64500, visible: int = 95, rpki: str = "valid", at: datetime = T0) -> Any:
    """A realtime `result` recorded at `at`: data 20s, realtime 30s, route 1h old."""
    return {
        "meta": {
            "data_time": iso(at - timedelta(seconds=20)),
            "query_time": iso(at),
            "prefix_origins": [
                {
                    "origin": origin,
                    "rpki_validation": rpki,
                    "total_peers": 100,
                    "total_visible": visible,
                }
            ],
            "collectors": [
                {
                    "collector": "rrc00",
                    "latest_realtime_ts": iso(at - timedelta(seconds=30)),
                    "latest_rib_ts": iso(at - timedelta(hours=2)),
                    "latest_updates_ts": iso(at - timedelta(minutes=5)),
                    "peers_count": 100,
                }
            ],
            "asn_info": [{"asn": origin, "as_name": f"NAME-{origin}", "country_code": "ZZ"}],
        },
        "routes": [
            {
                "as_path": [3356, origin],
                "collector": "rrc00",
                "communities": ["3356:3"],
                "timestamp": iso(at - timedelta(hours=1)),
            }
        ],
    }


def step(answers: dict[str, Any], polls: int = 1, at: datetime | None = T0, **extra: Any) -> Any:
    """A step dict; `at=None` leaves out `recorded_at`."""
    doc: dict[str, Any] = {"polls": polls, "answers": answers, **extra}
    if at is not None:
        doc["recorded_at"] = at.isoformat()
    return doc


def write(tmp_path: Path, *steps: Any, name: str = "timeline.yaml") -> Path:
    """A timeline file holding `steps` (JSON for a `.json` name: YAML reads both)."""
    doc = {"title": "test", "steps": list(steps)}
    path = tmp_path / name
    path.write_text(json.dumps(doc) if name.endswith(".json") else yaml.safe_dump(doc))
    return path


def source(
    path: Path, loop: bool = False, clock: Callable[[], datetime] = lambda: NOW
) -> ReplaySource:
    """A replay source on a fixed clock."""
    return ReplaySource(path, loop=loop, clock=clock)


def origins(answer: PrefixView) -> list[int]:
    """The origin ASNs of an answer."""
    return [o.origin for o in answer.origins]


async def origin_sequence(src: ReplaySource, prefix: str, polls: int) -> list[list[int]]:
    """The origins `polls` consecutive fetches of `prefix` return."""
    return [origins(await src.fetch(prefix)) for _ in range(polls)]
