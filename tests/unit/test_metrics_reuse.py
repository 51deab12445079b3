"""Per-prefix lines reused across scrapes: after any sequence of changes a long-lived `Metrics`
writes what a new one writes, and values are formatted exactly as prometheus_client does; a
render ahead (after a snapshot round) runs in the background, and bulk work waits for renders."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from monitor.config import parse_config
from monitor.core.observation import PrefixView
from monitor.exposition import metrics as metrics_module
from monitor.exposition.metrics import Metrics
from monitor.exposition.prefix_metrics import _num
from monitor.state import MonitorState
from tests.builders import answer, monitor_state, origin

NETS = ("192.0.2.0/24", "198.51.100.0/24", "2001:db8::/32")


def watches(description: str, origins: str) -> str:
    """The config of `NETS`, each described and expected from `origins`."""
    entries = ", ".join(
        f"{{prefix: {n}, origins: [{origins}], description: {description}}}" for n in NETS
    )
    return f"prefixes: [{entries}]"


#: One change to the state: which prefix, and what happens to it.
CHANGES = st.tuples(
    st.sampled_from(NETS),
    st.sampled_from(
        ["same-origins", "new-numbers", "moas", "no-view", "failure", "success", "routes", "reload"]
    ),
    st.integers(min_value=0, max_value=1000),
)


def apply(state: MonitorState, prefix: str, change: str, number: int) -> None:
    """One change, as polls, snapshot rounds, failures and reloads make them."""
    status = state.prefixes[prefix]
    view = status.view
    if change == "same-origins" and view is not None:
        # A snapshot round over a quiet RIB: the same origins in new objects, a new data time.
        stamp = datetime.fromtimestamp(1_795_867_000 + number, UTC)
        origins = tuple(dataclasses.replace(o) for o in view.origins)
        status.view = dataclasses.replace(view, origins=origins, data_time=stamp)
    elif change == "new-numbers":
        status.view = answer(prefix, origins=(origin(64500, number),))
    elif change == "moas":
        status.view = answer(prefix, origins=(origin(64500, 900), origin(64666, number)))
    elif change == "no-view":
        status.view = None
    elif change == "failure":
        status.failures += 1
    elif change == "success":
        status.failures, status.last_success = 0, 1_795_867_000.5 + number
    elif change == "routes":
        status.routes = number
    elif change == "reload":
        config = parse_config(watches(f"d{number % 3}", "64500, 64666" if number % 2 else "64500"))
        state.apply_config(config)


@settings(max_examples=60, deadline=None)
@given(st.lists(CHANGES, min_size=1, max_size=12))
def test_reused_lines_always_match_a_fresh_render(changes: list[tuple[str, str, int]]) -> None:
    state = monitor_state(watches("d0", "64500"))
    for net in NETS:
        state.prefixes[net].view = answer(net, origins=(origin(64500, 900),))
    metrics = Metrics(lambda: state)
    metrics.render()
    for prefix, change, number in changes:
        apply(state, prefix, change, number)
        reused = metrics.render()[0].decode()
        fresh = Metrics(lambda: state).render()[0].decode()
        assert _prefix_lines(reused) == _prefix_lines(fresh), (prefix, change)


def test_a_new_view_with_the_same_origins_changes_only_its_data_time() -> None:
    state = monitor_state(watches("d0", "64500"))
    view = answer(NETS[0], origins=(origin(64500, 900),))
    state.prefixes[NETS[0]].view = view
    metrics = Metrics(lambda: state)
    before = _prefix_lines(metrics.render()[0].decode())
    later = datetime.fromtimestamp(1_795_870_000, UTC)
    state.prefixes[NETS[0]].view = PrefixView(
        NETS[0], later, later, tuple(dataclasses.replace(o) for o in view.origins), (), ()
    )
    after = _prefix_lines(metrics.render()[0].decode())
    changed = set(before) ^ set(after)
    assert len(changed) == 2
    assert all(
        line.startswith(f'radar_monitor_prefix_data_timestamp_seconds{{prefix="{NETS[0]}"}}')
        for line in changed
    )
    assert f'radar_monitor_prefix_data_timestamp_seconds{{prefix="{NETS[0]}"}} 1.79587e+09' in after


@given(st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**20), 10**20))
def test_values_are_written_as_prometheus_client_writes_them(value: float) -> None:
    assert _num(value) == floatToGoString(value)  # type: ignore[no-untyped-call]


def test_special_values() -> None:
    assert [_num(v) for v in (math.inf, -math.inf, math.nan, 0, 1e6, 1795867170.25)] == [
        "+Inf",
        "-Inf",
        "NaN",
        "0.0",
        "1e+06",
        "1.79586717025e+09",
    ]


def _prefix_lines(body: str) -> list[str]:
    return sorted(line for line in body.splitlines() if line.startswith("radar_monitor_prefix_"))


class Gate(Collector):
    """A collector whose `collect` waits for `release` (a render held in its thread)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.collected = 0

    def collect(self) -> Iterator[Metric]:
        self.collected += 1
        self.entered.set()
        self.release.wait(10)
        return iter(())


