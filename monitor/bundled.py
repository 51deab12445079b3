"""Files shipped inside the package: the incident timelines, the demo's RIS Live story and the
demo configuration."""

from __future__ import annotations

from pathlib import Path

#: Where the timelines, the story and the demo configuration ship (package data, pyproject.toml).
DATA_DIR = Path(__file__).resolve().parent / "data"


def bundled(name: str) -> Path:
    """The path of a file shipped in `monitor/data/` (`hijack-exact-prefix.yaml`, `demo.yaml`…)."""
    path = DATA_DIR / name
    if not path.is_file():
        shipped = ", ".join(sorted(p.name for p in DATA_DIR.glob("*.yaml")))
        raise FileNotFoundError(f"no bundled file {name!r} (shipped: {shipped})")
    return path
