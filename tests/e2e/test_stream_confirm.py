"""Every stream event is confirmed by Radar, on the real daemon: a withdrawal storm makes it
fetch the prefix at once, long before the next poll, and Radar's answer decides visibility;
a change inside `confirm_interval` is not lost but fetched when the window ends."""

from __future__ import annotations

from pathlib import Path

from testkit.answers import OriginSpec
from testkit.config import LOW_VISIBILITY, daemon_yaml, webhook, write_config
from testkit.daemon import DaemonProcess, alerts, launch, metric, texts
from testkit.fakeradar import FakeRadar
from testkit.fakerislive import FakeRisLive
from testkit.receivers import Receiver, free_port
from testkit.rislive_timelines import Step, announce, peer_addresses, play, withdrawal_storm
from testkit.waiting import wait_for
from tests.incidents import VICTIM, VICTIM_ORIGINS

OWNER = 64501
ROUTES = f'radar_monitor_prefix_routes{{prefix="{VICTIM}"}}'


def launch_streaming(
    tmp: Path,
    fake: FakeRadar,
    ris: FakeRisLive,
    receiver: Receiver,
    daemons: list[DaemonProcess],
    confirm_interval: str,
) -> int:
    """A daemon watching VICTIM, polling every 10 minutes (so every fetch in the test is a
    confirmation), subscribed on `ris`; its port."""
    port = free_port()
    text = daemon_yaml(
        fake.base_url,
        [f"{{prefix: {VICTIM}, origins: [{OWNER}]}}"],
        [LOW_VISIBILITY],
        source={"interval": "10m", "retries": 0},
        notifications=webhook(receiver.url("hook")),
        port=port,
        state=tmp / "state.db",
        stream={"url": ris.url, "confirm_interval": confirm_interval},
    )
    launch(daemons, tmp, write_config(tmp, text))
    wait_for(lambda: VICTIM in ris.subscriptions(), what="the stream subscription")
    return port


def fetches(fake: FakeRadar, since: float = 0.0) -> list[float]:
    """When Radar was asked for VICTIM, from `since` on."""
    return [r.at for r in fake.requests if r.prefix == VICTIM and r.at >= since]


def test_a_withdrawal_storm_is_confirmed_at_once_and_radar_decides_visibility(
    tmp_path: Path,
    fake: FakeRadar,
    ris: FakeRisLive,
    receiver: Receiver,
    daemons: list[DaemonProcess],
) -> None:
    fake.set_prefix(VICTIM, VICTIM_ORIGINS, n_routes=100)
    port = launch_streaming(tmp_path, fake, ris, receiver, daemons, "1s")
    # 40 RIS peers route it, then withdraw it within half a second; the storm starts 2.5 s
    # after the routes, past the confirmation window their own fetch opened.
    storm = withdrawal_storm(VICTIM, OWNER, peer_addresses(40), within=0.5, after=2.5)

    def storm_with_radar_showing(visibility: float, n_routes: int) -> dict[str, float]:
        """The storm, Radar's answer changing to `visibility` (and `n_routes`, to tell when
        it was judged) just before it; when each phase began."""
        answer = [OriginSpec(OWNER, ratio=visibility)]
        radar = Step(2.0, "radar", lambda _: fake.set_prefix(VICTIM, answer, n_routes=n_routes))
        began = play(ris, (*storm, radar))
        # Only the storm can have fetched the new answer: nothing was asked for in between.
        assert fetches(fake, began["radar"]) == fetches(fake, began["storm"])
        wait_for(lambda: fetches(fake, began["storm"]), within=3, what="the confirming fetch")
        wait_for(lambda: metric(port, ROUTES) == n_routes, what="the answer judged")
        return began

    # Radar still sees it everywhere: the withdrawals alone raise nothing.
    storm_with_radar_showing(0.97, 101)
    assert alerts(port) == [] and receiver.at("hook") == []
    updates = "radar_monitor_stream_updates_total"
    wait_for(lambda: metric(port, updates) == 80, what="every route and withdrawal applied")

    # Radar sees it gone for most peers: that answer pages, within seconds of the storm.
    began = storm_with_radar_showing(0.3, 102)
    wait_for(lambda: receiver.at("hook"), within=3, what="the low-visibility page")
    [page] = texts(receiver, "hook")
    assert "low-visibility" in page and VICTIM in page
    [alert] = alerts(port)
    assert alert["finding"]["rule"] == "low-visibility"
    assert alert["finding"]["value"] < 0.8
    assert receiver.at("hook")[0].at > fetches(fake, began["storm"])[0]


def test_a_change_inside_the_confirm_window_is_fetched_when_the_window_ends(
    tmp_path: Path,
    fake: FakeRadar,
    ris: FakeRisLive,
    receiver: Receiver,
    daemons: list[DaemonProcess],
) -> None:
    fake.set_prefix(VICTIM, VICTIM_ORIGINS, n_routes=100)
    port = launch_streaming(tmp_path, fake, ris, receiver, daemons, "5s")
    peer = peer_addresses(1)[0]
    changes = (
        Step(0.0, "first", announce(VICTIM, [64496, 174, OWNER], peer)),
        Step(1.0, "second", announce(VICTIM, [64496, 3356, OWNER], peer)),  # a new path
    )
    began = play(ris, changes)
    wait_for(lambda: len(fetches(fake, began["first"])) == 2, within=8, what="two fetches")
    first, second = fetches(fake, began["first"])
    assert first < began["second"]  # at once
    assert second - first > 4.9  # when the window ends, not at the second change
    done = 'radar_monitor_stream_confirmations_total{outcome="done"}'
    wait_for(lambda: metric(port, done) == 2, what="two confirmations counted")
    assert metric(port, 'radar_monitor_stream_confirmations_total{outcome="dropped"}') == 0
    assert len(fetches(fake, began["first"])) == 2
    assert alerts(port) == []
