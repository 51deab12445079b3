"""Renders check results and single-prefix answers as tables, JSON or CSV for terminals."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from monitor.core.evidence import origin_evidence
from monitor.core.measures import duration, expected_visibility, percent, to_jsonable
from monitor.core.observation import PrefixView
from monitor.core.target import Target
from monitor.once import CheckResult, PrefixOutcome
from monitor.settings import Config


def describe_channels(config: Config) -> list[str]:
    """`check`'s lines about the channels: name, type and what routes to each (never the URL)."""
    channels = config.notifications.channels
    lines = [f"channels: {len(channels)}"]
    for c in channels:
        routing = [
            "severities " + ", ".join(sorted(c.severities)) if c.severities else "",
            "rules " + ", ".join(sorted(c.rules)) if c.rules else "",
            "labels " + ", ".join(f"{k}={v}" for k, v in sorted(c.labels.items()))
            if c.labels
            else "",
        ]
        shown = "; ".join(r for r in routing if r) or "every alert"
        lines.append(f"  {c.name} ({c.type}): {shown}")
    return lines


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain left-aligned text table."""
    cells = [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def origins_json(view: PrefixView, expected: frozenset[int] | None) -> list[dict[str, Any]]:
    """Each origin with AS name, RPKI status, peers and visibility, and (given `expected`)
    whether it is an expected origin."""
    rows = [asdict(o) for o in origin_evidence(view, expected or frozenset())]
    if expected is None:
        for row in rows:
            del row["expected"]
    return rows


def outcome_json(outcome: PrefixOutcome) -> dict[str, Any]:
    """A prefix's status, error and origins as `once --format json` prints them."""
    view = outcome.view
    expected = outcome.watch.origins
    return {
        "prefix": outcome.watch.prefix,
        "description": outcome.watch.description,
        "status": "ok" if view is not None else "error",
        "error": outcome.failure.message if outcome.failure is not None else None,
        "expected_origins": sorted(expected),
        "visibility": (
            expected_visibility(outcome.watch.target, view)[0] if view is not None else None
        ),
        "data_time": to_jsonable(view.data_time) if view is not None else None,
        "origins": origins_json(view, expected) if view is not None else [],
    }


def check_json(result: CheckResult) -> str:
    """The JSON document of `once --format json`."""
    doc = {
        "checked_at": to_jsonable(result.checked_at),
        "findings": [f.to_json() for f in result.findings],
        "prefixes": [outcome_json(o) for o in result.outcomes],
    }
    return json.dumps(doc, indent=2)


def check_table(result: CheckResult) -> str:
    """Findings first (what on-call must act on), then one line per prefix."""
    parts = []
    if result.findings:
        findings = sorted(result.findings, key=lambda f: (f.severity.rank, f.prefix or "", f.rule))
        parts.append(
            table(
                ["severity", "rule", "prefix", "subject", "message"],
                [
                    (f.severity, f.rule, f.prefix or "-", f.subject or "-", f.message)
                    for f in findings
                ],
            )
        )
    else:
        failed = sum(1 for o in result.outcomes if o.failure is not None)
        if failed:
            parts.append(
                f"No findings from the prefixes that answered, but {failed} of "
                f"{len(result.outcomes)} prefixes could not be fetched."
            )
        else:
            parts.append("No findings.")
    rows = []
    for o in result.outcomes:
        if o.view is None:
            rows.append((o.watch.prefix, "ERROR", "-", "-", o.failure.message if o.failure else ""))
            continue
        value = expected_visibility(o.watch.target, o.view)[0]
        origins = " ".join(
            f"AS{x.origin}:{x.rpki.value}{'' if x.origin in o.watch.origins else '(!)'}"
            for x in o.view.origins
        )
        rows.append((o.watch.prefix, "ok", percent(value), origins or "none", o.watch.description))
    parts.append(table(["prefix", "status", "visibility", "origins", "note"], rows))
    return "\n\n".join(parts)


def common_paths(view: PrefixView, limit: int = 10) -> list[tuple[tuple[int, ...], int, str]]:
    """The most common AS paths with how many routes carry them and one collector of each."""
    counts: Counter[tuple[int, ...]] = Counter(r.as_path for r in view.routes)
    first: dict[tuple[int, ...], str] = {}
    for r in view.routes:
        first.setdefault(r.as_path, r.collector)
    return [(path, n, first[path]) for path, n in counts.most_common(limit)]


def query_json(view: PrefixView, now: datetime) -> str:
    """`query --format json`: origins, collectors with ages, and common paths."""
    doc = {
        "prefix": view.prefix,
        "data_time": to_jsonable(view.data_time),
        "query_time": to_jsonable(view.query_time),
        "visibility": expected_visibility(Target(view.prefix, frozenset()), view)[0],
        "origins": origins_json(view, None),
        "collectors": [
            {
                "collector": c.name,
                "realtime": to_jsonable(c.realtime_ts),
                "updates": to_jsonable(c.updates_ts),
                "rib": to_jsonable(c.rib_ts),
                "realtime_age_seconds": (now - c.realtime_ts).total_seconds()
                if c.realtime_ts
                else None,
                "peers": c.peers,
            }
            for c in view.collectors
        ],
        "paths": [
            {"as_path": list(p), "routes": n, "collector": c} for p, n, c in common_paths(view)
        ],
    }
    return json.dumps(doc, indent=2)


def query_csv(view: PrefixView) -> str:
    """`query --format csv`: one row per origin, for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "prefix",
            "asn",
            "as_name",
            "country",
            "rpki",
            "visible_peers",
            "total_peers",
            "visibility",
        ]
    )
    for o in origins_json(view, None):
        writer.writerow(
            [
                view.prefix,
                o["asn"],
                o["as_name"],
                o["country"],
                o["rpki"],
                o["visible_peers"],
                o["total_peers"],
                f"{o['visibility']:.4f}",
            ]
        )
    return out.getvalue()


def query_table(view: PrefixView, now: datetime) -> str:
    """`query` for on-call: who originates the prefix, how fresh the collectors are, top paths."""
    origin_rows = [
        (
            f"AS{o['asn']}",
            o["as_name"],
            o["country"],
            o["rpki"],
            f"{o['visible_peers']}/{o['total_peers']}",
            percent(o["visibility"]),
        )
        for o in origins_json(view, None)
    ]
    ages = sorted(
        ((now - c.realtime_ts).total_seconds(), c.name) for c in view.collectors if c.realtime_ts
    )
    data_age = duration((now - view.data_time).total_seconds()) if view.data_time else "unknown"
    parts = [
        f"{view.prefix}: data {data_age} old, {len(view.routes)} routes "
        f"from {len(view.collectors)} collectors",
        table(["origin", "name", "country", "rpki", "peers", "visibility"], origin_rows)
        if origin_rows
        else "Seen by no peer (withdrawn or hidden).",
    ]
    if ages:
        parts.append(
            f"collector realtime age: freshest {duration(ages[0][0])} ({ages[0][1]}), "
            f"median {duration(ages[len(ages) // 2][0])}, "
            f"oldest {duration(ages[-1][0])} ({ages[-1][1]})"
        )
    paths = common_paths(view)
    if paths:
        parts.append(
            table(
                ["routes", "collector", "as path"],
                [(n, c, " ".join(map(str, p))) for p, n, c in paths],
            )
        )
    return "\n\n".join(parts)
