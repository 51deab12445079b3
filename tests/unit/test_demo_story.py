"""The demo's RIS Live story: the bundled one is a labelled reconstruction the demo watches, and
a broken story file is a clear error naming the file and the place."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from monitor import demo_story
from monitor.bundled import bundled
from monitor.config import load_config
from monitor.demo import STORY
from monitor.demo_story import MAX_STORY_BYTES, load_story
from monitor.sources.rislive import BEACONS
from monitor.validate import ConfigError

GOOD = """\
title: a test story
starts_at: "2008-02-24T18:00:00Z"
ends_at: "2008-02-24T19:00:00Z"
speed: 60
peers:
  p1: {collector: rrc00, address: 192.0.2.1, asn: 64496}
events:
  - at: "2008-02-24T18:10:00Z"
    say: something happens
    spread: 1m
    frames:
      - {peer: p1, announce: [198.51.100.0/24], path: [64496, 64511]}
      - {peer: p1, withdraw: [198.51.100.0/24]}
"""


def test_the_bundled_story_is_a_labelled_reconstruction_of_the_youtube_hijack() -> None:
    path = bundled(STORY)
    assert path.read_text().startswith("# RECONSTRUCTION from a public account")
    story = load_story(path)
    assert story.reconstruction
    assert "ripe.net" in story.source and "http" in story.source
    assert "Synthetic" in story.notes
    told = " ".join(e.say for e in story.events)
    for fact in ("AS17557", "208.65.153.0/24", "AS3491", "AS36561", "withdraws"):
        assert fact in told
    hijack = next(e for e in story.events if "starts announcing" in e.say)
    assert (hijack.at.hour, hijack.at.minute) == (18, 47)  # the case study's time
    origins = {f.path[-1] for f in hijack.frames if f.path}
    assert origins == {17557}
    # Played at its own speed, the hijack starts within about a minute of the first subscription.
    assert 5 < hijack.offset / story.speed < 60


def test_the_demo_watches_every_prefix_the_story_announces_and_its_beacons_move() -> None:
    story = load_story(bundled(STORY))
    config = load_config(bundled("demo.yaml"))
    watched = {ipaddress.ip_network(p.prefix): p for p in config.prefixes}
    about = {p for e in story.events for f in e.frames for p in f.prefixes}
    beacons = about & set(BEACONS)
    assert beacons, "the stream-stale canary would never move"
    for prefix in about - beacons:
        net = ipaddress.ip_network(prefix)
        parents = [
            w
            for n, w in watched.items()
            if n.version == net.version
            and n.prefixlen <= net.prefixlen
            and net.supernet(new_prefix=n.prefixlen) == n
        ]
        assert parents, f"{prefix} is inside no watched prefix: the demo would not see it"
        assert parents[0].origins == frozenset({36561})
    assert "more_specific" in {r.type for r in config.rules}
    assert config.stream is not None


def test_a_good_story_loads_with_its_frames_spread_over_the_event(tmp_path: Path) -> None:
    path = tmp_path / "story.yaml"
    path.write_text(GOOD)
    story = load_story(path)
    assert story.length == 3600 and story.speed == 60
    (event,) = story.events
    assert event.offset == 600 and event.say == "something happens"
    assert [f.offset for f in event.frames] == [600, 630]
    assert event.frames[0].path == (64496, 64511) and event.frames[1].path is None


@pytest.mark.parametrize(
    ("old", "new", "where", "problem"),
    [
        ("peer: p1, announce", "peer: p2, announce", "events[0].frames[0].peer", "no peer 'p2'"),
        ("[64496, 64511]", "[64511]", "events[0].frames[0].path", "must start with the peer's"),
        ("{peer: p1, withdraw: [198.51.100.0/24]}", "{peer: p1}", "events[0].frames[1]", "either"),
        ("198.51.100.0/24], path", "198.51.100.1/24], path", "announce[0]", "host bits"),
        ('at: "2008-02-24T18:10', 'at: "2008-02-24T19:10', "events[0].at", "within"),
        ("spread: 1m", "spread: 2h", "events[0].at", "within"),
        ('ends_at: "2008-02-24T19', 'ends_at: "2008-02-24T17', "ends_at", "after starts_at"),
        ("speed: 60", "speed: 0", "speed", "from 1 to"),
        ("collector: rrc00", "collector: rv2", "peers.p1.collector", "RIS collector"),
        ("address: 192.0.2.1", "address: nowhere", "peers.p1.address", "IP address"),
        ("say: something", "sya: something", "events[0].sya", "unknown key"),
    ],
)
def test_a_broken_story_names_the_file_and_the_place(
    tmp_path: Path, old: str, new: str, where: str, problem: str
) -> None:
    assert old in GOOD
    path = tmp_path / "story.yaml"
    path.write_text(GOOD.replace(old, new))
    with pytest.raises(ConfigError) as caught:
        load_story(path)
    assert caught.value.file == str(path)
    assert where in caught.value.path and problem in caught.value.problem


def test_events_out_of_order_and_too_many_frames_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "story.yaml"
    earlier = '  - {at: "2008-02-24T18:05:00Z", frames: []}\n'
    path.write_text(GOOD + earlier)
    with pytest.raises(ConfigError, match=r"events\[1\]\.at: is before the previous event"):
        load_story(path)
    monkeypatch.setattr(demo_story, "MAX_FRAMES", 3)  # parsing 10,000 frames takes seconds
    frame = "      - {peer: p1, withdraw: [198.51.100.0/24]}\n"
    path.write_text(GOOD + frame * 2)
    with pytest.raises(ConfigError, match="events\\[0\\]: more than 3 frames"):
        load_story(path)


def test_an_oversized_or_missing_story_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "story.yaml"
    path.write_text(GOOD + "#" * MAX_STORY_BYTES)
    with pytest.raises(ConfigError, match=f"larger than {MAX_STORY_BYTES} bytes"):
        load_story(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_story(tmp_path / "missing.yaml")
