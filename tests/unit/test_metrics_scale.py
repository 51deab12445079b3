"""/metrics at scale: gzip when the client asks for it, and per-prefix lines that a scrape reuses
only while their prefix is unchanged."""

from __future__ import annotations

import gzip
from collections.abc import Callable

import aiohttp
import pytest

from monitor.exposition.metrics import Metrics
from monitor.exposition.prefix_metrics import BLOCK
from monitor.exposition.web import accepts_gzip, make_app
from monitor.state import MonitorState
from tests.builders import answer, monitor_state, origin, serving
from tests.known_state import V4, V6, known_state


async def fetch(
    state: MonitorState, *accept_encodings: str | None
) -> list[tuple[dict[str, str], bytes]]:
    """One daemon's /metrics headers and body per Accept-Encoding (None: no such header), exactly
    as sent (no decompression on our side)."""
    app = make_app(lambda: state, Metrics(lambda: state, version="1.2.3"))
    answers = []
    async with (
        serving(app) as url,
        aiohttp.ClientSession(auto_decompress=False, skip_auto_headers=["Accept-Encoding"]) as http,
    ):
        for accept in accept_encodings:
            headers = {} if accept is None else {"Accept-Encoding": accept}
            async with http.get(f"{url}/metrics", headers=headers) as resp:
                assert resp.status == 200
                answers.append((dict(resp.headers), await resp.read()))
    return answers


async def test_prometheus_gets_gzip_that_decodes_to_the_plain_text() -> None:
    state = known_state()
    # None: no Accept-Encoding at all; "gzip" is what Prometheus sends with every scrape.
    (plain_headers, plain), (headers, body) = await fetch(state, None, "gzip")
    assert "Content-Encoding" not in plain_headers
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Content-Type"] == plain_headers["Content-Type"]
    assert headers["Vary"] == "Accept-Encoding"
    assert b"radar_monitor_prefix_info{" in plain
    assert _without_process(gzip.decompress(body)) == _without_process(plain)


@pytest.mark.parametrize("accept", ["identity", "gzip;q=0", "deflate", "br, gzip; q=0.0"])
async def test_a_client_that_refuses_gzip_gets_plain_text(accept: str) -> None:
    [(headers, body)] = await fetch(known_state(), accept)
    assert "Content-Encoding" not in headers
    assert body.startswith(b"# HELP")


@pytest.mark.parametrize(
    ("header", "wanted"),
    [
        ("gzip", True),
        ("deflate, gzip;q=1.0, *;q=0.5", True),
        ("*", True),
        ("x-gzip", True),
        ("GZIP; Q=0.5", True),
        ("", False),
        ("gzip;q=0", False),
        ("*;q=0", False),
        ("gzip;q=nonsense", False),
    ],
)
def test_accept_encoding_is_read_with_its_weights(header: str, wanted: bool) -> None:
    assert accepts_gzip(header) is wanted


def test_reused_lines_match_a_fresh_render_after_every_kind_of_change() -> None:
    """One Metrics renders a state over and over as it changes; a new one renders it once."""
    state = known_state()
    metrics = Metrics(lambda: state)
    metrics.render()
    changes: list[Callable[[], None]] = [
        lambda: setattr(state.prefixes[V4], "failures", 3),
        lambda: setattr(state.prefixes[V6], "last_success", 1_795_900_000.0),
        lambda: setattr(state.prefixes[V4], "view", answer(V4, origins=(origin(64500, 1000),))),
        lambda: setattr(state.prefixes[V4], "routes", 7),
        lambda: setattr(state.prefixes[V6], "view", None),
    ]
    for change in changes:
        change()
        assert _prefix_lines(metrics.render()[0]) == _prefix_lines(
            Metrics(lambda: state).render()[0]
        )


def test_reused_blocks_and_their_gzip_match_a_fresh_render_across_many_blocks() -> None:
    """More prefixes than one block holds: changes in some blocks, a reload that drops one."""
    nets = [f"10.{i // 256}.{i % 256}.0/24" for i in range(2 * BLOCK + 10)]
    watched = [f"{{prefix: {n}, origins: [64500]}}" for n in nets]
    state = monitor_state(f"prefixes: [{', '.join(watched)}]")
    for net in nets:
        state.prefixes[net].view = answer(net, origins=(origin(64500, 900),))
    metrics = Metrics(lambda: state)
    metrics.render_snapshot(state, gzip=True)
    changes: list[Callable[[], None]] = [
        lambda: setattr(state.prefixes[nets[3]], "failures", 1),
        lambda: setattr(
            state.prefixes[nets[BLOCK + 1]],
            "view",
            answer(nets[BLOCK + 1], origins=(origin(64500, 500), origin(64666, 400))),
        ),
        lambda: setattr(state.prefixes[nets[-1]], "view", None),
        lambda: state.apply_config(monitor_state(f"prefixes: [{', '.join(watched[1:])}]").config),
    ]
    for change in changes:
        change()
        body, _ = metrics.render_snapshot(state, gzip=True)
        fresh, _ = Metrics(lambda: state).render_snapshot(state)
        assert _prefix_lines(gzip.decompress(body)) == _prefix_lines(fresh)


def test_a_reload_drops_gone_prefixes_and_relabels_the_rest() -> None:
    states = [known_state()]
    metrics = Metrics(lambda: states[0])
    metrics.render()
    states[0] = monitor_state(
        "prefixes: [{prefix: 192.0.2.0/24, origins: [64500], labels: {site: fra}}]"
    )
    text = metrics.render()[0].decode()
    assert V6 not in text
    assert (
        'radar_monitor_prefix_info{description="",origins="64500",prefix="192.0.2.0/24",'
        'site="fra"} 1.0' in text.splitlines()
    )


def _prefix_lines(body: bytes) -> list[str]:
    return [line for line in body.decode().splitlines() if "radar_monitor_prefix_" in line]


def _without_process(body: bytes) -> list[str]:
    """The lines that two scrapes a moment apart share (CPU time and lag samples move)."""
    return [
        line
        for line in body.decode().splitlines()
        if not line.startswith(("process_", "radar_monitor_http_", "radar_monitor_event_loop"))
    ]


def test_a_snapshot_keeps_every_field_and_ignores_later_changes() -> None:
    state = known_state()
    live = state.prefixes[V6]
    live.last_shown = 1_795_000_000.0
    snapshot = state.snapshot()
    copied = snapshot.prefixes[V6]
    assert copied == live and copied is not live
    live.failures, live.error, live.view = 9, "boom", None
    assert (copied.failures, copied.error, copied.view is not None) == (
        2,
        "no complete answer within 20s",
        True,
    )
