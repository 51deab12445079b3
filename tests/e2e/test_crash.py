"""`kill -9` twenty times while alerts fire and resolve: the state stays sound and nothing is lost.

The delivery guarantee is at-least-once: a message is recorded in the outbox before it is sent
and removed after Apprise reports success, so a kill between the two re-sends it after restart.
Those re-sends are the only duplicates allowed: the same event (same kind, same firing time).
"""

from __future__ import annotations

import itertools
import json
import random
import re
import sqlite3
import time
from pathlib import Path

import pytest

from testkit.daemon import URL_PASSWORD, DaemonProcess, alerts, launch, texts
from testkit.fakeradar import FakeRadar
from testkit.receivers import Receiver, free_port
from testkit.waiting import wait_for
from tests.incidents import CLEAN, CLEAN_ORIGINS, HIJACK_35, VICTIM, VICTIM_ORIGINS

KILLS = 20


@pytest.fixture(autouse=True)
def scenario(fake: FakeRadar) -> None:
    fake.set_prefix(CLEAN, CLEAN_ORIGINS, n_routes=100)
    fake.set_prefix(VICTIM, VICTIM_ORIGINS, n_routes=100)


def events(receiver: Receiver) -> list[tuple[str, str]]:
    """(kind, firing time) of every alert event the pager received, in order."""
    found = []
    for text in texts(receiver, "pager"):
        for section in text.split("\n----\n"):
            kind = "resolved" if "RESOLVED after" in section else "firing"
            since = re.search(r"firing since (\S+ \S+)", section)
            assert since, section
            found.append((kind, since.group(1)))
    return found


def firing_in_db(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return {
            row[0] for row in db.execute("SELECT key FROM alerts WHERE doc LIKE '%\"firing\"%'")
        }


def resolving_in_outbox(path: Path) -> set[str]:
    """Rules of alerts whose RESOLVED is queued, not yet delivered (it goes after a restart)."""
    with sqlite3.connect(path) as db:
        payloads = [json.loads(p) for (p,) in db.execute("SELECT payload FROM outbox")]
    return {p["alert"]["finding"]["rule"] for p in payloads if p["kind"] == "resolved"}


def test_kill_9_twenty_times_keeps_state_and_notifications(
    tmp_path: Path, fake: FakeRadar, receiver: Receiver, daemons: list[DaemonProcess]
) -> None:
    rng = random.Random(7)
    port = free_port()
    path = tmp_path / "config.yaml"
    path.write_text(
        f"""
source: {{base_url: "{fake.base_url}", interval: 1s, timeout: 2s, retries: 0}}
prefixes:
  - {{prefix: 192.0.2.0/24, origins: [64500]}}
  - {{prefix: {VICTIM}, origins: [64501]}}
rules:
  - {{name: unexpected-origin, type: unexpected_origin, severity: critical}}
notifications:
  group_wait: 0s
  channels:
    - {{name: pager, url: "{receiver.url("pager", f"ops:{URL_PASSWORD}")}"}}
http: {{listen: "127.0.0.1:{port}"}}
state: {{path: "{tmp_path / "state.db"}"}}
"""
    )
    hijacked = False
    for _ in range(KILLS):
        daemon = launch(daemons, tmp_path, path)
        # Flip the prefix at a random moment, then kill at another: mid-poll, mid-send, idle.
        time.sleep(rng.uniform(0.0, 0.8))
        hijacked = not hijacked
        fake.set_prefix(VICTIM, HIJACK_35 if hijacked else VICTIM_ORIGINS, n_routes=100)
        time.sleep(rng.uniform(0.0, 1.2))
        notified = events(receiver)
        daemon.kill()
        # Either the alert is still firing in the database, or it resolved in the moment before
        # the kill and its RESOLVED waits in the outbox (the check sampled the receiver first).
        known = firing_in_db(tmp_path / "state.db") | resolving_in_outbox(tmp_path / "state.db")
        # An alert whose FIRING reached on-call (and was not resolved since) is still known.
        if notified and notified[-1][0] == "firing":
            assert known, "a notified firing alert was forgotten"

    # Let a last daemon settle the truth and drain the outbox.
    final = launch(daemons, tmp_path, path)
    expected = [("unexpected-origin", VICTIM)] if hijacked else []
    wait_for(
        lambda: [(a["finding"]["rule"], a["finding"]["prefix"]) for a in alerts(port)] == expected,
        what="the final alert state",
    )
    time.sleep(1.5)
    seen = events(receiver)
    assert seen, "nothing was ever notified"
    # Every transition reached on-call in order: FIRING and RESOLVED alternate, except for
    # re-sends of the very same event, and the last message matches the final state.
    deduplicated = [e for i, e in enumerate(seen) if i == 0 or e != seen[i - 1]]
    kinds = [k for k, _ in deduplicated]
    assert all(a != b for a, b in itertools.pairwise(kinds)), deduplicated
    assert kinds[-1] == ("firing" if hijacked else "resolved")
    assert final.stop() == 0
    print(f"{len(seen)} messages, {len(seen) - len(deduplicated)} re-sent after a kill")
