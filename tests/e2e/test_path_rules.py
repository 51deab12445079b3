"""The path rules on the real daemon: a leak through a new upstream and a detour pages on-call
from Radar's own paths, keyed by upstream, and resolves; an unexpected origin RPKI says the
holder authorised (a scrubbing provider) stays quiet unless a rule includes it. The same leak
played on the RIS Live stream pages within seconds, long before the next poll."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from testkit.answers import OriginSpec, encode, make_answer
from testkit.config import FAST_POLLING, daemon_yaml, webhook, write_config
from testkit.daemon import DaemonProcess, alerts, launch, metric, texts
from testkit.fakeradar import FakeRadar
from testkit.fakerislive import FakeRisLive
from testkit.receivers import Receiver, free_port
from testkit.rislive_timelines import peer_addresses, phase, play, upstream_leak
from testkit.waiting import wait_for
from tests.incidents import CLEAN, VICTIM

OWNER, LEAKER, SCRUBBER = 64501, 64999, 64510
#: VICTIM as watched: its own origin, reached through AS174 and AS3356 only.
WATCHED_VICTIM = (
    f"{{prefix: {VICTIM}, origins: [{OWNER}], rules: {{new-upstream: {{upstreams: [174, 3356]}}}}}}"
)
RULES = [
    "{name: new-upstream, type: upstream, severity: critical}",
    "{name: detour, type: as_path, severity: warning, max_length: 5, min_peers: 3}",
    "{name: unexpected-origin, type: unexpected_origin, severity: critical}",
    "{name: any-origin, type: unexpected_origin, severity: info, include_rpki_valid: true}",
]


def victim(leaked: int) -> bytes:
    """VICTIM's answer: 200 routes through AS174, or 3356, the first `leaked` through LEAKER
    instead, and of those the first three on a long detour (6 ASes once prepends collapse)."""
    answer: dict[str, Any] = make_answer(VICTIM, [OriginSpec(OWNER, ratio=0.97)], n_routes=200)
    for i, route in enumerate(answer["result"]["routes"]):
        upstream = LEAKER if i < leaked else (174, 3356)[i % 2]
        detour = [1299, 2914, 6453] if i < min(leaked, 3) else []
        route["as_path"] = [6939, *detour, upstream, upstream, OWNER, OWNER]
    return encode(answer)


def firing(port: int) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {tuple(a["key"]): a for a in alerts(port) if a["state"] == "firing"}


def test_a_leak_through_a_new_upstream_pages_per_upstream_and_resolves(
    tmp_path: Path, fake: FakeRadar, receiver: Receiver, daemons: list[DaemonProcess]
) -> None:
    # CLEAN is announced by a scrubbing provider too, with a ROA the holder signed for it.
    scrubbed = [OriginSpec(64500, ratio=0.6), OriginSpec(SCRUBBER, rpki="valid", ratio=0.3)]
    fake.set_prefix(CLEAN, scrubbed, n_routes=200)
    fake.set_prefix(VICTIM, body=victim(leaked=0))
    port = free_port()
    prefixes = [
        f"{{prefix: {CLEAN}, origins: [64500], rules: {{detour: false}}}}",
        WATCHED_VICTIM,
    ]
    text = daemon_yaml(
        fake.base_url,
        prefixes,
        RULES,
        source=FAST_POLLING,
        notifications=webhook(receiver.url("h")),
        port=port,
        state=tmp_path / "state.db",
    )
    daemon = launch(daemons, tmp_path, write_config(tmp_path, text))
    wait_for(lambda: ("any-origin", CLEAN, str(SCRUBBER)) in firing(port), what="any-origin")
    wait_for(
        lambda: metric(port, f'radar_monitor_prefix_routes{{prefix="{VICTIM}"}}') == 200,
        what="VICTIM judged",
    )
    # Authorised by RPKI: the default rule drops it; VICTIM's upstreams are the allowed ones.
    assert set(firing(port)) == {("any-origin", CLEAN, str(SCRUBBER))}

    fake.set_prefix(VICTIM, body=victim(leaked=20))
    leak_key = ("new-upstream", VICTIM, str(LEAKER))
    wait_for(lambda: {leak_key, ("detour", VICTIM, "")} <= set(firing(port)), what="the leak")
    leak = firing(port)[leak_key]["finding"]
    assert (leak["upstream"], leak["origin"], leak["parent"]) == (LEAKER, None, None)
    assert leak["value"] == 20
    assert f"unexpected upstream AS{LEAKER} of AS{OWNER}" in leak["message"]
    assert f"6939 {LEAKER} {OWNER} (" in leak["message"]  # prepends collapsed
    detour = firing(port)[("detour", VICTIM, "")]["finding"]
    assert detour["value"] == 3
    assert f"6939 1299 2914 6453 {LEAKER} {OWNER} (" in detour["message"]
    wait_for(
        lambda: any(
            f"new-upstream {VICTIM} (upstream AS{LEAKER})" in t for t in texts(receiver, "h")
        ),
        what="the page",
    )
    labels = f'radar_monitor_alert_active{{prefix="{VICTIM}",rule="new-upstream"'
    assert metric(port, labels) == 1

    fake.set_prefix(VICTIM, body=victim(leaked=0))
    wait_for(lambda: leak_key not in firing(port), what="the leak to resolve")
    wait_for(
        lambda: any("RESOLVED" in t and "new-upstream" in t for t in texts(receiver, "h")),
        what="the resolution",
    )
    assert ("unexpected-origin", CLEAN, str(SCRUBBER)) not in firing(port)
    assert "Traceback" not in daemon.log
    assert daemon.stop() == 0


def test_a_leak_on_the_stream_pages_within_seconds_and_resolves_when_the_routes_are_back(
    tmp_path: Path,
    fake: FakeRadar,
    ris: FakeRisLive,
    receiver: Receiver,
    daemons: list[DaemonProcess],
) -> None:
    fake.set_prefix(VICTIM, body=victim(leaked=0))  # Radar sees no leak throughout
    port = free_port()
    text = daemon_yaml(
        fake.base_url,
        [WATCHED_VICTIM],
        RULES[:1],
        source={"interval": "10m", "retries": 0},  # anything seen in the test is the stream's
        notifications=webhook(receiver.url("h")),
        port=port,
        state=tmp_path / "state.db",
        stream={"url": ris.url, "confirm_interval": "1s"},
    )
    daemon = launch(daemons, tmp_path, write_config(tmp_path, text))
    wait_for(lambda: VICTIM in ris.subscriptions(), what="the stream subscription")
    leak = upstream_leak(VICTIM, OWNER, LEAKER, peer_addresses(6), leaking=4)
    play(ris, phase(leak, "before"))
    wait_for(lambda: metric(port, "radar_monitor_stream_updates_total") == 6, what="routes")
    assert firing(port) == {}  # through the allowed upstreams only

    play(ris, phase(leak, "onset"))
    leak_key = ("new-upstream", VICTIM, str(LEAKER))
    wait_for(lambda: leak_key in firing(port), within=5, what="the leak from the stream")
    finding = firing(port)[leak_key]["finding"]
    assert (finding["upstream"], finding["value"]) == (LEAKER, 4)
    assert f"upstream AS{LEAKER} of AS{OWNER} on 4 of 6 paths" in finding["message"]
    wait_for(lambda: receiver.at("h"), what="the page")
    assert f"new-upstream {VICTIM} (upstream AS{LEAKER})" in texts(receiver, "h")[0]

    play(ris, phase(leak, "end"))
    wait_for(lambda: firing(port) == {}, what="the leak to resolve")
    wait_for(lambda: "RESOLVED" in texts(receiver, "h")[-1], what="the resolution")
    assert daemon.stop() == 0
