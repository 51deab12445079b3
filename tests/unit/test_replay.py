"""The replay source: timeline files, step advance, time shifting, errors, and bundled incidents."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from monitor.bundled import bundled
from monitor.config import load_config
from monitor.core.observation import PrefixView
from monitor.pipeline import judge
from monitor.settings import PrefixConfig
from monitor.sources.base import (
    ApiError,
    AuthError,
    BadAnswerError,
    RateLimitedError,
    SourceError,
    TooLargeError,
    TransientError,
)
from monitor.sources.replay import (
    RecordedAnswer,
    ReplaySource,
    Step,
    Timeline,
    load_timeline,
)
from monitor.validate import ConfigError

T0 = datetime(2024, 6, 27, 18, 0, tzinfo=UTC)
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
A, B, C = "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"
BUNDLED = ("hijack-exact-prefix.yaml", "withdrawal.yaml", "demo-timeline.yaml")


def iso(ts: datetime) -> str:
    """Radar's style: naive UTC, no fraction."""
    return ts.astimezone(UTC).replace(tzinfo=None).isoformat()


def result(origin: int = 64500, visible: int = 95, rpki: str = "valid", at: datetime = T0) -> Any:
    """A realtime `result` recorded at `at`: data 20s, realtime 30s, route 1h old."""
    return {
        "meta": {
            "data_time": iso(at - timedelta(seconds=20)),
            "query_time": iso(at),
            "prefix_origins": [
                {
                    "origin": origin,
                    "rpki_validation": rpki,
                    "total_peers": 100,
                    "total_visible": visible,
                }
            ],
            "collectors": [
                {
                    "collector": "rrc00",
                    "latest_realtime_ts": iso(at - timedelta(seconds=30)),
                    "latest_rib_ts": iso(at - timedelta(hours=2)),
                    "latest_updates_ts": iso(at - timedelta(minutes=5)),
                    "peers_count": 100,
                }
            ],
            "asn_info": [{"asn": origin, "as_name": f"NAME-{origin}", "country_code": "ZZ"}],
        },
        "routes": [
            {
                "as_path": [3356, origin],
                "collector": "rrc00",
                "communities": ["3356:3"],
                "timestamp": iso(at - timedelta(hours=1)),
            }
        ],
    }


def step(answers: dict[str, Any], polls: int = 1, at: datetime | None = T0, **extra: Any) -> Any:
    """A step dict; `at=None` leaves out `recorded_at`."""
    doc: dict[str, Any] = {"polls": polls, "answers": answers, **extra}
    if at is not None:
        doc["recorded_at"] = at.isoformat()
    return doc


def write(tmp_path: Path, *steps: Any, name: str = "timeline.yaml") -> Path:
    """A timeline file holding `steps` (JSON for a `.json` name: YAML reads both)."""
    doc = {"title": "test", "steps": list(steps)}
    path = tmp_path / name
    path.write_text(json.dumps(doc) if name.endswith(".json") else yaml.safe_dump(doc))
    return path


def source(
    path: Path, loop: bool = False, clock: Callable[[], datetime] = lambda: NOW
) -> ReplaySource:
    """A replay source on a fixed clock."""
    return ReplaySource(path, loop=loop, clock=clock)


def origins(answer: PrefixView) -> list[int]:
    """The origin ASNs of an answer."""
    return [o.origin for o in answer.origins]


async def origin_sequence(src: ReplaySource, prefix: str, polls: int) -> list[list[int]]:
    """The origins `polls` consecutive fetches of `prefix` return."""
    return [origins(await src.fetch(prefix)) for _ in range(polls)]


# --- stepping -------------------------------------------------------------------------------


async def test_steps_advance_per_prefix_and_carry_forward(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        step({A: result(64500), B: result(64501)}, polls=2),
        step({A: result(64666)}),  # B not mentioned: carried forward
        step({B: result(64502), C: result(64503)}),  # C first mentioned here
        name="timeline.json",
    )
    src = source(path)
    # Each prefix counts its own polls: fetching A four times does not advance B.
    assert await origin_sequence(src, A, 5) == [[64500], [64500], [64666], [64666], [64666]]
    assert await origin_sequence(src, B, 5) == [[64501], [64501], [64501], [64502], [64502]]
    assert await origin_sequence(src, C, 5) == [[], [], [], [64503], [64503]]
    never = await src.fetch("2001:db8::/32")
    assert (never.origins, never.routes, never.collectors) == ((), (), ())
    assert never.data_time == never.query_time == NOW


