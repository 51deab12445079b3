"""`radar-monitor once` with `asns:` and the snapshot tier, as a subprocess against the fake
Radar: each AS is synced once, its snapshot prefixes judged from one read of the AS, the
realtime ones fetched one by one; an AS whose sync fails is said on stderr and exits 3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from testkit.answers import OriginSpec
from testkit.config import RPKI_INVALID, daemon_yaml, write_config
from testkit.fakeradar import DEFAULT_TOKEN, FakeRadar
from testkit.fakeradar_routes import Announcement

ASN = 64500
GOOD, INVALID, MANUAL = "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"


def once(config: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "monitor", "once", "--config", str(config), "--format", "json"]
    env = {**os.environ, "CLOUDFLARE_API_TOKEN": DEFAULT_TOKEN}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)


def test_once_syncs_the_as_and_judges_each_tier_from_its_own_source(
    tmp_path: Path, fake: FakeRadar
) -> None:
    fake.clear_faults()
    fake.routes.announce(
        Announcement(GOOD, ASN, 1900),
        Announcement(INVALID, ASN, 1800, "INVALID"),
        Announcement(MANUAL, ASN, 1900),
    )
    fake.set_prefix(MANUAL, [OriginSpec(ASN)], n_routes=5)
    text = daemon_yaml(
        fake.base_url,
        [f"{{prefix: {MANUAL}, tier: realtime}}"],
        [RPKI_INVALID],
        source={"retries": 0, "timeout": "5s"},
    )
    config = write_config(tmp_path, text + f"asns: [{{asn: {ASN}, tier: snapshot}}]\n")
    before = len(fake.requests)
    result = once(config)
    assert result.returncode == 1, result.stderr  # the RPKI-invalid snapshot prefix fired
    doc = json.loads(result.stdout)
    assert [(f["rule"], f["prefix"]) for f in doc["findings"]] == [("rpki-invalid", INVALID)]
    assert {p["prefix"] for p in doc["prefixes"]} == {GOOD, INVALID, MANUAL}
    # One realtime fetch, for the realtime prefix; the snapshot ones came from pfx2as.
    assert [r.prefix for r in fake.requests[before:]] == [MANUAL]

    fake.set_fault("500", f"AS{ASN}")
    failed = once(config)
    assert failed.returncode == 3 and f"AS{ASN}: the sync failed" in failed.stderr
    assert "Traceback" not in failed.stderr
