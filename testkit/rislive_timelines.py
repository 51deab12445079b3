"""Incident timelines for the fake RIS Live: the frames of an incident, each at its moment.

EVERY TIMELINE HERE IS SYNTHETIC, made of `FakeRisLive.announce` and `withdraw` calls, with
peers and ASNs from the documentation ranges. A timeline is a tuple of steps, each an offset in
seconds from the timeline's start, a phase name and an action (on the fake, or on anything a
test wants changed at that moment, such as Radar's answer). `play` runs one from the test's
thread and says when each phase began; `phase` picks one phase out of it, for a test that
checks what the daemon made of the onset before it plays the end. The incidents:

- `sub_prefix_hijack`: a more-specific inside the watched prefix, from another origin;
- `upstream_leak`: the prefix routed normally, then through a new upstream, then normally;
- `withdrawal_storm`: the prefix routed by many peers, then withdrawn by all within a second;
- `exact_prefix_hijack`: the watched prefix itself from another origin, ended after `lasting`
  seconds (shorter than the poll interval: it starts and ends between two polls).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from testkit.fakerislive import FakeRisLive
from testkit.rislive_frames import DEFAULT_PEER_ASN, Path

#: What a step does: to the fake, or to anything else at that moment (its result is ignored).
Action = Callable[[FakeRisLive], object]


@dataclass(frozen=True)
class Step:
    """At `at` seconds from the start, in phase `phase`, `action` on the fake."""

    at: float
    phase: str
    action: Action


Timeline = tuple[Step, ...]


def peer_addresses(count: int) -> tuple[str, ...]:
    """`count` RIS peer addresses (at most 254) from the documentation range 192.0.2.0/24."""
    if not 1 <= count <= 254:
        raise ValueError("between 1 and 254 peers")
    return tuple(f"192.0.2.{i}" for i in range(1, count + 1))


def play(fake: FakeRisLive, timeline: Timeline) -> dict[str, float]:
    """Run `timeline` against `fake` from now, blocking; when (`time.monotonic()`) each phase
    began. Steps are run in time order; one that is late runs at once."""
    start = time.monotonic()
    began: dict[str, float] = {}
    for step in sorted(timeline, key=lambda s: s.at):
        delay = start + step.at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        began.setdefault(step.phase, time.monotonic())
        step.action(fake)
    return began


def phase(timeline: Timeline, name: str) -> Timeline:
    """The steps of phase `name`, their offsets counted from the phase's first step."""
    steps = [s for s in timeline if s.phase == name]
    if not steps:
        raise ValueError(f"no phase {name!r} in the timeline")
    first = min(s.at for s in steps)
    return tuple(replace(s, at=s.at - first) for s in steps)


def announce(prefix: str, path: Path, peer: str) -> Action:
    """`peer` announces `prefix` over `path`."""
    return lambda fake: fake.announce(prefix, path, peer=peer)


def withdraw(prefix: str, peer: str) -> Action:
    """`peer` withdraws `prefix`."""
    return lambda fake: fake.withdraw(prefix, peer=peer)


def exact_prefix_hijack(
    prefix: str, hijacker: int, peers: Sequence[str], *, upstream: int = 3356, lasting: float = 3.0
) -> Timeline:
    """Phase "onset": every peer routes `prefix` to `hijacker` through `upstream`; phase
    "end", `lasting` seconds later: every peer withdraws it."""
    onset = [Step(0.0, "onset", announce(prefix, [upstream, hijacker], p)) for p in peers]
    end = [Step(lasting, "end", withdraw(prefix, p)) for p in peers]
    return (*onset, *end)


def first_half(prefix: str) -> str:
    """The first more-specific one bit longer than `prefix` (a /25 of a /24)."""
    return str(next(ipaddress.ip_network(prefix).subnets(prefixlen_diff=1)))


def sub_prefix_hijack(
    parent: str,
    hijacker: int,
    peers: Sequence[str],
    *,
    sub: str | None = None,
    upstream: int = 3356,
    lasting: float = 3.0,
) -> Timeline:
    """Phase "onset": every peer routes `sub` (default the first half of `parent`) to
    `hijacker`; phase "end", `lasting` seconds later: every peer withdraws it again."""
    return exact_prefix_hijack(
        sub or first_half(parent), hijacker, peers, upstream=upstream, lasting=lasting
    )


def upstream_leak(
    prefix: str,
    origin: int,
    leaker: int,
    peers: Sequence[str],
    *,
    upstreams: Sequence[int] = (174, 3356),
    leaking: int | None = None,
    lasting: float = 3.0,
) -> Timeline:
    """Phase "before": every peer routes `prefix` to `origin` through one of `upstreams` (in
    turn); "onset", a second later: the first `leaking` peers (default all) route it through
    `leaker` instead; "end", `lasting` seconds after that: they are back on `upstreams`."""
    normal = {
        p: [DEFAULT_PEER_ASN, upstreams[i % len(upstreams)], origin] for i, p in enumerate(peers)
    }
    leaked = peers[: len(peers) if leaking is None else leaking]
    return (
        *(Step(0.0, "before", announce(prefix, normal[p], p)) for p in peers),
        *(
            Step(1.0, "onset", announce(prefix, [DEFAULT_PEER_ASN, leaker, origin], p))
            for p in leaked
        ),
        *(Step(1.0 + lasting, "end", announce(prefix, normal[p], p)) for p in leaked),
    )


def withdrawal_storm(
    prefix: str,
    origin: int,
    peers: Sequence[str],
    *,
    upstream: int = 174,
    within: float = 1.0,
    after: float = 1.0,
) -> Timeline:
    """Phase "routes": every peer routes `prefix` to `origin`; "storm", `after` seconds later:
    the peers withdraw it one after another, evenly spread over `within` seconds."""
    spacing = within / len(peers)
    return (
        *(
            Step(0.0, "routes", announce(prefix, [DEFAULT_PEER_ASN, upstream, origin], p))
            for p in peers
        ),
        *(Step(after + i * spacing, "storm", withdraw(prefix, p)) for i, p in enumerate(peers)),
    )
