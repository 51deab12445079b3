"""/metrics per origin: only a prefix that is not clean (its one expected origin alone, RPKI
valid) has `{origin,prefix}` series, then for every origin; the per-prefix series carry the rest."""

from __future__ import annotations

import pytest

from monitor.core.observation import OriginView
from monitor.exposition.metrics import Metrics
from tests.builders import answer, monitor_state, origin
from tests.known_state import samples

PREFIX = "192.0.2.0/24"
PER_ORIGIN = (
    "radar_monitor_prefix_visibility_ratio",
    "radar_monitor_prefix_visible_peers",
    "radar_monitor_prefix_total_peers",
    "radar_monitor_prefix_rpki_status",
    "radar_monitor_prefix_origin_expected",
)


def scrape_one(origins: str, seen: tuple[OriginView, ...]) -> str:
    """The exposition of PREFIX watched for `origins` while Radar shows `seen`."""
    state = monitor_state(f"prefixes: [{{prefix: {PREFIX}, origins: {origins}}}]")
    state.prefixes[PREFIX].view = answer(PREFIX, origins=seen)
    state.prefixes[PREFIX].routes = len(seen)
    return Metrics(lambda: state).render()[0].decode()


def test_a_clean_prefix_has_only_its_per_prefix_series() -> None:
    text = scrape_one("[64500]", (origin(64500, 970),))
    lines = [line for line in text.splitlines() if line.startswith("radar_monitor_prefix_")]
    assert lines == [
        'radar_monitor_prefix_info{description="",origins="64500",prefix="192.0.2.0/24"} 1.0',
        'radar_monitor_prefix_expected_visibility_ratio{prefix="192.0.2.0/24"} 0.97',
        'radar_monitor_prefix_peers{prefix="192.0.2.0/24"} 1000.0',
        'radar_monitor_prefix_origins{prefix="192.0.2.0/24"} 1.0',
        'radar_monitor_prefix_routes{prefix="192.0.2.0/24"} 1.0',
        'radar_monitor_prefix_data_timestamp_seconds{prefix="192.0.2.0/24"} 1.79586717e+09',
        'radar_monitor_prefix_fetch_failures{prefix="192.0.2.0/24"} 0.0',
    ]
    # Every family still says what it is, so the next hijack's series need no new metadata.
    for name in PER_ORIGIN:
        assert f"# TYPE {name} gauge" in text


@pytest.mark.parametrize(
    ("origins", "seen"),
    [
        pytest.param("[64500]", (origin(64500, 900), origin(64666, 50)), id="a second origin"),
        pytest.param("[64500]", (origin(64666, 900),), id="an unexpected origin alone"),
        pytest.param("[64500]", (origin(64500, 900, rpki="invalid"),), id="rpki invalid"),
        pytest.param("[64500]", (origin(64500, 900, rpki="unknown"),), id="rpki unknown"),
        pytest.param("[64500, 64501]", (origin(64500, 900),), id="a watch of two origins"),
        pytest.param("[]", (origin(64500, 900),), id="no origin configured"),
    ],
)
def test_any_other_prefix_has_every_origins_series(
    origins: str, seen: tuple[OriginView, ...]
) -> None:
    text = scrape_one(origins, seen)
    for name in PER_ORIGIN:
        assert sorted(line.split('"')[1] for line in samples(text, name)) == sorted(
            str(o.origin) for o in seen
        ), name
    assert samples(text, "radar_monitor_prefix_origins") == [
        f'radar_monitor_prefix_origins{{prefix="{PREFIX}"}} {len(seen)}.0'
    ]


def test_a_prefix_nobody_sees_has_no_origin_series_and_zero_origins() -> None:
    text = scrape_one("[64500]", ())
    for name in PER_ORIGIN:
        assert samples(text, name) == []
    assert samples(text, "radar_monitor_prefix_origins") == [
        f'radar_monitor_prefix_origins{{prefix="{PREFIX}"}} 0.0'
    ]
    assert samples(text, "radar_monitor_prefix_peers") == [
        f'radar_monitor_prefix_peers{{prefix="{PREFIX}"}} 0.0'
    ]


def test_a_config_label_named_origins_does_not_shadow_the_expected_origins() -> None:
    state = monitor_state(
        f"prefixes: [{{prefix: {PREFIX}, origins: [64501, 64500], labels: {{origins: mine}}}}]"
    )
    text = Metrics(lambda: state).render()[0].decode()
    assert samples(text, "radar_monitor_prefix_info") == [
        'radar_monitor_prefix_info{description="",label_origins="mine",origins="64500,64501",'
        'prefix="192.0.2.0/24"} 1.0'
    ]
