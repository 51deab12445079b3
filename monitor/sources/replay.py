"""Replayed Radar answers: `source.type: replay` serves a recorded timeline instead of the API.

A timeline lets rules be tried against a past incident, and drives the `demo` command. It is
one YAML file (JSON works too: YAML reads it); abridged example::

    title: Origin hijack of 192.0.2.0/24
    reconstruction: true        # true: rebuilt from public accounts, not recorded from Radar
    source: >-                  # free text: where the story comes from (accounts, URLs)
      https://example.org/post-mortem
    notes: anything else worth knowing (optional)
    steps:
      - label: clean            # what is happening (shown in logs)
        polls: 3                # how many consecutive polls of each prefix this step answers
        recorded_at: 2024-06-27T18:00:00Z
        answers:
          192.0.2.0/24:         # a realtime `result` object exactly as Radar's envelope holds it
            meta:
              data_time: "2024-06-27T17:59:40"
              prefix_origins:
                - {origin: 64500, prefix: 192.0.2.0/24, rpki_validation: valid,
                   total_peers: 479, total_visible: 475, visibility: 0.9916}
              collectors: [...]
              asn_info: [...]
            routes:
              - {as_path: [3356, 64500], collector: rrc00, communities: ["3356:3"],
                 prefix: 192.0.2.0/24, timestamp: "2024-06-20T08:12:09"}
      - label: Radar is down
        recorded_at: 2024-06-27T18:10:00Z
        answers:
          192.0.2.0/24: {error: transient}

Top-level keys: `title` (required), `reconstruction` (default false), `source`, `notes`
(default empty) and `steps` (a non-empty list). Each step has:

- `polls`: how many consecutive polls of each prefix the step answers (default 1). Every prefix
  counts its own polls: the first step answers a prefix's first `polls` polls, the next step the
  following ones, and so on. Past the last step the source stays on it, or starts over with
  `loop: true`.
- `label`: what is happening, logged when a prefix enters the step.
- `recorded_at`: an ISO 8601 time (naive means UTC), what "now" was when the step's answers were
  recorded. Required on the first step; a later step without one inherits the previous one.
- `answers`: a mapping from prefix to either a realtime `result` object (`{meta, routes}`, as in
  the documented schema and decoded by the same decoder as live answers; `{}` is an answer
  nobody sees) or `{error: KIND}`, which makes the fetch raise the source error of that kind:
  `transient`, `auth`, `rate_limited`, `api`, `bad_answer` or `too_large`.
  A prefix a step does not mention answers as in the previous step (its answer or error is
  carried forward unchanged, with its own `recorded_at`); a prefix no step has mentioned yet
  gets an empty answer: seen by nobody, as Radar answers for a prefix nobody announces.

Timestamps in answers are recorded times. When an answer is served, every timestamp in it
(`data_time`, `query_time`, the collectors' `latest_*_ts`, the routes' `timestamp`) is moved by
(now - `recorded_at`), so the ages the rules measure stay as recorded.

Quote BGP communities (`"3356:3"`): YAML reads an unquoted `3356:3` as a base-60 number, which
the decoder then rejects. YAML aliases (`*name`) are refused, as in the configuration file.
Every problem with a file is a `ConfigError` naming the file and the place, such as
`steps[3].answers.1.1.1.0/24: unexpected shape: …` (list indexes count from 0).

Timelines shipped in `monitor/data/` (see `monitor.bundled`) reconstruct public incidents:
`hijack-exact-prefix.yaml`, `withdrawal.yaml`, and `demo-timeline.yaml` played by `demo.yaml`.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from monitor.core.measures import normalise_prefix
from monitor.core.observation import CollectorView, ErrorKind, PrefixView, RouteView
from monitor.sources.base import (
    ApiError,
    AuthError,
    BadAnswerError,
    ClosingSource,
    RateLimitedError,
    SourceError,
    TooLargeError,
    TransientError,
)
from monitor.sources.radar_routes import decode_routes
from monitor.sources.radar_wire import DecodeError
from monitor.validate import (
    ConfigError,
    Section,
    boolean,
    describe_value,
    load_yaml,
    one_of,
    parse_prefix,
    parse_time,
    positive_int,
    read_limited,
    string,
)

log = logging.getLogger(__name__)

#: A timeline larger than this is refused before parsing; real answers make files of a few MB.
MAX_TIMELINE_BYTES = 64 * 1024 * 1024
#: What a replayed 429 asks to wait: Radar's client assumes the same for a 429 without header.
RATE_LIMIT_RETRY_AFTER = 60.0

#: Error kinds a step may replay, each raising the source error of that kind.
ERRORS: dict[str, Callable[[str], SourceError]] = {
    ErrorKind.TRANSIENT: TransientError,
    ErrorKind.AUTH: AuthError,
    ErrorKind.RATE_LIMITED: lambda message: RateLimitedError(message, RATE_LIMIT_RETRY_AFTER),
    ErrorKind.API: ApiError,
    ErrorKind.BAD_ANSWER: BadAnswerError,
    ErrorKind.TOO_LARGE: TooLargeError,
}


def now_utc() -> datetime:
    """The current time as an aware UTC datetime (the replay's default clock)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RecordedAnswer:
    """A decoded answer and what "now" was when it was recorded, to shift it when served."""

    answer: PrefixView
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class RecordedError:
    """A fetch that failed with the source error of `kind`."""

    kind: str


Recorded = RecordedAnswer | RecordedError


@dataclass(frozen=True)
class Step:
    """One stretch of the story; `answers` holds every prefix mentioned so far (carried forward)."""

    polls: int
    label: str
    recorded_at: datetime
    answers: Mapping[str, Recorded]


@dataclass(frozen=True)
class Timeline:
    """A validated timeline file."""

    title: str
    reconstruction: bool
    source: str
    notes: str
    steps: tuple[Step, ...]

    @property
    def prefixes(self) -> frozenset[str]:
        """Every prefix some step answers for."""
        return frozenset(self.steps[-1].answers)

    @property
    def total_polls(self) -> int:
        """Polls of one prefix from the first step to the end of the last."""
        return sum(s.polls for s in self.steps)

    def step_index(self, poll: int, loop: bool) -> int:
        """Which step answers poll `poll` (from 0) of a prefix; past the end: the last, or loop."""
        if loop:
            poll %= self.total_polls
        ends = list(itertools.accumulate(s.polls for s in self.steps))
        return min(bisect.bisect_right(ends, poll), len(self.steps) - 1)


def load_timeline(path: str | Path) -> Timeline:
    """Read and validate a timeline; every problem is a ConfigError naming the file and step."""
    file = str(path)
    try:
        return _timeline(load_yaml(read_limited(path, MAX_TIMELINE_BYTES)))
    except ConfigError as exc:
        raise exc if exc.file else exc.in_file(file) from None


def _timeline(data: Any) -> Timeline:
    if data is None:
        raise ConfigError("", "the file is empty")
    top = Section(data, "")
    steps: list[Step] = []
    for path, item in top.items("steps"):
        steps.append(_step(Section(item, path), steps[-1] if steps else None))
    if not steps:
        raise ConfigError("steps", "needs at least one step")
    timeline = Timeline(
        title=top.get("title", string),
        reconstruction=top.get("reconstruction", boolean, False),
        source=top.get("source", string, ""),
        notes=top.get("notes", string, ""),
        steps=tuple(steps),
    )
    top.close()
    return timeline


def _step(s: Section, previous: Step | None) -> Step:
    recorded_at = s.get("recorded_at", parse_time, None)
    if recorded_at is None:
        if previous is None:
            raise ConfigError(s.where("recorded_at"), "is required on the first step")
        recorded_at = previous.recorded_at
    answers: dict[str, Recorded] = dict(previous.answers) if previous else {}
    mentioned: dict[str, str] = {}
    given = s.sub("answers")
    for key in given.data:
        where = given.where(key)
        prefix = parse_prefix(key, where)
        if prefix in mentioned:
            raise ConfigError(where, f"duplicate prefix {prefix} (also {mentioned[prefix]})")
        mentioned[prefix] = where
        answers[prefix] = _recorded(given.raw(key, {}), where, prefix, recorded_at)
    step = Step(
        polls=s.get("polls", positive_int, 1),
        label=s.get("label", string, ""),
        recorded_at=recorded_at,
        answers=answers,
    )
    given.close()
    s.close()
    return step


def _recorded(value: Any, path: str, prefix: str, recorded_at: datetime) -> Recorded:
    if not isinstance(value, Mapping):
        raise ConfigError(
            path,
            f"must be a result object {{meta, routes}} or {{error: KIND}}, got "
            f"{describe_value(value)}",
        )
    if "error" in value:
        s = Section(value, path)
        kind = s.get("error", one_of(*ERRORS))
        s.close()
        return RecordedError(kind)
    try:
        body = msgspec.json.encode({"success": True, "result": value})
    except (TypeError, msgspec.EncodeError) as exc:
        raise ConfigError(path, f"cannot be read as JSON: {exc}") from None
    try:
        envelope = decode_routes(body, prefix)
    except DecodeError as exc:
        raise ConfigError(path, str(exc)) from None
    assert envelope.result is not None  # a successful envelope with a result always decodes one
    return RecordedAnswer(envelope.result, recorded_at)


def shift(answer: PrefixView, by: timedelta) -> PrefixView:
    """`answer` with every timestamp moved by `by`, so that every age stays as recorded."""
    return dataclasses.replace(
        answer,
        data_time=_moved(answer.data_time, by),
        query_time=_moved(answer.query_time, by),
        routes=tuple(_shift_route(r, by) for r in answer.routes),
        collectors=tuple(_shift_collector(c, by) for c in answer.collectors),
    )


def _moved(ts: datetime | None, by: timedelta) -> datetime | None:
    return ts + by if ts is not None else None


def _shift_route(route: RouteView, by: timedelta) -> RouteView:
    if route.timestamp is None:
        return route
    return msgspec.structs.replace(route, timestamp=route.timestamp + by)


def _shift_collector(c: CollectorView, by: timedelta) -> CollectorView:
    return dataclasses.replace(
        c,
        realtime_ts=_moved(c.realtime_ts, by),
        rib_ts=_moved(c.rib_ts, by),
        updates_ts=_moved(c.updates_ts, by),
    )


class ReplaySource(ClosingSource):
    """A `PrefixSource` answering from a timeline file, as `RadarRoutes` answers from the API."""

    def __init__(self, path: Path, loop: bool, clock: Callable[[], datetime] = now_utc) -> None:
        self.path = path
        self.timeline = load_timeline(path)
        self.loop = loop
        self._clock = clock
        #: Per prefix: polls answered so far, and the step the last one came from.
        self._progress: dict[str, tuple[int, int]] = {}

    def __repr__(self) -> str:
        return f"ReplaySource(path={str(self.path)!r}, loop={self.loop})"

    async def fetch(self, prefix: str) -> PrefixView:
        """The answer the timeline gives for this poll of `prefix`, or the error it replays."""
        key = normalise_prefix(prefix)
        polls, last = self._progress.get(key, (0, -1))
        index = self.timeline.step_index(polls, self.loop)
        self._progress[key] = (polls + 1, index)
        step = self.timeline.steps[index]
        if index != last:
            log.info(
                "replay %s: %s enters step %d of %d: %s",
                self.path.name,
                key,
                index + 1,
                len(self.timeline.steps),
                step.label or "(no label)",
            )
        now = self._clock()
        recorded = step.answers.get(key)
        if recorded is None:
            return PrefixView(
                prefix=key, data_time=now, query_time=now, origins=(), routes=(), collectors=()
            )
        if isinstance(recorded, RecordedError):
            label = f": {step.label}" if step.label else ""
            where = f"step {index + 1} of {self.path.name}{label}"
            raise ERRORS[recorded.kind](f"replayed {recorded.kind} error ({where})")
        return shift(recorded.answer, now - recorded.recorded_at)
