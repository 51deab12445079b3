"""Bad answers on the real daemon and CLI: a `Retry-After: nan` pauses polling as a missing
header would and polling resumes; duplicate origins are counted once, so low visibility fires;
a 5 MB AS name reaches the API and the status page cut; an unusable token stops every command
with exit 3 and one clear line. Every Radar answer is synthetic (`testkit.answers`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testkit.answers import OriginSpec, encode, make_answer
from testkit.config import ANY_UNEXPECTED_ORIGIN, LOW_VISIBILITY, daemon_yaml, write_config
from testkit.daemon import DaemonProcess, alerts, http_get, launch, metric
from testkit.fakeradar import FakeRadar
from testkit.receivers import free_port
from testkit.waiting import wait_for
from tests.incidents import CLEAN, CLEAN_ORIGINS, HIJACK, HIJACKER, V6, VICTIM

#: What the daemon waits after a 429 without a usable `Retry-After` (ABSENT_RETRY_AFTER).
#: The pause after a 429 without a usable Retry-After, capped by `max_retry_after` here.
ABSENT_PAUSE = 5.0


def config(tmp: Path, base_url: str, port: int, rules: list[str], **source: object) -> Path:
    """CLEAN and V6 watched for AS64500, VICTIM for AS64501, polled every second."""
    text = daemon_yaml(
        base_url,
        [
            f"{{prefix: '{CLEAN}', origins: [64500]}}",
            f"{{prefix: '{V6}', origins: [64500]}}",
            f"{{prefix: '{VICTIM}', origins: [64501]}}",
        ],
        rules,
        source={"interval": "1s", "timeout": "3s", "retries": 0, **source},
        port=port,
        state=tmp / "state.db",
    )
    return write_config(tmp, text)


def firing(port: int) -> set[tuple[str, str | None]]:
    return {
        (a["finding"]["rule"], a["finding"]["prefix"])
        for a in alerts(port)
        if a["state"] == "firing"
    }


def test_retry_after_nan_pauses_like_no_header_then_polling_resumes(
    tmp_path: Path, fake: FakeRadar, daemons: list[DaemonProcess]
) -> None:
    for prefix in (CLEAN, V6, VICTIM):
        fake.set_prefix(prefix, CLEAN_ORIGINS, n_routes=50)
    port = free_port()
    text = config(tmp_path, fake.base_url, port, [], retries=1, max_retry_after="5s")
    daemon = launch(daemons, tmp_path, text)
    fake.retry_after = "nan"
    armed = time.monotonic()
    fake.set_fault("429", prefix=CLEAN, count=1)
    wait_for(lambda: any(r.prefix == CLEAN and r.at > armed for r in fake.requests), what="a 429")
    limited = next(r.at for r in fake.requests if r.prefix == CLEAN and r.at > armed)

    # Every prefix is asked about again once the pause is over: polling did not stall.
    def resumed() -> bool:
        late = {r.prefix for r in fake.requests if r.at > limited + ABSENT_PAUSE}
        return late >= {CLEAN, V6, VICTIM}

    wait_for(resumed, within=ABSENT_PAUSE + 30, what="polling to resume after the pause")
    # No request started during the pause (one already on the wire within 0.1 s is fine).
    early = [r for r in fake.requests if limited + 0.1 < r.at < limited + ABSENT_PAUSE - 0.05]
    assert not early, f"{len(early)} requests during the pause"
    assert "retry after 5s" in daemon.log
    wait_for(lambda: http_get(port, "/readyz")[0] == 200, what="/readyz")
    assert metric(port, f'radar_monitor_prefix_fetch_failures{{prefix="{CLEAN}"}}') == 0
    assert "Traceback" not in daemon.log
    assert daemon.stop() == 0


def test_duplicate_origins_fire_low_visibility_and_a_5mb_as_name_is_shown_cut(
    tmp_path: Path, fake: FakeRadar, daemons: list[DaemonProcess]
) -> None:
    # AS64500 listed three times at 38%: 38% of the peers, not 100%.
    fake.set_prefix(CLEAN, [OriginSpec(64500, ratio=0.38)] * 3, n_routes=200)
    fake.set_prefix(V6, CLEAN_ORIGINS, n_routes=50)
    hijack = make_answer(VICTIM, HIJACK, n_routes=200)
    name = "EVIL-" * 1_000_000  # 5 MB
    for info in hijack["result"]["meta"]["asn_info"]:
        if info["asn"] == HIJACKER:
            info["as_name"] = name
    fake.set_prefix(VICTIM, body=encode(hijack))
    port = free_port()
    rules = [LOW_VISIBILITY, ANY_UNEXPECTED_ORIGIN]
    daemon = launch(daemons, tmp_path, config(tmp_path, fake.base_url, port, rules))
    wanted = {("low-visibility", CLEAN), ("unexpected-origin", VICTIM)}
    wait_for(lambda: wanted <= firing(port), what="low visibility and the hijack")
    assert ("low-visibility", V6) not in firing(port)
    expected = metric(port, f'radar_monitor_prefix_expected_visibility_ratio{{prefix="{CLEAN}"}}')
    assert expected == pytest.approx(0.38, abs=0.005)

    cut = name[:255] + "…"
    status, api = http_get(port, "/api/v1/alerts")
    assert status == 200 and len(api) < 100_000
    hijacks = [a for a in alerts(port) if a["finding"]["rule"] == "unexpected-origin"]
    shown = {o["as_name"] for o in hijacks[0]["evidence"]["origins"] if o["asn"] == HIJACKER}
    assert shown == {cut}
    status, page = http_get(port, "/")
    assert status == 200 and len(page) < 100_000
    assert cut in page
    assert "Traceback" not in daemon.log
    assert daemon.stop() == 0


@pytest.mark.parametrize("command", ["check", "once", "run", "query"])
def test_a_token_with_a_line_break_stops_every_command_with_exit_2(
    tmp_path: Path, fake: FakeRadar, command: str
) -> None:
    fake.set_prefix(CLEAN, CLEAN_ORIGINS, n_routes=50)
    token_file = tmp_path / "token"
    token_file.write_text("first-half\nsecond-half\n")
    path = config(tmp_path, fake.base_url, free_port(), [ANY_UNEXPECTED_ORIGIN])
    path.write_text(path.read_text().replace("source:\n", f"source:\n  token_file: {token_file}\n"))
    args = {
        "query": ["query", CLEAN, "--base-url", fake.base_url, "--token-file", str(token_file)],
    }.get(command, [command, "--config", str(path)])
    env = {k: v for k, v in os.environ.items() if k not in ("CLOUDFLARE_API_TOKEN",)}
    env.pop("CREDENTIALS_DIRECTORY", None)
    result = subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert result.returncode == 2, result.stderr
    where = "--token-file" if command == "query" else "source.token_file"
    assert f"{where}: the token contains a line break" in result.stderr
    assert "config error" not in result.stderr or command != "query"
    assert "Traceback" not in result.stderr
    assert "first-half" not in result.stderr + result.stdout
    assert fake.requests == []  # refused before anything was sent
