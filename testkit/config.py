"""Daemon configuration files for the end-to-end tests and the load benchmark.

`daemon_yaml` writes the sections in the documented order: `source` in block style (one key a
line, so that a test can add or change one), then each prefix and each rule as a flow mapping
on a line of its own, then `notifications`, `http` and `state` when given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

#: The end-to-end tests' pace: a poll every second, 3 s per request, no retries.
FAST_POLLING: Mapping[str, object] = {"interval": "1s", "timeout": "3s", "retries": 0}

RPKI_INVALID = "{name: rpki-invalid, type: rpki_invalid, severity: critical}"
UNEXPECTED_ORIGIN = (
    "{name: unexpected-origin, type: unexpected_origin, severity: critical, min_visibility: 0.01}"
)
#: Without min_visibility: a single peer seeing another origin is enough.
ANY_UNEXPECTED_ORIGIN = "{name: unexpected-origin, type: unexpected_origin, severity: critical}"
LOW_VISIBILITY = "{name: low-visibility, type: visibility_below, threshold: 0.8, severity: warning}"
STALE_COLLECTORS = (
    "{name: stale-collectors, type: stale_collector, max_age: 30m, severity: warning}"
)
STALE_RADAR = "{name: stale-radar, type: stale_data, max_age: 15m, severity: warning}"
#: Named `new-prefix`, as the README's `asns:` example.
UNLISTED_PREFIX = "{name: new-prefix, type: unlisted_prefix, severity: warning}"


def daemon_yaml(
    base_url: str,
    prefixes: Iterable[str],
    rules: Iterable[str],
    *,
    source: Mapping[str, object] | None = None,
    notifications: Iterable[str] = (),
    port: int | None = None,
    state: Path | None = None,
    stream: Mapping[str, object] | None = None,
) -> str:
    """A config polling `base_url` for `prefixes` with `rules` (flow mappings, one each).

    `source` adds keys to the source section, in order; `notifications` are the lines of that
    section, indented as they are under it; `port` adds an HTTP listener on 127.0.0.1 and
    `state` the database path; `stream` (its `url` first) turns the RIS Live stream on.
    """
    lines = ["source:", f'  base_url: "{base_url}"']
    lines += [f"  {key}: {value}" for key, value in (source or {}).items()]
    lines += ["prefixes:", *(f"  - {prefix}" for prefix in prefixes)]
    lines += ["rules:", *(f"  - {rule}" for rule in rules)]
    notes = list(notifications)
    if notes:
        lines += ["notifications:", *(f"  {line}" for line in notes)]
    if port is not None:
        lines.append(f'http: {{listen: "127.0.0.1:{port}"}}')
    if state is not None:
        lines.append(f'state: {{path: "{state}"}}')
    if stream is not None:
        options = ", ".join(f'{key}: "{value}"' for key, value in stream.items())
        lines.append(f"stream: {{{options}}}")
    return "\n".join(lines) + "\n"


def webhook(url: str, group_wait: str = "0.2s") -> list[str]:
    """The `notifications` lines of one JSON webhook channel, `hook`, grouping `group_wait`."""
    return [f"group_wait: {group_wait}", f'channels: [{{name: hook, url: "{url}"}}]']


def write_config(folder: Path, text: str) -> Path:
    """`text` as `folder`/config.yaml (`folder` made if missing); its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(text)
    return path
