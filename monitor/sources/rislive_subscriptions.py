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

An AS whose originations are followed (an `asns:` entry with an `unlisted_prefix` rule) is
subscribed by its path, `{"path": "64500$"}` (RIS Live's path filter, `$` anchoring the
origin; BGPalerter's `monitorAS` does the same): every route it originates, watched or not.
These count with the others in every state and are paced the same way.
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


def origin_path(asn: int) -> str:
    """RIS Live's path filter for every route `asn` originates: `64500$`."""
    return f"{asn}$"


def is_path(target: str) -> bool:
    """Whether a subscription's `target` is an origin path (`64500$`), not a prefix."""
    return target.endswith("$")


@dataclass(frozen=True, slots=True)
class Command:
    """One control message: (un)subscribe `target`, a prefix (with or without its
    more-specifics) or an origin path such as `64500$`."""

    kind: Literal["ris_subscribe", "ris_unsubscribe"]
    target: str
    more_specific: bool

    def frame(self) -> str:
        """The message as RIS Live expects it (an unsubscription repeats the subscription)."""
        data: dict[str, object] = (
            {"path": self.target}
            if is_path(self.target)
            else {"prefix": self.target, "moreSpecific": self.more_specific}
        )
        data |= {"type": "UPDATE", "socketOptions": {"acknowledge": True}}
        return json.dumps({"type": self.kind, "data": data})


class Subscriptions:
    """The subscriptions one socket should have, and which of them may be sent now.

    Watched prefixes are subscribed with their more-specifics, beacons alone, followed ASes
    by their origin path; `restart()` (a new socket) makes every one of them pending again,
    beacons first, then the paths.
    """

    def __init__(
        self,
        watched: Iterable[str],
        beacons: Iterable[str],
        pace: Pace = Pace(),
        clock: Callable[[], float] = time.monotonic,
        origins: Iterable[int] = (),
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
        #: The watched prefixes that are subscribed (with their more-specifics).
        self.watched: frozenset[str] = frozenset()
        #: The ASes followed by their origin path.
        self.origins: frozenset[int] = frozenset()
        self._wanted = self._plan(watched, origins)

    @property
    def wanted(self) -> dict[str, bool]:
        """Every target this socket should be subscribed to (prefixes, then whether with
        more-specifics; origin paths, with False)."""
        return dict(self._wanted)

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

    def want(self, watched: Iterable[str], origins: Iterable[int] | None = None) -> None:
        """Change the watch list (and the followed ASes, unless None): unsubscribe what went,
        subscribe what came, on this socket."""
        old, new = self._wanted, self._plan(watched, self.origins if origins is None else origins)
        for target, more in old.items():
            if new.get(target) != more:
                self._drop(target, more)
        for target, more in new.items():
            if old.get(target) != more:
                self._pending[("ris_subscribe", target)] = Command("ris_subscribe", target, more)
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
            self._in_flight[command.target] = now
            self._sent[command.target] = command.more_specific
        else:
            self._sent.pop(command.target, None)
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

    def acknowledged(self, targets: tuple[str, ...]) -> None:
        """RIS Live acknowledged `targets` (prefixes or a path); an ack naming none frees the
        oldest slot."""
        if not targets and self._in_flight:
            del self._in_flight[next(iter(self._in_flight))]  # RIS acknowledges in order
        for target in targets:
            self._in_flight.pop(target, None)

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

    def _plan(self, watched: Iterable[str], origins: Iterable[int]) -> dict[str, bool]:
        prefixes = list(dict.fromkeys(watched))
        self.left_out = max(0, len(prefixes) - MAX_WATCHED)
        self.origins = frozenset(origins)
        # Beacons first: the canary says soonest whether the feed works at all; then the few
        # paths, each standing for thousands of prefixes.
        plan = {p: False for p in self._beacons}
        plan.update({origin_path(asn): False for asn in sorted(self.origins)})
        plan.update(dict.fromkeys(prefixes[:MAX_WATCHED], True))
        self.watched = frozenset(p for p, more in plan.items() if more)
        return plan

    def _drop(self, target: str, more: bool) -> None:
        if self._pending.pop(("ris_subscribe", target), None) is not None:
            return  # never sent: nothing to undo
        if self._sent.get(target) == more:
            self._in_flight.pop(target, None)
            self._pending[("ris_unsubscribe", target)] = Command("ris_unsubscribe", target, more)

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
