"""The tiers in the config: `tier` per prefix and per `asns:` entry, `source.snapshot_interval`,
each mistake named by its key path."""

from __future__ import annotations

import pytest

from monitor.config import parse_config
from monitor.settings import DEFAULT_SNAPSHOT_INTERVAL, Tier
from monitor.validate import ConfigError

BASE = """\
prefixes:
  - prefix: 192.0.2.0/24
    origins: [64500]
rules: [{name: low, type: visibility_below, threshold: 0.5, severity: warning}]
"""


def test_the_default_is_realtime_every_ten_minutes_for_snapshots() -> None:
    config = parse_config(BASE)
    assert config.prefixes[0].tier is Tier.REALTIME
    assert config.source.snapshot_interval == DEFAULT_SNAPSHOT_INTERVAL == 600.0
    tiered = parse_config(
        BASE.replace("[64500]", "[64500]\n    tier: snapshot")
        + "source: {snapshot_interval: 2m}\nasns: [{asn: 64501, tier: snapshot}]\n"
    )
    assert tiered.prefixes[0].tier is Tier.SNAPSHOT and tiered.asns[0].tier is Tier.SNAPSHOT
    assert tiered.source.snapshot_interval == 120.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            BASE.replace("[64500]", "[64500]\n    tier: weekly"),
            "prefixes[0] (192.0.2.0/24).tier: must be one of realtime, snapshot, got 'weekly'",
        ),
        (
            BASE.replace("[64500]", "[]\n    tier: snapshot"),
            "prefixes[0] (192.0.2.0/24).tier: snapshot needs origins: it reads what they originate",
        ),
        (
            BASE + "source: {snapshot_interval: 500ms}\n",
            "source.snapshot_interval: must be at least 1s",
        ),
        (
            BASE + "asns: [{asn: 64501, tier: 1}]\n",
            "asns[0].tier: must be one of realtime, snapshot",
        ),
    ],
)
def test_a_mistake_names_its_key_path(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "cfg.yaml")
    assert expected in str(info.value)
