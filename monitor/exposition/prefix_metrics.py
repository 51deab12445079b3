"""The per-prefix families as exposition text, re-rendered only for prefixes that changed.

        radar_monitor_prefix_info{description="anycast DNS",origins="13335",prefix="1.1.1.0/24",
            team="edge"} 1.0
        radar_monitor_prefix_expected_visibility_ratio{prefix="1.1.1.0/24"} 0.99
        radar_monitor_prefix_peers{prefix="1.1.1.0/24"} 1000.0
        radar_monitor_prefix_origins{prefix="1.1.1.0/24"} 2.0
        radar_monitor_prefix_routes{prefix="1.1.1.0/24"} 1234.0
        radar_monitor_prefix_data_timestamp_seconds{prefix="1.1.1.0/24"} 1.79586717e+09
        radar_monitor_prefix_last_success_timestamp_seconds{prefix="1.1.1.0/24"} 1.7958672e+09
        radar_monitor_prefix_fetch_failures{prefix="1.1.1.0/24"} 0.0
        radar_monitor_prefix_visibility_ratio{origin="64666",prefix="1.1.1.0/24"} 0.01
        radar_monitor_prefix_visible_peers{origin="64666",prefix="1.1.1.0/24"} 10.0
        radar_monitor_prefix_total_peers{origin="64666",prefix="1.1.1.0/24"} 1000.0
        radar_monitor_prefix_rpki_status{origin="64666",prefix="1.1.1.0/24",status="invalid"} 1.0
        radar_monitor_prefix_origin_expected{origin="64666",prefix="1.1.1.0/24"} 0.0

A *clean* prefix has one expected origin, and Radar sees that origin alone, RPKI valid. It has no
per-origin series (`{origin,prefix}`): its origin is `prefix_info`'s `origins` label, its
visibility `expected_visibility_ratio` of `peers`, its status valid, so the five per-origin lines
would say nothing new (at 10,000 prefixes they were half the scrape). Any other prefix (two
origins, an unexpected or RPKI-invalid or -unknown one, or a watch of several origins) has them
for every origin, the expected ones included, so a hijack is seen next to the owner.

10,000 prefixes are some 80,000 lines; formatting them through prometheus_client at every scrape
took a second and a hundred MiB of short-lived samples. A prefix's lines only change with its
status (a new view, a failure, a reload), so each prefix keeps its lines per family and a scrape
joins them. The config's per-prefix `labels` are on `radar_monitor_prefix_info` only: they may
differ between prefixes and change on reload, which would churn the other series; join on
`prefix` in PromQL instead. `rpki_status` has one series per origin, for its current status: the
other statuses' zeros said nothing the one series does not.

A new per-prefix series is one entry in `PER_PREFIX`; if it reads a status field no line read
before, that field goes into `_inputs` too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client.utils import floatToGoString

from monitor.core.measures import expected_visibility
from monitor.core.observation import OriginView, PrefixView, RpkiStatus
from monitor.settings import PrefixConfig
from monitor.state import MonitorState, PrefixStatus

INFO = (
    "radar_monitor_prefix_info",
    "1 for each watched prefix, labelled with its description, expected origins and config labels.",
)
#: Config label names that would shadow `prefix_info`'s own labels: exported as `label_<name>`.
OWN_LABELS = ("prefix", "description", "origins")


def _expected_ratio(status: PrefixStatus, view: PrefixView) -> float:
    return expected_visibility(status.watch.target, view)[0]


def _data_time(status: PrefixStatus, view: PrefixView) -> float | None:
    return view.data_time.timestamp() if view.data_time else None


#: The `{prefix}` gauges: name, help, whether the value reads only the watch and the view's
#: origins (then a new view with the same origins keeps it), and the value from a status and its
#: view (None: no line). Those reading the view have no line before the first answer.
PER_PREFIX: tuple[
    tuple[str, str, bool, Callable[[PrefixStatus, PrefixView | None], float | None]], ...
]
PER_PREFIX = (
    (
        "radar_monitor_prefix_expected_visibility_ratio",
        "Share of peers that see the prefix through its expected origins (0-1).",
        True,
        lambda s, v: _expected_ratio(s, v) if v else None,
    ),
    (
        "radar_monitor_prefix_peers",
        "Collector peers that could have seen the prefix (the largest count of any origin).",
        True,
        lambda s, v: v.total_peers if v else None,
    ),
    (
        "radar_monitor_prefix_origins",
        "Origin ASes announcing the prefix (more than 1: a MOAS or a hijack).",
        True,
        lambda s, v: len({o.origin for o in v.origins}) if v else None,
    ),
    (
        "radar_monitor_prefix_routes",
        "Routes to the prefix in the latest answer, over all collectors.",
        False,
        lambda s, v: s.routes if v else None,
    ),
    (
        "radar_monitor_prefix_data_timestamp_seconds",
        "Unix time of the routing data in the latest answer (Radar's data_time).",
        False,
        lambda s, v: _data_time(s, v) if v else None,
    ),
    (
        "radar_monitor_prefix_last_success_timestamp_seconds",
        "Unix time of the last successful fetch for the prefix.",
        False,
        lambda s, v: s.last_success,
    ),
    (
        "radar_monitor_prefix_fetch_failures",
        "Consecutive failed fetches for the prefix (0 after a success).",
        False,
        lambda s, v: s.failures,
    ),
)
#: The `{origin,prefix}` gauges of a prefix that is not clean: name, help, and the extra labels
#: and value of one origin of a watch.
PER_ORIGIN: tuple[tuple[str, str, Callable[[OriginView, PrefixConfig], tuple[str, float]]], ...]
PER_ORIGIN = (
    (
        "radar_monitor_prefix_visibility_ratio",
        "Share of collector peers that see the prefix through this origin AS (0-1).",
        lambda o, w: ("", o.visibility),
    ),
    (
        "radar_monitor_prefix_visible_peers",
        "Collector peers that see the prefix through this origin AS.",
        lambda o, w: ("", o.visible_peers),
    ),
    (
        "radar_monitor_prefix_total_peers",
        "Collector peers that could have seen the prefix, as counted for this origin AS.",
        lambda o, w: ("", o.total_peers),
    ),
    (
        "radar_monitor_prefix_rpki_status",
        "RPKI validation of the prefix-origin pair: 1, labelled with its current status.",
        lambda o, w: (f',status="{o.rpki.value}"', 1),
    ),
    (
        "radar_monitor_prefix_origin_expected",
        "1 if the origin AS is configured for the prefix, 0 if unexpected.",
        lambda o, w: ("", 1 if o.origin in w.origins else 0),
    ),
)
FAMILIES = (INFO, *((n, h) for n, h, _, _ in PER_PREFIX), *((n, h) for n, h, _ in PER_ORIGIN))
HEADERS = tuple(f"# HELP {name} {doc}\n# TYPE {name} gauge\n".encode() for name, doc in FAMILIES)
#: Prefixes per block of lines: a few KiB of text, recompressed only when one of its lines changes.
BLOCK = 128


def _inputs(status: PrefixStatus) -> tuple[object, ...]:
    """What a prefix's lines are made of (views and watches are immutable)."""
    return (status.watch, status.view, status.last_success, status.failures, status.routes)


