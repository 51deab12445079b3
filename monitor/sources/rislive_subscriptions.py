"""What one RIS Live socket is subscribed to, and the pace at which subscriptions are sent.

RIS Live documents no limit, but it drops (and may ban) clients that flood it with
subscriptions; BGPalerter, the longest-running client, sends one every 200 ms (5 a second).
The pace here is clocked by RIS Live itself instead:

- every subscription asks for an acknowledgement (`socketOptions.acknowledge`), and at most
  `Pace.window` (10) are sent and not yet acknowledged. A server that is busy acknowledges
  later, and so slows us down; one that is idle lets the next go at once;
- on top of that, at most `Pace.rate` (50) control messages a second leave, in bursts of at
  most `Pace.window` (a token bucket): 1,000 prefixes take 20 s (measured against the fake:
  19.9 s, never more than 59 in any one second), 10,000 take 200 s, a tenth of BGPalerter's
  33 minutes;
- an acknowledgement that does not come within `Pace.ack_timeout` (10 s) frees its slot
  anyway, so a server that never acknowledges is still subscribed, at one per second;
- if RIS Live closes the socket while we are still subscribing, it may be us: each time, the
  rate halves for the rest of the run, down to BGPalerter's 5 a second.

Unsubscribing (a watch list that shrank) is paced by the same rate; it is not acknowledged.
At most `MAX_WATCHED` (10,000, BGPalerter's cap too) watched prefixes are subscribed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

#: Watched prefixes subscribed at most; more would overload RIS Live (and BGPalerter agrees).
MAX_WATCHED = 10_000


@dataclass(frozen=True)
class Pace:
    """How fast subscriptions go: in-flight window, messages per second, ack deadline."""

    window: int = 10
    rate: float = 50.0
    ack_timeout: float = 10.0
    #: The slowest pace it falls to after drops while subscribing (BGPalerter's 200 ms).
    min_rate: float = 5.0


@dataclass(frozen=True, slots=True)
class Command:
    """One control message: (un)subscribe `prefix`, with or without its more-specifics."""

    kind: Literal["ris_subscribe", "ris_unsubscribe"]
    prefix: str
    more_specific: bool

    def frame(self) -> str:
        """The message as RIS Live expects it (an unsubscription repeats the subscription)."""
        data = {
            "prefix": self.prefix,
            "moreSpecific": self.more_specific,
            "type": "UPDATE",
            "socketOptions": {"acknowledge": True},
        }
        return json.dumps({"type": self.kind, "data": data})


class Subscriptions:
    """The subscriptions one socket should have, and which of them may be sent now.

    Watched prefixes are subscribed with their more-specifics, beacons alone; `restart()`
    (a new socket) makes every one of them pending again, beacons first.
    """

    def __init__(
        self,
        watched: Iterable[str],
        beacons: Iterable[str],
        pace: Pace = Pace(),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pace = pace
        self.rate = pace.rate
        self._clock = clock
        self._beacons = tuple(dict.fromkeys(beacons))
        self._wanted: dict[str, bool] = {}
        self._pending: dict[tuple[str, str], Command] = {}
        self._in_flight: dict[str, float] = {}
        self._sent: dict[str, bool] = {}
        self._tokens = float(pace.window)
        self._refilled = clock()
        #: Prefixes beyond `MAX_WATCHED` in the last watch list, left unsubscribed.
        self.left_out = 0
        #: Subscriptions whose acknowledgement never came (their slot freed by the timeout).
        self.unacknowledged = 0
        self._wanted = self._plan(watched)

    @property
    def wanted(self) -> dict[str, bool]:
        """Every prefix this socket should be subscribed to, and whether with more-specifics."""
        return dict(self._wanted)

    @property
    def watched(self) -> frozenset[str]:
        """The watched prefixes that are subscribed (with their more-specifics)."""
        return frozenset(p for p, more in self._wanted.items() if more)

    @property
    def settled(self) -> bool:
        """Whether everything was sent and acknowledged (or given up waiting for)."""
        return not self._pending and not self._in_flight

    def restart(self) -> None:
        """A new socket: nothing is subscribed on it, everything wanted is pending."""
        self._pending = {
            ("ris_subscribe", p): Command("ris_subscribe", p, more)
            for p, more in self._wanted.items()
        }
        self._in_flight.clear()
        self._sent.clear()
        self._tokens = float(self.pace.window)
        self._refilled = self._clock()

    def want(self, watched: Iterable[str]) -> None:
        """Change the watch list: unsubscribe what went, subscribe what came, on this socket."""
        old, new = self._wanted, self._plan(watched)
        for prefix, more in old.items():
            if new.get(prefix) != more:
                self._drop(prefix, more)
        for prefix, more in new.items():
            if old.get(prefix) != more:
                self._pending[("ris_subscribe", prefix)] = Command("ris_subscribe", prefix, more)
        self._wanted = new

    def next_command(self) -> Command | None:
        """The control message that may be sent now, or None (then see `wait_time`)."""
        now = self._clock()
        self._refill(now)
        self._expire(now)
        if not self._pending or self._tokens < 1:
            return None
        key, command = next(iter(self._pending.items()))
        if command.kind == "ris_subscribe" and len(self._in_flight) >= self.pace.window:
            return None
        del self._pending[key]
        self._tokens -= 1
        if command.kind == "ris_subscribe":
            self._in_flight[command.prefix] = now
            self._sent[command.prefix] = command.more_specific
        else:
            self._sent.pop(command.prefix, None)
        return command

    def wait_time(self) -> float | None:
        """Seconds until `next_command` may return one (an ack may come sooner); None: idle."""
        if not self._pending:
            return None
        now = self._clock()
        self._refill(now)
        waits = [0.0]
        if self._tokens < 1:
            waits.append((1 - self._tokens) / self.rate)
        head = next(iter(self._pending.values()))
        if head.kind == "ris_subscribe" and len(self._in_flight) >= self.pace.window:
            oldest = min(self._in_flight.values())
            waits.append(oldest + self.pace.ack_timeout - now)
        return max(waits)

    def acknowledged(self, prefixes: tuple[str, ...]) -> None:
        """RIS Live acknowledged `prefixes`; an ack naming no prefix frees the oldest slot."""
        if not prefixes and self._in_flight:
            del self._in_flight[next(iter(self._in_flight))]  # RIS acknowledges in order
        for prefix in prefixes:
            self._in_flight.pop(prefix, None)

    def counts(self) -> dict[str, int]:
        """Subscriptions by state (`SUBSCRIPTION_STATES`), beacons included."""
        queued = sum(1 for kind, _ in self._pending if kind == "ris_subscribe")
        waiting = sum(1 for p in self._in_flight if p in self._sent)
        return {
            "active": len(self._sent) - waiting,
            "waiting": waiting,
            "queued": queued,
            "left_out": self.left_out,
        }

    def slow_down(self) -> None:
        """Halve the rate (not below `Pace.min_rate`): RIS Live dropped us while subscribing."""
        self.rate = max(self.pace.min_rate, self.rate / 2)

    def _plan(self, watched: Iterable[str]) -> dict[str, bool]:
        prefixes = list(dict.fromkeys(watched))
        self.left_out = max(0, len(prefixes) - MAX_WATCHED)
        plan = {p: False for p in self._beacons}
        plan.update(dict.fromkeys(prefixes[:MAX_WATCHED], True))
        # Beacons first: the canary says soonest whether the feed works at all.
        return plan

    def _drop(self, prefix: str, more: bool) -> None:
        if self._pending.pop(("ris_subscribe", prefix), None) is not None:
            return  # never sent: nothing to undo
        if self._sent.get(prefix) == more:
            self._in_flight.pop(prefix, None)
            self._pending[("ris_unsubscribe", prefix)] = Command("ris_unsubscribe", prefix, more)

    def _refill(self, now: float) -> None:
        self._tokens = min(
            float(self.pace.window), self._tokens + (now - self._refilled) * self.rate
        )
        self._refilled = now

    def _expire(self, now: float) -> None:
        for prefix, sent in list(self._in_flight.items()):
            if now - sent < self.pace.ack_timeout:
                break  # in sending order: the rest are younger
            del self._in_flight[prefix]
            self.unacknowledged += 1
