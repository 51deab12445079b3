"""The real daemon's status page follows its RIS Live stream: connected with its numbers, then
down with the reason and the `stream-down` alert as a source-wide alert."""

from __future__ import annotations

import re
import time
from pathlib import Path

from monitor.sources.rislive import BEACONS
from testkit.config import UNEXPECTED_ORIGIN, daemon_yaml, write_config
from testkit.daemon import DaemonProcess, http_get, launch
from testkit.fakeradar import FakeRadar
from testkit.fakerislive import FakeRisLive
from testkit.receivers import free_port
from testkit.waiting import wait_for
from tests.incidents import VICTIM, VICTIM_ORIGINS


def stream_line(port: int) -> str:
    """The stream's paragraph on the status page, or "" while there is none."""
    status, page = http_get(port, "/")
    assert status == 200
    match = re.search(r'<p class="stream">(.*?)</p>', page, re.S)
    return match[1] if match else ""


def test_the_status_page_follows_the_stream_up_and_down(
    tmp_path: Path, fake: FakeRadar, daemons: list[DaemonProcess]
) -> None:
    fake.set_prefix(VICTIM, VICTIM_ORIGINS, n_routes=100)
    port = free_port()
    with FakeRisLive() as ris:
        text = daemon_yaml(
            fake.base_url,
            [f"{{prefix: {VICTIM}, origins: [64501]}}"],
            [UNEXPECTED_ORIGIN],
            source={"interval": "10m", "retries": 0},
            port=port,
            state=tmp_path / "state.db",
            stream={"url": ris.url, "max_down": "2s"},
        )
        launch(daemons, tmp_path, write_config(tmp_path, text))
        wanted = {VICTIM, BEACONS[0]}
        wait_for(lambda: wanted <= set(ris.subscriptions()), what="the subscriptions")
        ris.beacon(timestamp=time.time() - 2 * 3600)
        ris.announce(VICTIM, [3356, 64501])  # its own origin: a confirming fetch, no alert
        connected = (
            'RIS Live stream: <span class="good">connected</span>; 1 updates applied; '
            "last beacon 2h ago; confirming fetches 1 done, 0 dropped; 0 more-specifics tracked."
        )
        wait_for(lambda: stream_line(port) == connected, what=f"the line {connected!r}")

        ris.refuse()
        ris.drop()
        wait_for(
            lambda: stream_line(port).startswith(
                'RIS Live stream: <span class="bad">down</span> ('
            ),
            what="the stream down on the page",
        )
        row = '<td class="nowrap">stream-down</td><td class="nowrap">-</td>'
        wait_for(lambda: row in http_get(port, "/")[1], what="the stream-down alert")
        assert "1 updates applied" in stream_line(port)
