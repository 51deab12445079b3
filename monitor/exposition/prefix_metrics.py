"""The per-prefix families as exposition text, re-rendered only for prefixes that changed.

        radar_monitor_prefix_info{description="anycast DNS",prefix="1.1.1.0/24",team="edge"} 1.0
        radar_monitor_prefix_visibility_ratio{origin="13335",prefix="1.1.1.0/24"} 0.99
        radar_monitor_prefix_visible_peers{origin="13335",prefix="1.1.1.0/24"} 990.0
        radar_monitor_prefix_total_peers{origin="13335",prefix="1.1.1.0/24"} 1000.0
        radar_monitor_prefix_expected_visibility_ratio{prefix="1.1.1.0/24"} 0.99
        radar_monitor_prefix_rpki_status{origin="13335",prefix="1.1.1.0/24",status="valid"} 1.0
        radar_monitor_prefix_origin_expected{origin="13335",prefix="1.1.1.0/24"} 1.0
        radar_monitor_prefix_routes{prefix="1.1.1.0/24"} 1234.0
        radar_monitor_prefix_data_timestamp_seconds{prefix="1.1.1.0/24"} 1.79586717e+09
        radar_monitor_prefix_last_success_timestamp_seconds{prefix="1.1.1.0/24"} 1.7958672e+09
        radar_monitor_prefix_fetch_failures{prefix="1.1.1.0/24"} 0.0

10,000 prefixes are some 100,000 lines; formatting them through prometheus_client at every scrape
took a second and a hundred MiB of short-lived samples. A prefix's lines only change with its
status (a new view, a failure, a reload), so each prefix keeps its lines per family and a scrape
joins them. The config's per-prefix `labels` are on `radar_monitor_prefix_info` only: they may
differ between prefixes and change on reload, which would churn the other series; join on
`prefix` in PromQL instead. `rpki_status` has one series per origin, for its current status: the
other statuses' zeros said nothing the one series does not.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.utils import floatToGoString

from monitor.core.measures import expected_visibility
from monitor.core.observation import PrefixView
from monitor.settings import PrefixConfig
from monitor.state import MonitorState, PrefixStatus

#: (name, help) in the order of each prefix's fragments.
FAMILIES = (
    (
        "radar_monitor_prefix_info",
        "1 for each watched prefix, labelled with its description and config labels.",
    ),
    (
        "radar_monitor_prefix_visibility_ratio",
        "Share of collector peers that see the prefix through this origin AS (0-1).",
    ),
    (
        "radar_monitor_prefix_visible_peers",
        "Collector peers that see the prefix through this origin AS.",
    ),
    (
        "radar_monitor_prefix_total_peers",
        "Collector peers that could have seen the prefix, as counted for this origin AS.",
    ),
    (
        "radar_monitor_prefix_expected_visibility_ratio",
        "Share of peers that see the prefix through its expected origins (0-1).",
    ),
    (
        "radar_monitor_prefix_rpki_status",
        "RPKI validation of the prefix-origin pair: 1, labelled with its current status.",
    ),
    (
        "radar_monitor_prefix_origin_expected",
        "1 if the origin AS is configured for the prefix, 0 if unexpected.",
    ),
    (
        "radar_monitor_prefix_routes",
        "Routes to the prefix in the latest answer, over all collectors.",
    ),
    (
        "radar_monitor_prefix_data_timestamp_seconds",
        "Unix time of the routing data in the latest answer (Radar's data_time).",
    ),
    (
        "radar_monitor_prefix_last_success_timestamp_seconds",
        "Unix time of the last successful fetch for the prefix.",
    ),
    (
        "radar_monitor_prefix_fetch_failures",
        "Consecutive failed fetches for the prefix (0 after a success).",
    ),
)
HEADERS = tuple(f"# HELP {name} {doc}\n# TYPE {name} gauge\n" for name, doc in FAMILIES)
INFO, VISIBILITY, VISIBLE, TOTAL, EXPECTED_RATIO, RPKI, EXPECTED, ROUTES = range(8)
DATA_TS, SUCCESS_TS, FAILURES = range(8, 11)


@dataclass(frozen=True)
class _Rendered:
    """One prefix's lines per family, and what they were rendered from."""

    watch: PrefixConfig
    view: PrefixView | None
    last_success: float | None
    failures: int
    routes: int
    label_names: tuple[str, ...]
    lines: tuple[str, ...]

    def fresh(self, status: PrefixStatus, label_names: tuple[str, ...]) -> bool:
        """Whether `status` would render the same lines (views and watches are immutable)."""
        return (
            self.view is status.view
            and self.watch is status.watch
            and self.last_success == status.last_success
            and self.failures == status.failures
            and self.routes == status.routes
            and self.label_names == label_names
        )


