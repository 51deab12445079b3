"""The demo's RIS Live story, played fast at the real daemon: YouTube's 2008 sub-prefix hijack
pages from the stream and resolves when PCCW withdraws it; YouTube's own more-specifics,
announced to win its traffic back, page nobody."""

from __future__ import annotations

from pathlib import Path

import yaml

from monitor.bundled import bundled
from monitor.demo import STORY, demo_config
from monitor.demo_story import load_story
from monitor.demo_stream import RisLivePlayer
from testkit.daemon import DaemonProcess, launch, texts
from testkit.receivers import LoopThread, Receiver, free_port
from testkit.waiting import wait_for

#: The story's 3h43m in under 7 s: the hijack 2 s after the daemon subscribed, its end at 6 s.
SPEED = 2_000.0
HIJACKED = "208.65.153.0/24"


def test_the_story_pages_the_hijack_from_the_stream_and_resolves_it(
    tmp_path: Path, loop: LoopThread, receiver: Receiver, daemons: list[DaemonProcess]
) -> None:
    player = RisLivePlayer(load_story(bundled(STORY)), speed=SPEED)
    loop.run(player.start())
    try:
        config = demo_config(tmp_path, free_port(), player.url)
        doc = yaml.safe_load(config.read_text())
        doc["notifications"] = {
            "group_wait": "0.2s",
            "channels": [{"name": "hook", "url": receiver.url("hook")}],
        }
        config.write_text(yaml.safe_dump(doc, sort_keys=False))
        daemon = launch(daemons, tmp_path, config)

        def about_the_hijack() -> list[str]:
            return [t for t in texts(receiver, "hook") if HIJACKED in t.splitlines()[0]]

        wait_for(
            lambda: any("RESOLVED" in t.splitlines()[0] for t in about_the_hijack()),
            within=30,
            what="the hijack's resolution",
        )
        first, *_, resolved = about_the_hijack()
        assert first.splitlines()[0].startswith("[CRITICAL] FIRING")
        assert "AS17557" in first.splitlines()[0] and "sub-prefix-hijack" in first
        assert f"{HIJACKED}, a more-specific of 208.65.152.0/22" in first
        assert "RESOLVED" in resolved.splitlines()[0]
        titles = [t.splitlines()[0] for t in texts(receiver, "hook")]
        assert not [t for t in titles if "/25" in t or "AS36561" in t]  # YouTube's own routes
        assert daemon.stop() == 0
    finally:
        loop.run(player.aclose())
