"""End to end: with the default `group_wait` (10 s) a hijack pages at once, and a 200-prefix
withdrawal reaches on-call as a few messages that name every prefix."""

from __future__ import annotations

import re
from pathlib import Path

from testkit.config import (
    LOW_VISIBILITY,
    RPKI_INVALID,
    UNEXPECTED_ORIGIN,
    daemon_yaml,
    write_config,
)
from testkit.daemon import DaemonProcess, launch, texts
from testkit.fakeradar import FakeRadar
from testkit.receivers import Receiver, free_port
from testkit.waiting import wait_for
from tests.incidents import HIJACK, VICTIM, VICTIM_ORIGINS

OWNED = [f"10.0.{i}.0/24" for i in range(200)]
#: Apprise's limit for json:// channels (its default `body_maxlen`).
JSON_LIMIT = 32768


def named(text: str) -> set[str]:
    """The withdrawn prefixes a message names."""
    return set(re.findall(r"\b10\.0\.\d+\.0/24\b", text))


def test_a_hijack_pages_at_once_and_a_withdrawal_is_a_few_messages_naming_every_prefix(
    tmp_path: Path, fake: FakeRadar, receiver: Receiver, daemons: list[DaemonProcess]
) -> None:
    fake.set_prefix(VICTIM, VICTIM_ORIGINS, n_routes=50)
    for prefix in OWNED:
        fake.set_prefix(prefix, VICTIM_ORIGINS, n_routes=5)
    text = daemon_yaml(
        fake.base_url,
        [f"{{prefix: {p}, origins: [64501]}}" for p in [VICTIM, *OWNED]],
        [RPKI_INVALID, UNEXPECTED_ORIGIN, LOW_VISIBILITY],
        source={"interval": "3s", "timeout": "3s", "retries": 0, "budget": 100000},
        # No group_wait: the default 10 s, as an operator runs it.
        notifications=[
            "channels:",
            f'  - {{name: pager, url: "{receiver.url("pager")}", severities: [critical]}}',
            f'  - {{name: noc, url: "{receiver.url("noc")}", severities: [warning]}}',
        ],
        port=free_port(),
        state=tmp_path / "state.db",
    )
    launch(daemons, tmp_path, write_config(tmp_path, text))

    fake.set_prefix(VICTIM, HIJACK, n_routes=50)
    # Before, the page waited 10 s after the poll that saw the hijack: it could never arrive
    # within 8 s of it. Now it leaves as soon as the poll (every 3 s) sees it.
    wait_for(lambda: receiver.at("pager"), within=8, what="the hijack page, before group_wait")
    [page] = texts(receiver, "pager")
    assert "unexpected-origin" in page and "rpki-invalid" in page and VICTIM in page

    for prefix in OWNED:
        fake.set_prefix(prefix, [], n_routes=0)  # withdrawn: seen by nobody

    def told() -> set[str]:
        return set().union(*(named(t) for t in texts(receiver, "noc")))

    wait_for(lambda: told() == set(OWNED), within=40, what="every withdrawn prefix told")
    messages = texts(receiver, "noc")
    print(f"withdrawal: {len(messages)} messages naming {[len(named(t)) for t in messages]}")
    # The victim's low visibility left at once (noc had been quiet), the withdrawal's cycle
    # was gathered for 10 s after it and split only where Apprise's json:// limit requires.
    assert len(messages) <= 3
    assert sum(len(named(t)) for t in messages) == len(OWNED)  # none told twice
    assert all(len(p.doc["message"]) <= JSON_LIMIT for p in receiver.at("noc"))
    assert daemons[0].stop() == 0