class PrefixLines:
    """The per-prefix families of the states it renders (one renderer at a time: not shared)."""

    def __init__(self) -> None:
        self._cache: dict[str, _Rendered] = {}

    def render(self, state: MonitorState) -> str:
        """Every per-prefix family of `state`, each a header and its lines."""
        names = tuple(sorted({k for s in state.prefixes.values() for k in s.watch.labels}))
        cache = self._cache
        rendered: list[tuple[str, ...]] = []
        for prefix, status in state.prefixes.items():
            entry = cache.get(prefix)
            if entry is None or not entry.fresh(status, names):
                entry = _Rendered(
                    status.watch,
                    status.view,
                    status.last_success,
                    status.failures,
                    status.routes,
                    names,
                    _lines(prefix, status, names),
                )
                cache[prefix] = entry
            rendered.append(entry.lines)
        if len(cache) > len(state.prefixes):
            for gone in cache.keys() - state.prefixes.keys():
                del cache[gone]
        return "".join(
            HEADERS[i] + "".join(lines[i] for lines in rendered) for i in range(len(FAMILIES))
        )


def _lines(prefix: str, status: PrefixStatus, names: tuple[str, ...]) -> tuple[str, ...]:
    """One prefix's lines for each of `FAMILIES`, in the text format generate_latest writes."""
    out = [""] * len(FAMILIES)
    watch = status.watch
    # A config label may not shadow the series' own labels (or Prometheus' reserved ones).
    info = {"prefix": prefix, "description": watch.description}
    for n in names:
        exported = f"label_{n}" if n in ("prefix", "description") or n.startswith("__") else n
        info[exported] = watch.labels.get(n, "")
    out[INFO] = f"radar_monitor_prefix_info{_labels(info)} 1.0\n"
    p = f'prefix="{_escape(prefix)}"'
    out[FAILURES] = f"radar_monitor_prefix_fetch_failures{{{p}}} {_num(status.failures)}\n"
    if status.last_success is not None:
        out[SUCCESS_TS] = (
            f"radar_monitor_prefix_last_success_timestamp_seconds{{{p}}}"
            f" {_num(status.last_success)}\n"
        )
    view = status.view
    if view is None:
        return tuple(out)
    ratio = expected_visibility(watch.target, view)[0]
    out[EXPECTED_RATIO] = f"radar_monitor_prefix_expected_visibility_ratio{{{p}}} {_num(ratio)}\n"
    out[ROUTES] = f"radar_monitor_prefix_routes{{{p}}} {_num(status.routes)}\n"
    if view.data_time is not None:
        out[DATA_TS] = (
            f"radar_monitor_prefix_data_timestamp_seconds{{{p}}}"
            f" {_num(view.data_time.timestamp())}\n"
        )
    per_origin: list[list[str]] = [[] for _ in FAMILIES]
    seen: set[int] = set()
    for o in view.origins:
        # A malformed answer listing an origin twice must not produce duplicate series,
        # which would make Prometheus reject the whole scrape.
        if o.origin in seen:
            continue
        seen.add(o.origin)
        labels = f'{{origin="{o.origin}",{p}}}'
        per_origin[VISIBILITY].append(
            f"radar_monitor_prefix_visibility_ratio{labels} {_num(o.visibility)}\n"
        )
        per_origin[VISIBLE].append(
            f"radar_monitor_prefix_visible_peers{labels} {_num(o.visible_peers)}\n"
        )
        per_origin[TOTAL].append(
            f"radar_monitor_prefix_total_peers{labels} {_num(o.total_peers)}\n"
        )
        per_origin[RPKI].append(
            f'radar_monitor_prefix_rpki_status{{origin="{o.origin}",{p},status="{o.rpki.value}"}}'
            " 1.0\n"
        )
        expected = 1 if o.origin in watch.origins else 0
        per_origin[EXPECTED].append(f"radar_monitor_prefix_origin_expected{labels} {expected}.0\n")
    for i in (VISIBILITY, VISIBLE, TOTAL, RPKI, EXPECTED):
        out[i] = "".join(per_origin[i])
    return tuple(out)


def _labels(labels: dict[str, str]) -> str:
    """`{k="v",...}` sorted by name, as prometheus_client writes them."""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items())) + "}"


def _escape(value: str) -> str:
    """A label value escaped for the text format."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _num(value: float) -> str:
    """A sample value exactly as prometheus_client formats it (`990.0`, `1.79586717e+09`)."""
    text: str = floatToGoString(value)  # type: ignore[no-untyped-call]
    return text
