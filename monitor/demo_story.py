"""A BGP story for the demo's RIS Live player: which RIS peers announced or withdrew what, when.

One YAML file (abridged; `monitor/data/rislive-youtube-2008.yaml` is the one shipped)::

    title: "YouTube, 2008-02-24: AS17557 announces 208.65.153.0/24"
    reconstruction: true          # rebuilt from public accounts, not recorded frames
    source: "RIPE NCC case study, http://www.ripe.net/news/study-youtube-hijacking.html"
    notes: what is synthetic (optional)
    starts_at: "2008-02-24T17:59:00Z"   # the story's clock when the player starts it
    ends_at: "2008-02-24T21:15:00Z"     # then it starts over
    speed: 300                          # played this many times faster than it happened
    peers:                              # RIS peers by name: one collector session each
      level3-rrc00: {collector: rrc00, address: 192.0.2.1, asn: 3356}
    events:
      - at: "2008-02-24T18:47:00Z"
        say: AS17557 starts announcing 208.65.153.0/24   # printed when it plays (optional)
        spread: 2m                      # the frames spread evenly over this (default 0s)
        frames:
          - {peer: level3-rrc00, announce: [208.65.153.0/24], path: [3356, 3491, 17557]}
          - {peer: level3-rrc00, withdraw: [84.205.64.0/24]}

A path starts with the peer's AS and ends with the origin. Events are in time order, within
[starts_at, ends_at). Every problem is a `ConfigError` naming the file and the place. Bounds:
the file at most `MAX_STORY_BYTES`, `MAX_PEERS` peers, `MAX_FRAMES` frames, `MAX_PREFIXES`
prefixes a frame, `MAX_HOPS` hops a path, a speed from 1 to `MAX_SPEED`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.validate import (
    ConfigError,
    Section,
    boolean,
    describe_value,
    load_yaml,
    parse_asn,
    parse_duration,
    parse_prefix,
    parse_time,
    read_limited,
    string,
)

MAX_STORY_BYTES = 1024 * 1024
MAX_PEERS = 1_000
MAX_FRAMES = 10_000
MAX_PREFIXES = 64
MAX_HOPS = 255
MAX_SPEED = 1_000_000.0
_COLLECTOR = re.compile(r"^rrc\d\d$")


@dataclass(frozen=True, slots=True)
class Peer:
    """One RIS peer: a BGP session of a route collector."""

    collector: str
    address: str
    asn: int


@dataclass(frozen=True, slots=True)
class Frame:
    """One update: `peer` announces `prefixes` over `path`, or withdraws them (`path` None),
    `offset` story seconds after `starts_at`."""

    offset: float
    peer: Peer
    prefixes: tuple[str, ...]
    path: tuple[int, ...] | None


@dataclass(frozen=True, slots=True)
class Event:
    """What happened at `at`: a line to tell (may be empty) and the frames that show it."""

    at: datetime
    offset: float
    say: str
    frames: tuple[Frame, ...]


@dataclass(frozen=True)
class Story:
    """A validated story file."""

    title: str
    reconstruction: bool
    source: str
    notes: str
    starts_at: datetime
    ends_at: datetime
    speed: float
    events: tuple[Event, ...]

    @property
    def length(self) -> float:
        """Story seconds from `starts_at` to `ends_at`."""
        return (self.ends_at - self.starts_at).total_seconds()


def load_story(path: str | Path) -> Story:
    """Read and validate a story; every problem is a ConfigError naming the file and place."""
    try:
        data = load_yaml(read_limited(path, MAX_STORY_BYTES))
        if data is None:
            raise ConfigError("", "the file is empty")
        return _story(Section(data, ""))
    except ConfigError as exc:
        raise exc if exc.file else exc.in_file(str(path)) from None


def _story(top: Section) -> Story:
    starts_at = top.get("starts_at", parse_time)
    ends_at = top.get("ends_at", parse_time)
    if ends_at <= starts_at:
        top.fail("ends_at", "must be after starts_at")
    speed = top.get("speed", _speed, 1.0)
    peers = _peers(top.sub("peers"))
    events: list[Event] = []
    frames = 0
    for where, item in top.items("events"):
        event = _event(Section(item, where), peers, starts_at, ends_at)
        if events and event.at < events[-1].at:
            raise ConfigError(f"{where}.at", f"is before the previous event ({events[-1].at})")
        frames += len(event.frames)
        if frames > MAX_FRAMES:
            raise ConfigError(where, f"more than {MAX_FRAMES} frames in the story")
        events.append(event)
    if not events:
        top.fail("events", "needs at least one event")
    story = Story(
        title=top.get("title", string),
        reconstruction=top.get("reconstruction", boolean, False),
        source=top.get("source", string, ""),
        notes=top.get("notes", string, ""),
        starts_at=starts_at,
        ends_at=ends_at,
        speed=speed,
        events=tuple(events),
    )
    top.close()
    return story


def _speed(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(path, f"must be a number, got {describe_value(value)}")
    if not 1 <= value <= MAX_SPEED:
        raise ConfigError(path, f"must be from 1 to {MAX_SPEED:g}, got {value}")
    return float(value)


def _peers(s: Section) -> dict[str, Peer]:
    if len(s.data) > MAX_PEERS:
        s.fail(None, f"more than {MAX_PEERS} peers")
    peers = {}
    for name in s.data:
        p = s.sub(name)
        collector = p.get("collector", string)
        if not _COLLECTOR.match(collector):
            p.fail("collector", f"must be a RIS collector like rrc00, got {collector!r}")
        peers[name] = Peer(collector, p.get("address", _address), p.get("asn", parse_asn))
        p.close()
    return peers


def _address(value: Any, path: str) -> str:
    try:
        return str(ipaddress.ip_address(string(value, path)))
    except ValueError:
        raise ConfigError(path, f"must be an IP address, got {describe_value(value)}") from None


def _event(s: Section, peers: dict[str, Peer], starts_at: datetime, ends_at: datetime) -> Event:
    at = s.get("at", parse_time)
    spread = s.get("spread", parse_duration, 0.0)
    if not (starts_at <= at and at.timestamp() + spread < ends_at.timestamp()):
        s.fail("at", f"must leave the event (and its spread) within {starts_at} to {ends_at}")
    offset = (at - starts_at).total_seconds()
    items = list(s.items("frames"))
    step = spread / len(items) if items else 0.0
    frames = tuple(
        _frame(Section(item, where), peers, offset + i * step)
        for i, (where, item) in enumerate(items)
    )
    event = Event(
        at=at, offset=offset, say=" ".join(s.get("say", string, "").split()), frames=frames
    )
    s.close()
    return event


def _frame(s: Section, peers: dict[str, Peer], offset: float) -> Frame:
    name = s.get("peer", string)
    peer = peers.get(name)
    if peer is None:
        s.fail("peer", f"no peer {name!r} in peers")
    announced, withdrawn = s.has("announce"), s.has("withdraw")
    if announced == withdrawn:
        s.fail(None, "needs either announce (with a path) or withdraw")
    key = "announce" if announced else "withdraw"
    prefixes = tuple(s.each(key, parse_prefix))
    if not prefixes or len(prefixes) > MAX_PREFIXES:
        s.fail(key, f"must list 1 to {MAX_PREFIXES} prefixes")
    path = None
    if announced:
        path = tuple(s.each("path", parse_asn))
        if not 1 <= len(path) <= MAX_HOPS:
            s.fail("path", f"must have 1 to {MAX_HOPS} AS numbers")
        if path[0] != peer.asn:
            s.fail("path", f"must start with the peer's AS{peer.asn}, got AS{path[0]}")
    s.close()
    return Frame(offset=offset, peer=peer, prefixes=prefixes, path=path)
