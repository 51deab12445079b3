"""The `asns:` syncs against the fake Radar's pfx2as, time injected: each originated prefix a
watch; the first sync a baseline; a new prefix fires `unlisted_prefix` once; a withdrawn one is
kept a whole period, then `prefix-gone` once and dropped; a failed or empty sync keeps the list
and says so; a manual entry wins field by field and is never dropped. What the stream sees an
AS originate fires at once after the baseline, once per prefix, within a quota per AS."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from monitor.as_sync import STREAM_BURST, STREAM_WINDOW, AsSync
from monitor.as_watches import expand
from monitor.core.lifecycle import AlertEvent, AlertState
from monitor.core.origins import StreamOrigination
from monitor.rules.upstream import UpstreamRule
from monitor.rules.visibility_below import VisibilityBelowRule
from monitor.settings import Tier
from monitor.sources.radar_client import RadarClient
from monitor.sources.radar_pfx2as import RadarOrigins
from monitor.state import AsSyncStatus, MonitorState
from testkit.fakeradar import FakeRadar
from tests.builders import monitor_state

CONFIG = """\
source: {max_failures: 2}
rules:
  - {name: new-prefix, type: unlisted_prefix, severity: warning}
  - {name: low-visibility, type: visibility_below, severity: warning, threshold: 0.8}
  - {name: leak, type: upstream, severity: warning}
prefixes:
  - {prefix: 198.51.100.0/24, origins: [64500], description: manual, labels: {site: ams}}
asns:
  - asn: 64500
    description: our network
    labels: {team: core}
    sync: 60s
    upstreams: [174]
    rules: {low-visibility: {threshold: 0.6}}
    exclude: [192.0.2.128/25]
