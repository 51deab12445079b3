"""The replay source: timeline files, step advance, time shifting, errors and bad files (the
bundled incidents: test_replay_bundled.py)."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from monitor.sources.base import (
    ApiError,
    AuthError,
    BadAnswerError,
    RateLimitedError,
    SourceError,
    TooLargeError,
    TransientError,
)
from monitor.sources.replay import ReplaySource, Step, Timeline, load_timeline
from monitor.validate import ConfigError
from tests.replay_steps import (
    NOW,
    T0,
    A,
    B,
    C,
    origin_sequence,
    origins,
    result,
    source,
    step,
    write,
)

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