async def test_prefixes_match_in_canonical_form(tmp_path: Path) -> None:
    path = write(tmp_path, step({"2001:db8:0:0::/32": result(64500)}))
    assert origins(await source(path).fetch("2001:0db8::/32")) == [64500]


@pytest.mark.parametrize(
    ("loop", "expected"),
    [(False, [1, 2, 2, 2, 2, 2, 2]), (True, [1, 2, 2, 1, 2, 2, 1])],
)
async def test_end_of_timeline_stays_or_loops(
    tmp_path: Path, loop: bool, expected: list[int]
) -> None:
    path = write(tmp_path, step({A: result(1)}), step({A: result(2)}, polls=2))
    sequence = await origin_sequence(source(path, loop=loop), A, len(expected))
    assert sequence == [[asn] for asn in expected]


@given(st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=6))
def test_step_index_covers_cumulative_polls(polls: list[int]) -> None:
    timeline = Timeline(
        title="t",
        reconstruction=False,
        source="",
        notes="",
        steps=tuple(Step(n, "", T0, {}) for n in polls),
    )
    expanded = [i for i, n in enumerate(polls) for _ in range(n)]
    stay = [timeline.step_index(p, loop=False) for p in range(len(expanded) + 3)]
    assert stay == [*expanded, *[len(polls) - 1] * 3]
    looped = [timeline.step_index(p, loop=True) for p in range(2 * len(expanded))]
    assert looped == expanded * 2


async def test_entering_a_step_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path, step({A: result()}, label="calm"), step({}, label="storm"))
    src = source(path)
    with caplog.at_level(logging.INFO, logger="monitor.sources.replay"):
        await origin_sequence(src, A, 3)
    entered = [r.getMessage() for r in caplog.records if "enters step" in r.getMessage()]
    assert entered == [
        f"replay timeline.yaml: {A} enters step 1 of 2: calm",
        f"replay timeline.yaml: {A} enters step 2 of 2: storm",
    ]


# --- time shifting --------------------------------------------------------------------------


async def test_timestamps_shift_so_ages_stay_as_recorded(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        step({A: result(at=T0), B: result(at=T0)}),
        # An hour later only B changes: A's carried answer keeps its own recorded_at.
        step({B: result(at=T0 + timedelta(hours=1))}, at=T0 + timedelta(hours=1)),
    )
    clock = [NOW]
    src = source(path, clock=lambda: clock[0])
    for _ in range(2):
        answer = await src.fetch(A)
        now = clock[0]
        assert answer.query_time == now
        assert answer.data_time == now - timedelta(seconds=20)
        (collector,) = answer.collectors
        assert collector.realtime_ts == now - timedelta(seconds=30)
        assert collector.rib_ts == now - timedelta(hours=2)
        assert collector.updates_ts == now - timedelta(minutes=5)
        (route,) = answer.routes
        assert route.timestamp == now - timedelta(hours=1)
        assert (route.as_path, route.communities) == ((3356, 64500), ("3356:3",))
        clock[0] += timedelta(minutes=7)


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("transient", TransientError),
        ("auth", AuthError),
        ("rate_limited", RateLimitedError),
        ("api", ApiError),
        ("bad_answer", BadAnswerError),
        ("too_large", TooLargeError),
    ],
)
async def test_error_steps_raise_the_matching_radar_error(
    tmp_path: Path, kind: str, error: type[SourceError]
) -> None:
    path = write(
        tmp_path,
        step({A: result(1)}),
        step({A: {"error": kind}}, label="Radar trouble"),
        step({B: result(2)}),  # A's error is carried forward
        step({A: result(3)}),
    )
    src = source(path)
    assert origins(await src.fetch(A)) == [1]
    for where in ("step 2 of timeline.yaml: Radar trouble", "step 3 of timeline.yaml"):
        with pytest.raises(error) as caught:
            await src.fetch(A)
        assert str(caught.value) == f"replayed {kind} error ({where})"
        assert caught.value.kind == kind
    if isinstance(caught.value, RateLimitedError):
        assert caught.value.retry_after == 60.0
    assert origins(await src.fetch(A)) == [3]