"""
T0 = 1_800_000_000.0


class Clocked:
    """An AsSync whose clock the test sets, adopting each change as the daemon does."""

    def __init__(self, client: RadarClient, text: str = CONFIG) -> None:
        self.now = T0
        self.sent: list[AlertEvent] = []
        self.state = monitor_state(text)
        self.loaded = self.state.config
        self.sync = AsSync(
            self.state,
            self.sent.extend,
            lambda cap: RadarOrigins(client, cap),
            self._adopt,
            clock=lambda: self.now,
        )

    async def _adopt(self) -> None:
        self.state.apply_config(expand(self.loaded, self.state.synced))

    async def at(self, seconds: float) -> float:
        self.now = T0 + seconds
        return await self.sync.sync_due()

    def watched(self) -> list[str]:
        return sorted(self.state.prefixes)

    def firing(self) -> dict[str, str]:
        return {
            k.subject: k.rule
            for k, a in self.state.book.alerts.items()
            if a.state is AlertState.FIRING
        }


async def test_every_originated_prefix_is_watched_with_the_entrys_settings(
    fake: FakeRadar, client: RadarClient
) -> None:
    fake.routes.set_origin(64500, "192.0.2.0/25", "192.0.2.128/26", "198.51.100.0/24")
    daemon = Clocked(client)
    assert await daemon.at(0) == 60.0  # the next sync is due a period later
    # The excluded /25 covers the /26; the manual prefix is merged, not doubled.
    assert daemon.watched() == ["192.0.2.0/25", "198.51.100.0/24"]
    synced = daemon.state.prefixes["192.0.2.0/25"].watch
    assert synced.origins == {64500} and synced.description == "our network"
    assert synced.labels == {"team": "core"}
    rules = {r.name: r for r in synced.rules}
    low = rules["low-visibility"]
    assert isinstance(low, VisibilityBelowRule) and low.threshold == 0.6
    leak = rules["leak"]
    assert isinstance(leak, UpstreamRule) and leak.upstreams == {174}
    # The manual entry wins what it wrote; the rest comes from the AS.
    manual = daemon.state.prefixes["198.51.100.0/24"].watch
    assert manual.description == "manual" and manual.labels == {"team": "core", "site": "ams"}
    assert {r.name: r for r in manual.rules}["low-visibility"] == low
    assert daemon.firing() == {}  # the baseline fires nothing


async def test_a_new_prefix_fires_once_and_a_withdrawn_one_is_dropped_after_a_period(
    fake: FakeRadar, client: RadarClient
) -> None:
    fake.routes.set_origin(64500, "192.0.2.0/25", "203.0.113.0/24")
    daemon = Clocked(client)
    await daemon.at(0)
    fake.routes.set_origin(64500, "192.0.2.0/25", "198.18.0.0/24")
    await daemon.at(30)  # not due yet: nothing asked
    assert daemon.watched() == ["192.0.2.0/25", "198.51.100.0/24", "203.0.113.0/24"]
    await daemon.at(60)
    assert daemon.firing() == {"AS64500 198.18.0.0/24": "new-prefix"}
    [new] = [e for e in daemon.sent if e.alert.key.rule == "new-prefix"]
    assert "AS64500" in new.alert.finding.message and "198.18.0.0/24" in new.alert.finding.message
    # The withdrawn prefix is still watched: visibility_below tells on-call it is gone.
    assert "203.0.113.0/24" in daemon.watched() and "198.18.0.0/24" in daemon.watched()
    await daemon.at(120)
    assert daemon.firing() == {"AS64500 203.0.113.0/24": "prefix-gone"}  # new-prefix resolved
    [gone] = [a for a in daemon.state.book.alerts.values() if a.key.rule == "prefix-gone"]
    assert gone.finding.severity.value == "info"
    assert daemon.watched() == ["192.0.2.0/25", "198.18.0.0/24", "198.51.100.0/24"]
    await daemon.at(180)
    assert daemon.firing() == {}
    kinds = [(e.alert.key.rule, e.kind.value) for e in daemon.sent]
    assert kinds == [
        ("new-prefix", "firing"),
        ("prefix-gone", "firing"),
        ("new-prefix", "resolved"),
        ("prefix-gone", "resolved"),
    ]


async def test_a_prefix_back_before_a_period_ends_is_kept_and_not_told(
    fake: FakeRadar, client: RadarClient
) -> None:
    fake.routes.set_origin(64500, "192.0.2.0/25", "203.0.113.0/24")
    daemon = Clocked(client)
    await daemon.at(0)
    fake.routes.set_origin(64500, "192.0.2.0/25")
    await daemon.at(60)
    fake.routes.set_origin(64500, "192.0.2.0/25", "203.0.113.0/24")
    await daemon.at(120)
    fake.routes.set_origin(64500, "192.0.2.0/25")
    await daemon.at(180)  # absent again: the period starts over
    assert "203.0.113.0/24" in daemon.watched() and daemon.firing() == {}


async def test_a_failed_sync_keeps_the_list_and_alerts_until_the_next_good_one(
    fake: FakeRadar, client: RadarClient
) -> None:
    fake.routes.set_origin(64500, "192.0.2.0/25")
    daemon = Clocked(client)
    await daemon.at(0)
    fake.set_fault("500", "AS64500")
    await daemon.at(60)
    assert daemon.watched() == ["192.0.2.0/25", "198.51.100.0/24"]
    assert daemon.firing() == {"64500": "sync-failed"}
    [failed] = daemon.state.book.alerts.values()
    assert "AS64500" in failed.finding.message and "HTTP 500" in failed.finding.message
    status = daemon.state.synced[64500]
    assert status.ok is False and status.last_success == T0
    fake.clear_faults()
    fake.routes.set_origin(64500, "192.0.2.0/25", "203.0.113.0/24")
    await daemon.at(120)
    # Resolved; and the failure was no new baseline: the new prefix fires.
    assert daemon.firing() == {"AS64500 203.0.113.0/24": "new-prefix"}


async def test_an_as_that_originates_nothing_is_a_finding_not_an_empty_list(
    fake: FakeRadar, client: RadarClient
) -> None:
    fake.routes.set_origin(64500, "192.0.2.0/25")
    daemon = Clocked(client)
    await daemon.at(0)
    fake.routes.set_origin(64500)
    await daemon.at(60)
    await daemon.at(120)
    assert daemon.firing() == {"64500": "as-originates-nothing"}
    assert daemon.watched() == ["192.0.2.0/25", "198.51.100.0/24"]


async def test_a_reload_removing_the_as_drops_its_watches_but_never_a_manual_entry(
    fake: FakeRadar, client: RadarClient
) -> None:
    fake.routes.set_origin(64500, "192.0.2.0/25", "198.51.100.0/24")
    daemon = Clocked(client)
    await daemon.at(0)
    fake.set_fault("500", "AS64500")
    await daemon.at(60)
    assert daemon.firing() == {"64500": "sync-failed"}
    daemon.loaded = replace(daemon.loaded, asns=())
    daemon.state.config = daemon.loaded
    assert await daemon.at(70) == 3600.0
    assert daemon.watched() == ["198.51.100.0/24"]
    assert daemon.state.synced == {}
    assert daemon.firing() == {}  # its sync alert ends with it


def test_expanding_without_a_sync_is_the_config_itself() -> None:
    state: MonitorState = monitor_state(CONFIG)
    assert expand(state.config, state.synced) is state.config


def seen(prefix: str, asn: int = 64500) -> StreamOrigination:
    """RIS Live showed `asn` originating `prefix` (a route of rrc00's peer AS6939)."""
    return StreamOrigination(
        asn, prefix, (6939, 6939, asn), "rrc00", datetime.fromtimestamp(T0, UTC)
    )


async def test_what_the_stream_sees_after_the_baseline_fires_at_once_and_is_watched(
    fake: FakeRadar, client: RadarClient
) -> None:
    fake.routes.set_origin(64500, "192.0.2.0/25")
    daemon = Clocked(client)
    daemon.sync.seen_on_stream(seen("198.18.0.0/24"))  # before the baseline: nothing is new
    await daemon.at(0)
    assert daemon.firing() == {} and "198.18.0.0/24" not in daemon.watched()
    daemon.now = T0 + 5
    daemon.sync.seen_on_stream(seen("198.18.0.0/24"))
    assert daemon.firing() == {"AS64500 198.18.0.0/24": "new-prefix"}  # at once, not at 60s
    [fired] = daemon.sent
    assert fired.alert.finding.message == (
        "AS64500 now originates 198.18.0.0/24, which was not watched (seen on RIS Live: path "
        "6939 64500 at rrc00, 2027-01-15 08:00:00 UTC); it is watched from now on"
    )
    assert fired.alert.finding.origin == 64500 and fired.alert.finding.labels["team"] == "core"
    assert await daemon.at(10) == 50.0  # the run loop adopts it; the next sync stays due at 60s
    assert "198.18.0.0/24" in daemon.watched()
    assert daemon.state.prefixes["198.18.0.0/24"].watch.origins == {64500}
    daemon.sync.seen_on_stream(seen("198.18.0.0/24"))  # more routes of it: once is enough
    assert len(daemon.sent) == 1 and daemon.state.synced[64500].stream_added == 1
    # The next sync lists it too: the alert resolves, as a sync's own would.
    fake.routes.set_origin(64500, "192.0.2.0/25", "198.18.0.0/24")
    await daemon.at(60)
    assert daemon.firing() == {} and "198.18.0.0/24" in daemon.watched()
    assert [(e.alert.key.rule, e.kind.value) for e in daemon.sent] == [
        ("new-prefix", "firing"),
        ("new-prefix", "resolved"),
    ]


async def test_the_stream_leaves_excluded_watched_and_unfollowed_prefixes_alone(
    fake: FakeRadar, client: RadarClient
) -> None:
    fake.routes.set_origin(64500, "192.0.2.0/25")
    daemon = Clocked(client)
    await daemon.at(0)
    daemon.sync.seen_on_stream(seen("192.0.2.128/26"))  # inside the excluded /25
    daemon.sync.seen_on_stream(seen("198.51.100.0/24"))  # watched by hand
    daemon.sync.seen_on_stream(seen("203.0.113.0/24", asn=64501))  # no `asns:` entry
    assert daemon.sent == [] and await daemon.at(10) == 50.0
    assert daemon.watched() == ["192.0.2.0/25", "198.51.100.0/24"]
    off = CONFIG.replace("rules: {low-visibility", "rules: {new-prefix: false, low-visibility")
    quiet = Clocked(client, off)
    await quiet.at(0)
    quiet.sync.seen_on_stream(seen("198.18.0.0/24"))  # the rule is off for this AS
    assert quiet.sent == [] and "198.18.0.0/24" not in quiet.watched()


async def test_a_flood_of_new_prefixes_is_cut_to_a_quota_per_as_and_window(
    fake: FakeRadar, client: RadarClient
) -> None:
    fake.routes.set_origin(64500, "192.0.2.0/25")
    daemon = Clocked(client)
    await daemon.at(0)
    flood = [f"10.{i // 256}.{i % 256}.0/24" for i in range(STREAM_BURST + 30)]
    for prefix in flood:
        daemon.sync.seen_on_stream(seen(prefix))
        daemon.sync.seen_on_stream(seen(prefix))
    await daemon.at(1)
    assert len(daemon.firing()) == STREAM_BURST
    assert sum(p.startswith("10.") for p in daemon.watched()) == STREAM_BURST
    status = daemon.state.synced[64500]
    assert (status.stream_added, status.stream_left_out) == (STREAM_BURST, 60)
    daemon.now = T0 + STREAM_WINDOW
    daemon.sync.seen_on_stream(seen(flood[-1]))  # a new window: room again
    assert f"AS64500 {flood[-1]}" in daemon.firing()


def test_the_entrys_tier_is_its_prefixes_unless_an_entry_wrote_its_own() -> None:
    text = CONFIG.replace("    sync: 60s\n", "    sync: 60s\n    tier: snapshot\n").replace(
        "description: manual,", "description: manual, tier: realtime,"
    )
    config = monitor_state(text).config
    synced = {64500: AsSyncStatus(prefixes=dict.fromkeys(["192.0.2.0/25", "198.51.100.0/24"]))}
    tiers = {p.prefix: p.tier for p in expand(config, synced).prefixes}
    assert tiers == {"198.51.100.0/24": Tier.REALTIME, "192.0.2.0/25": Tier.SNAPSHOT}