async def test_bulk_work_waits_while_a_scrape_renders() -> None:
    state = monitor_state(watches("d0", "64500"))
    metrics = Metrics(lambda: state)
    gate = Gate()
    metrics.registry.register(gate)
    await asyncio.wait_for(metrics.idle(), 1)  # nothing renders: no wait
    scrape = asyncio.create_task(metrics.render_async())
    await asyncio.to_thread(gate.entered.wait, 5)
    waiting = asyncio.create_task(metrics.idle())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    gate.release.set()
    await asyncio.wait_for(waiting, 5)
    body, _ = await scrape
    assert b"radar_monitor_prefix_info" in body


async def test_prepare_renders_in_the_background_once_at_a_time() -> None:
    state = monitor_state(watches("d0", "64500"))
    metrics = Metrics(lambda: state)
    gate = Gate()
    metrics.registry.register(gate)
    metrics.prepare()
    metrics.prepare()  # while the first still runs: no second render
    await asyncio.to_thread(gate.entered.wait, 5)
    gate.release.set()
    await asyncio.wait_for(metrics.idle(), 5)
    assert gate.collected == 1


async def test_bulk_work_waits_for_a_render_only_so_long(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client scraping without pause must not hold a snapshot round up for good."""
    monkeypatch.setattr(metrics_module, "IDLE_WAIT", 0.1)
    state = monitor_state(watches("d0", "64500"))
    metrics = Metrics(lambda: state)
    gate = Gate()
    metrics.registry.register(gate)
    scrape = asyncio.create_task(metrics.render_async())
    await asyncio.to_thread(gate.entered.wait, 5)
    await asyncio.wait_for(metrics.idle(), 2)  # returns, though the render still runs
    assert not scrape.done()
    gate.release.set()
    await scrape


async def test_every_scrape_renders_on_the_same_one_thread() -> None:
    """One thread, one malloc arena: renders spread over the default executor's threads left a
    render's garbage in each of their arenas (RSS 96 -> 135 MiB at 10,000 prefixes)."""
    state = monitor_state(watches("d0", "64500"))
    metrics = Metrics(lambda: state)
    names: list[str] = []

    class Where(Collector):
        def collect(self) -> Iterator[Metric]:
            names.append(threading.current_thread().name)
            return iter(())

    metrics.registry.register(Where())
    # Other work keeps the default executor's threads busy meanwhile, as DNS lookups do.
    busy = [asyncio.to_thread(threading.Event().wait, 0.05) for _ in range(4)]
    await asyncio.gather(*busy, *(metrics.render_async() for _ in range(6)))
    assert len(names) == 6 and len(set(names)) == 1
    assert threading.main_thread().name not in names
