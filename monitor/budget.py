"""The one request budget's plan: where every request goes, and the freshness that buys.

The classes are served in order. Stream confirmations (rare and urgent) have a reserved share.
Radar's detectors, the AS syncs and the per-AS snapshots (a few requests an hour) come next,
together capped at BACKGROUND_SHARE of what is left and stretched alike beyond it. The realtime
cycle over the watch list takes the rest, and is stretched when it does not fit. Only
PLANNED_SHARE of the budget is planned: the rest absorbs retries.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.core.measures import counted, duration
from monitor.settings import SourceConfig

#: Share of the budget the plan hands out; the rest absorbs retries.
PLANNED_SHARE = 0.9
#: Share of the budget kept for the stream's confirming fetches while a stream runs.
CONFIRM_SHARE = 0.1
#: The most of what confirmations leave that the background polls may take together.
BACKGROUND_SHARE = 0.5


@dataclass(frozen=True)
class Load:
    """One class of background polls: `requests` per round, a round every `interval` seconds."""

    name: str  # "events", "syncs" or "snapshots"
    what: str  # what a round covers, for the plan's text: "3 ASes"
    requests: int
    interval: float

    def cost(self, window: float, stretch: float = 1.0) -> float:
        """Requests per `window` seconds with the interval stretched `stretch` times."""
        return self.requests * window / (self.interval * stretch)


@dataclass(frozen=True)
class Plan:
    """How often each class of request is made, and the worst-case data age that results."""

    prefixes: int  # in the realtime cycle, temporary watches included
    interval: float  # the configured interval
    effective_interval: float  # stretched when the budget cannot cover the configured one
    requests_per_window: float  # what the configured interval would cost per budget window
    budget: int = 0  # 0: the source has no budget (a replay)
    window: float = 300.0
    #: Requests per window kept for confirming fetches (0: no stream).
    confirmations: int = 0
    background: tuple[Load, ...] = ()
    #: Every background interval is this many times the configured one.
    stretch: float = 1.0
    #: Watched prefixes of the snapshot tier (their AS snapshots are a background load).
    snapshot_prefixes: int = 0

    @property
    def stretched(self) -> bool:
        """Whether the budget forced a longer realtime cycle than configured."""
        return self.effective_interval > self.interval

    @property
    def slot(self) -> float:
        """Seconds between two consecutive poll starts (polls are spread evenly)."""
        return self.effective_interval / max(self.prefixes, 1)

    def interval_of(self, name: str) -> float | None:
        """The planned interval of the background class `name`; None if it has no polls."""
        load = next((b for b in self.background if b.name == name), None)
        return None if load is None else load.interval * self.stretch

    @property
    def requests(self) -> float:
        """Every request the plan makes per window, confirmations at their full share."""
        background = sum(b.cost(self.window, self.stretch) for b in self.background)
        realtime = self.prefixes * self.window / self.effective_interval
        return self.confirmations + background + realtime

    def lines(self) -> list[str]:
        """The plan, one class per line, for `check` and the start-up log."""
        window = duration(self.window)
        if not self.budget:
            return [f"realtime: {self._realtime()}"]
        planned = int(self.budget * PLANNED_SHARE)
        lines = [
            f"budget: {self.budget} requests per {window}; {planned} planned, "
            f"{self.budget - planned} kept for retries"
        ]
        if self.confirmations:
            lines.append(f"confirmations: up to {self.confirmations} per {window} for the stream")
        lines += [self._background(b) for b in self.background]
        age = duration(self.effective_interval)
        cost = f"{self.prefixes * self.window / self.effective_interval:.0f} per {window}"
        realtime = f"realtime: {self._realtime()}"
        if self.stretched:
            realtime += (
                f" would cost {self.requests_per_window:.0f} per {window}, more than is left: "
                f"stretched to every {age}, {cost}"
            )
        else:
            realtime += f": {cost}"
        lines.append(f"{realtime}; worst-case data age {age}")
        return lines

    def describe(self) -> str:
        """The plan on one line, for the log."""
        return "; ".join(self.lines())

    def _realtime(self) -> str:
        return f"{counted(self.prefixes, 'prefix', 'prefixes')} every {duration(self.interval)}"

    def _background(self, load: Load) -> str:
        interval = load.interval * self.stretch
        text = (
            f"{load.name}: {load.what}, {counted(load.requests, 'request')} "
            f"every {duration(interval)}"
        )
        if self.stretch > 1:
            text += f" (stretched from {duration(load.interval)})"
        text += f": {load.cost(self.window, self.stretch):.1f} per {duration(self.window)}"
        if load.name == "snapshots":
            text += (
                f"; {counted(self.snapshot_prefixes, 'prefix', 'prefixes')}, worst-case data age "
                f"{duration(interval)} plus the age of Radar's RIB snapshot (hours)"
            )
        return text


def plan(
    source: SourceConfig,
    prefixes: int,
    background: tuple[Load, ...] = (),
    *,
    stream: bool = False,
    snapshot_prefixes: int = 0,
) -> Plan:
    """The plan for a realtime cycle over `prefixes`, the `background` polls and, with a
    `stream`, its confirmations, under `source`'s interval and budget."""
    cost = prefixes * source.budget_window / source.interval
    if source.type != "radar":
        return Plan(prefixes, source.interval, source.interval, cost)
    window = source.budget_window
    confirmations = int(source.budget * CONFIRM_SHARE) if stream else 0
    allowed = source.budget * PLANNED_SHARE - confirmations
    background = tuple(b for b in background if b.requests)
    wanted = sum(b.cost(window) for b in background)
    cap = allowed * BACKGROUND_SHARE
    stretch = wanted / cap if wanted > cap else 1.0
    allowed -= wanted / stretch
    effective = source.interval
    if cost > allowed:
        effective = prefixes * window / allowed
    return Plan(
        prefixes,
        source.interval,
        effective,
        cost,
        budget=source.budget,
        window=window,
        confirmations=confirmations,
        background=background,
        stretch=stretch,
        snapshot_prefixes=snapshot_prefixes,
    )
