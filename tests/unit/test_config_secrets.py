"""Config errors never echo a secret: channel URLs in the wrong place, `${ENV}` values, paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from monitor.config import parse_config
from monitor.validate import ConfigError

HEAD = """\
rules: [{name: rpki, type: rpki_invalid, severity: critical}]
prefixes: [{prefix: 192.0.2.0/24, origins: [64500]}]
"""
SECRET = "NewS3cretPass"


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(HEAD + text, "cfg.yaml")
    return str(info.value)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        # A URL given as a list, as it would be by a stray dash.
        (
            f"notifications: {{channels: [{{name: a, url: ['json://user:{SECRET}@127.0.0.1/x']}}]}}",
            "channels[0] (a).url: must be a string, got a list of 1 items (not shown",
        ),
        # A URL written into the `type` field.
        (
            f"notifications: {{channels: [{{name: a, type: 'json://user:{SECRET}@h/x', url: x}}]}}",
            "channels[0] (a).type: must be one of",
        ),
        # A mapping holding credentials where a string belongs.
        (
            f"source: {{base_url: {{user: admin, password: '{SECRET}@x'}}}}",
            "source.base_url: must be a string, got a mapping of 2 keys (not shown",
        ),
    ],
)
def test_a_bad_value_that_may_be_a_secret_is_described_not_shown(text: str, says: str) -> None:
    message = error_of(text)
    assert says in message
    assert SECRET not in message


def test_a_url_file_path_is_not_shown(tmp_path: Path) -> None:
    missing = tmp_path / f"json:--user:{SECRET}@host"
    message = error_of(f"notifications: {{channels: [{{name: a, url_file: '{missing}'}}]}}")
    assert "channels[0] (a).url_file: cannot read the file: cannot open it" in message
    assert SECRET not in message


def test_a_url_file_that_is_a_fifo_is_refused_not_waited_for(tmp_path: Path) -> None:
    fifo = tmp_path / "url"
    os.mkfifo(fifo)
    message = error_of(f"notifications: {{channels: [{{name: a, url_file: '{fifo}'}}]}}")
    assert "url_file: cannot read the file: it is a FIFO, not a regular file" in message


def test_a_value_from_the_environment_in_a_bad_duration_is_not_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RADAR_MONITOR_SECRET_ENV", "EnvS3cretVal")
    message = error_of("source: {interval: '${RADAR_MONITOR_SECRET_ENV}'}")
    assert "source.interval" in message and "${RADAR_MONITOR_SECRET_ENV}" in message
    assert "EnvS3cretVal" not in message