@dataclass(frozen=True, slots=True)
class _Rendered:
    """One prefix's lines per family, and what they were rendered from."""

    inputs: tuple[object, ...]
    label_names: tuple[str, ...]
    #: The `PER_PREFIX` values the lines show.
    values: tuple[float | None, ...]
    lines: tuple[str, ...]


class PrefixLines:
    """The per-prefix families of the states it renders, as parts that stay the same objects
    while their lines do (one renderer at a time: not shared).

    The parts are each family's header and its lines in blocks of `BLOCK` prefixes: a scrape
    joins again only the blocks with a changed line, and `GzipParts` compresses only those.
    """

    def __init__(self) -> None:
        self._cache: dict[str, _Rendered] = {}
        #: The prefixes, in order, that `_blocks` were joined for.
        self._order: list[str] = []
        #: Per family, per block of `BLOCK` prefixes: their lines, encoded.
        self._blocks: list[list[bytes]] = [[] for _ in FAMILIES]

    def render(self, state: MonitorState) -> list[bytes]:
        """Every per-prefix family of `state`: its header, then its blocks of lines."""
        names = tuple(sorted({k for s in state.prefixes.values() for k in s.watch.labels}))
        cache = self._cache
        order = list(state.prefixes)
        relayout = order != self._order
        dirty: set[tuple[int, int]] = set()
        for k, (prefix, status) in enumerate(state.prefixes.items()):
            entry = cache.get(prefix)
            inputs = _inputs(status)
            if entry is not None and entry.inputs == inputs and entry.label_names == names:
                continue
            rendered = _render(prefix, status, inputs, names, entry)
            if entry is not None and not relayout:
                block = k // BLOCK
                for i, (old, line) in enumerate(zip(entry.lines, rendered.lines, strict=True)):
                    if old is not line and old != line:
                        dirty.add((i, block))
            cache[prefix] = rendered
        if len(cache) > len(order):
            for gone in cache.keys() - state.prefixes.keys():
                del cache[gone]
        if relayout:
            self._order = order
            count = -(-len(order) // BLOCK)
            self._blocks = [[b""] * count for _ in FAMILIES]
            dirty = {(i, b) for i in range(len(FAMILIES)) for b in range(count)}
        for i, block in dirty:
            chunk = order[block * BLOCK : (block + 1) * BLOCK]
            self._blocks[i][block] = "".join(cache[p].lines[i] for p in chunk).encode()
        parts: list[bytes] = []
        for header, family in zip(HEADERS, self._blocks, strict=True):
            parts.append(header)
            parts.extend(family)
        return parts


def clean(watch: PrefixConfig, view: PrefixView) -> bool:
    """Whether the watch's one expected origin is all Radar sees, RPKI valid (see above)."""
    return (
        len(watch.origins) == 1
        and bool(view.origins)
        and all(o.origin in watch.origins and o.rpki is RpkiStatus.VALID for o in view.origins)
    )


def _render(
    prefix: str,
    status: PrefixStatus,
    inputs: tuple[object, ...],
    names: tuple[str, ...],
    old: _Rendered | None,
) -> _Rendered:
    """One prefix's lines for each of `FAMILIES`, in the text format generate_latest writes,
    reusing from `old` every line whose inputs did not change.

    A snapshot round or a poll of a quiet prefix gives a new view with the same origins, so
    mostly only the two timestamps need formatting again: at 10,000 prefixes that is the
    difference between a scrape after a snapshot round taking 270 ms or a fraction of it.
    """
    watch, view = status.watch, status.view
    # `is` first: a dataclass's == compares every field even of the same object.
    same_watch = (
        old is not None
        and old.label_names == names
        and (old.inputs[0] is watch or old.inputs[0] == watch)
    )
    info = old.lines[0] if old is not None and same_watch else _info_line(prefix, watch, names)
    old_view = old.inputs[1] if old is not None else None
    same = same_watch and (old_view is view or _same_origins(old_view, view))
    p = f'prefix="{_escape(prefix)}"'
    values: list[float | None] = []
    lines = [info]
    for k, (name, _, of_origins, value) in enumerate(PER_PREFIX):
        if old is not None and same and of_origins:
            values.append(old.values[k])
            lines.append(old.lines[1 + k])
            continue
        number = value(status, view)
        values.append(number)
        if old is not None and old.values[k] == number:
            lines.append(old.lines[1 + k])
        else:
            lines.append("" if number is None else f"{name}{{{p}}} {_num(number)}\n")
    if old is not None and same:
        lines.extend(old.lines[1 + len(PER_PREFIX) :])
    else:
        lines.extend(_origin_lines(p, watch, view))
    return _Rendered(inputs, names, tuple(values), tuple(lines))


def _same_origins(old: object, new: PrefixView | None) -> bool:
    """Whether two views show the same origins (what the per-origin lines are made of)."""
    return isinstance(old, PrefixView) and new is not None and old.origins == new.origins


def _info_line(prefix: str, watch: PrefixConfig, names: tuple[str, ...]) -> str:
    """The prefix's `prefix_info` line."""
    # A config label may not shadow the series' own labels (or Prometheus' reserved ones).
    info = {
        "prefix": prefix,
        "description": watch.description,
        "origins": ",".join(str(asn) for asn in sorted(watch.origins)),
    }
    for n in names:
        exported = f"label_{n}" if n in OWN_LABELS or n.startswith("__") else n
        info[exported] = watch.labels.get(n, "")
    return f"{INFO[0]}{_labels(info)} 1.0\n"


def _origin_lines(p: str, watch: PrefixConfig, view: PrefixView | None) -> list[str]:
    """The prefix's lines of each `PER_ORIGIN` family (`p` its `prefix` label): none if clean."""
    per_origin: list[list[str]] = [[] for _ in PER_ORIGIN]
    if view is not None and not clean(watch, view):
        seen: set[int] = set()
        for o in view.origins:
            # A malformed answer listing an origin twice must not produce duplicate series,
            # which would make Prometheus reject the whole scrape.
            if o.origin in seen:
                continue
            seen.add(o.origin)
            for lines, (name, _, sample) in zip(per_origin, PER_ORIGIN, strict=True):
                extra, number = sample(o, watch)
                lines.append(f'{name}{{origin="{o.origin}",{p}{extra}}} {_num(number)}\n')
    return ["".join(lines) for lines in per_origin]


def _labels(labels: dict[str, str]) -> str:
    """`{k="v",...}` sorted by name, as prometheus_client writes them."""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items())) + "}"


def _escape(value: str) -> str:
    """A label value escaped for the text format."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _num(value: float) -> str:
    """A sample value exactly as prometheus_client's floatToGoString formats it (`990.0`,
    `1.79586717e+09`), in a third of its time for the counts, ratios and unix times that are
    most of the lines."""
    number = float(value)
    text = repr(number)
    if 0 <= number < 1_000_000:
        return text  # floatToGoString's answer too: it writes exponents from 1e6 up
    dot = text.find(".")
    if number > 0 and dot > 6:  # not inf or nan, which have no dot
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1 :]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    go: str = floatToGoString(number)  # type: ignore[no-untyped-call]
    return go