# --- bad files ------------------------------------------------------------------------------

GOOD_STEP = {"recorded_at": T0.isoformat(), "answers": {A: result()}}
BAD_ORIGIN = result()
BAD_ORIGIN["meta"]["prefix_origins"][0]["origin"] = "AS64500"
BAD_ROUTE_TIME = result()
BAD_ROUTE_TIME["routes"][0]["timestamp"] = "soon"


def dumped(*steps: Any, **top: Any) -> str:
    """YAML text of a timeline with `steps` and extra top-level keys."""
    return yaml.safe_dump({"title": "bad", **top, "steps": list(steps)})


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("", "", "the file is empty"),
        ("steps: [\n", "line 2", "invalid YAML"),
        ("title: x\nsteps: []\n", "steps", "needs at least one step"),
        (dumped(GOOD_STEP, titel="x"), "titel", "unknown key"),
        (
            dumped(GOOD_STEP, {"answers": {A: BAD_ORIGIN}}),
            f"steps[1].answers.{A}",
            "unexpected shape: Expected `int`, got `str` - at "
            "`$.result.meta.prefix_origins[0].origin`",
        ),
        (
            dumped({"recorded_at": T0.isoformat(), "answers": {A: BAD_ROUTE_TIME}}),
            f"steps[0].answers.{A}",
            "result.routes[0].timestamp: not an ISO 8601 timestamp",
        ),
        (
            # An unquoted community is a base-60 number to YAML: the decoder says where.
            f"title: x\nsteps:\n- recorded_at: 2024-06-27T18:00:00Z\n  answers:\n"
            f"    {A}: {{routes: [{{as_path: [1], communities: [3356:3]}}]}}\n",
            f"steps[0].answers.{A}",
            "`$.result.routes[0].communities[0]`",
        ),
        (
            dumped(GOOD_STEP, {"answers": {A: {"error": "boom"}}}),
            f"steps[1].answers.{A}.error",
            "must be one of transient, auth, rate_limited, api, bad_answer, too_large",
        ),
        (
            dumped({"recorded_at": T0.isoformat(), "answers": {A: {"error": "api", "x": 1}}}),
            f"steps[0].answers.{A}.x",
            "unknown key",
        ),
        (
            dumped({"recorded_at": T0.isoformat(), "answers": {A: [1, 2]}}),
            f"steps[0].answers.{A}",
            "must be a result object",
        ),
        (
            dumped(GOOD_STEP, {"answers": {"192.0.2.1/24": result()}}),
            "steps[1].answers.192.0.2.1/24",
            "has host bits set",
        ),
        (
            dumped({**GOOD_STEP, "answers": {"2001:db8::/32": {}, "2001:db8:0::/32": {}}}),
            "steps[0].answers.2001:db8::/32",
            "duplicate prefix 2001:db8::/32 (also steps[0].answers.2001:db8:0::/32)",
        ),
        (dumped({"answers": {A: result()}}), "steps[0].recorded_at", "is required on the first"),
        (dumped({"recorded_at": "yesterday"}), "steps[0].recorded_at", "must be a time like"),
        (dumped({**GOOD_STEP, "polls": 0}), "steps[0].polls", "at least 1"),
        (dumped(GOOD_STEP, {"lable": "typo"}), "steps[1].lable", "unknown key"),
        ("title: &t x\nnotes: *t\nsteps: []\n", "line 2", "YAML aliases (*name) are not supported"),
    ],
)
def test_bad_files_name_the_file_and_the_step(
    tmp_path: Path, text: str, where: str, problem: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        ReplaySource(path, loop=False)
    assert caught.value.file == str(path)
    assert caught.value.path == where
    assert problem in caught.value.problem
    assert str(caught.value).startswith(f"{path}: ")


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(ConfigError, match=r"nowhere\.yaml: cannot read: No such file"):
        load_timeline(path)


async def test_async_context_manager(tmp_path: Path) -> None:
    async with source(write(tmp_path, step({A: result(7)}))) as src:
        assert origins(await src.fetch(A)) == [7]


# --- bundled timelines and the demo ---------------------------------------------------------


@pytest.mark.parametrize("name", BUNDLED)
async def test_bundled_timelines_load_and_decode(name: str) -> None:
    path = bundled(name)
    assert path.stat().st_size < 200_000
    assert path.read_text().startswith("# RECONSTRUCTION from public accounts")
    timeline = load_timeline(path)
    assert timeline.reconstruction
    assert "https://" in timeline.source
    for s in timeline.steps:
        assert s.label
        assert all(isinstance(r, RecordedAnswer) for r in s.answers.values())
    src = source(path)
    for prefix in sorted(timeline.prefixes):
        for _ in range(timeline.total_polls):
            answer = await src.fetch(prefix)
            assert answer.prefix == prefix
            assert all(o.prefix == prefix for o in answer.origins)
            assert all(r.prefix == prefix for r in answer.routes)


def test_bundled_names_what_ships() -> None:
    with pytest.raises(FileNotFoundError, match=r"hijack-exact-prefix\.yaml"):
        bundled("nope.yaml")


def test_demo_config_loads_and_watches_what_its_timeline_answers() -> None:
    config = load_config(bundled("demo.yaml"))
    assert config.source.type == "replay"
    assert config.source.loop
    assert config.source.interval == 2.0
    assert config.source.file == bundled("demo-timeline.yaml")
    assert [r.name for r in config.rules] == [
        "rpki-invalid",
        "unexpected-origin",
        "low-visibility",
        "stale-collectors",
    ]
    assert (config.http.host, config.http.port) == ("127.0.0.1", 9847)
    assert config.notifications.channels == ()
    timeline = load_timeline(config.source.file)
    assert {p.prefix for p in config.prefixes} == timeline.prefixes


def demo_watches() -> dict[str, PrefixConfig]:
    """The demo's watched prefixes with its rules, by prefix."""
    return {p.prefix: p for p in load_config(bundled("demo.yaml")).prefixes}


async def fired_per_step(name: str) -> dict[str, list[set[str]]]:
    """Per prefix, the rules firing at each step of the bundled timeline `name`."""
    timeline = load_timeline(bundled(name))
    watches = demo_watches()
    src = source(bundled(name))
    fired: dict[str, list[set[str]]] = {}
    for prefix in sorted(timeline.prefixes):
        per_step = fired.setdefault(prefix, [set() for _ in timeline.steps])
        for poll in range(timeline.total_polls):
            answer = await src.fetch(prefix)
            index = timeline.step_index(poll, loop=False)
            per_step[index] |= {f.rule for f in judge(watches[prefix], answer, NOW).findings}
    return fired


async def test_rules_over_the_hijack_timeline() -> None:
    fired = await fired_per_step("hijack-exact-prefix.yaml")
    hijack = {"rpki-invalid", "unexpected-origin"}
    # Steps: clean, hijack begins, hijack peak, hijack withdrawn, clean again.
    assert fired == {"104.244.42.0/24": [set(), hijack, hijack, set(), set()]}


async def test_rules_over_the_withdrawal_timeline() -> None:
    fired = await fired_per_step("withdrawal.yaml")
    low = {"low-visibility"}
    # Steps: normal, withdrawing, withdrawn, still down, coming back, normal again.
    expected = [set(), low, low, low, set(), set()]
    assert fired == {"129.134.30.0/23": expected, "185.89.218.0/23": expected}


async def test_demo_timeline_shows_the_hijack_then_the_withdrawal() -> None:
    fired = await fired_per_step("demo-timeline.yaml")
    hijack, low = {"rpki-invalid", "unexpected-origin"}, {"low-visibility"}
    assert fired["104.244.42.0/24"] == [set(), hijack, hijack, set(), set(), *[set()] * 4]
    for prefix in ("129.134.30.0/23", "185.89.218.0/23"):
        assert fired[prefix] == [*[set()] * 5, low, low, set(), set()]
