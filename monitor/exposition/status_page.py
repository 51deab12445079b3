"""The human status page: the stream, Radar's detectors, daemon problems and alerts (what to act
on) first, then every prefix.

Everything shown may come from a source, the config or an error message: all of it is escaped.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from monitor import __version__
from monitor.core.lifecycle import Alert, AlertState
from monitor.core.measures import (
    address_key,
    counted,
    duration,
    expected_visibility,
    percent,
    prefix_links,
    utc_text,
)
from monitor.settings import Tier
from monitor.state import (
    AsSyncStatus,
    EventsPollStats,
    MonitorState,
    PrefixStatus,
    SnapshotStats,
    StreamStats,
)


def _e(value: object) -> str:
    """Text for HTML."""
    return html.escape(str(value))


def _ago(then: datetime | float | None, now: datetime) -> str:
    if then is None:
        return "never"
    if isinstance(then, float):
        then = datetime.fromtimestamp(then, UTC)
    # Clamped: a source clock slightly ahead of ours is not worth a negative age.
    return f"{duration(max((now - then).total_seconds(), 0.0))} ago"


def _table(headers: Iterable[str], rows: Iterable[str], empty: str) -> str:
    """A table of pre-rendered `<tr>` rows, or a line saying `empty`."""
    body = "".join(rows)
    if not body:
        return f"<p>{_e(empty)}</p>"
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _summary(active: Sequence[Alert]) -> str:
    """One coloured line: how many alerts fire, by severity, or that all is well."""
    firing = [a for a in active if a.state is AlertState.FIRING]
    if not firing:
        return '<p class="summary ok">No alerts firing.</p>'
    counts = Counter(a.finding.severity.value for a in firing)
    parts = ", ".join(f"{counts[s]} {s}" for s in ("critical", "warning", "info") if counts[s])
    worst = "critical" if counts["critical"] else "warning"
    return f'<p class="summary {worst}">{len(firing)} firing: {_e(parts)}</p>'


def _stream_line(stats: StreamStats, now: datetime) -> str:
    """The RIS Live stream in one line: whether detection in seconds is working, and its load."""
    if stats.connected:
        link = '<span class="good">connected</span>'
    else:
        link = f'<span class="bad">down</span> ({_e(stats.down_reason or "disconnected")})'
    if stats.last_canary is None:
        beacon = "no beacon seen yet"
    else:
        beacon = f"last beacon {_e(_ago(stats.last_canary, now))}"
    dropped = f"{stats.confirms_dropped} dropped"
    if stats.confirms_dropped:  # the budget share is spent: Radar confirms at the next poll
        dropped = f'<span class="bad">{dropped}</span>'
    parts = [
        link,
        f"{stats.updates} updates applied",
        beacon,
        f"confirming fetches {stats.confirms_done} done, {dropped}",
        f"{stats.more_specifics} more-specifics tracked",
    ]
    if stats.routes_refused:  # the RIB is full: what RIS peers see is no longer all kept
        parts.append(f'<span class="bad">{stats.routes_refused} routes refused</span>')
    return f'<p class="stream">RIS Live stream: {"; ".join(parts)}.</p>'


def _events_line(events: Mapping[str, EventsPollStats], now: datetime) -> str:
    """Radar's detectors in one line: how many ASes each asks about, and whether it can."""
    parts = []
    for kind, stats in sorted(events.items()):
        ases = counted(stats.ases, "AS", "ASes")
        if stats.failures:
            rounds = f"failing {stats.failures} rounds in a row"
            state = f'<span class="bad">{rounds}</span> ({_e(stats.error or "")})'
        elif stats.last_success is None:
            state = "not polled yet"
        else:
            state = f'<span class="good">ok</span>, last round {_e(_ago(stats.last_success, now))}'
        parts.append(f"{_e(kind)}s of {ases}: {state}")
    return f'<p class="events">Radar\'s detectors: {"; ".join(parts)}.</p>' if parts else ""


def _synced_line(synced: Mapping[int, AsSyncStatus], now: datetime) -> str:
    """The `asns:` syncs in one line: each AS's prefixes, last sync and its outcome."""
    parts = []
    for asn, status in sorted(synced.items()):
        if status.last_sync is None:
            continue
        if status.ok:
            outcome = '<span class="good">ok</span>'
        else:
            outcome = f'<span class="bad">failed</span> ({_e(status.error or "")})'
        count = counted(len(status.prefixes), "prefix", "prefixes")
        parts.append(f"AS{asn}: {count}, last sync {_e(_ago(status.last_sync, now))}: {outcome}")
    return f'<p class="synced">Synced ASes: {"; ".join(parts)}.</p>' if parts else ""


def _snapshot_line(stats: SnapshotStats | None, tiers: Counter[Tier], now: datetime) -> str:
    """The snapshot tier in one line: its prefixes and ASes, the last read and its outcome."""
    if stats is None:
        return ""
    if stats.error is None:
        outcome = '<span class="good">ok</span>'
    else:
        outcome = f'<span class="bad">failed</span> ({_e(stats.error)})'
    taken = f"; Radar's snapshot taken {_e(_ago(stats.data_time, now))}" if stats.data_time else ""
    snapshot = counted(tiers[Tier.SNAPSHOT], "prefix", "prefixes")
    realtime = counted(tiers[Tier.REALTIME], "prefix", "prefixes")
    return (
        f'<p class="snapshots">Snapshot tier: {snapshot} of {counted(stats.ases, "AS", "ASes")}, '
        f"last read {_e(_ago(stats.last_success, now))}: {outcome}{taken}; realtime tier: "
        f"{realtime}.</p>"
    )


def _fetched(status: PrefixStatus, state: MonitorState) -> str:
    """How often the prefix is fetched under the plan, and from which tier."""
    interval = state.fetch_interval(status.watch)
    stretched = state.plan is not None and state.plan.stretched
    note = " (stretched)" if stretched and status.watch.tier is Tier.REALTIME else ""
    return f"every {_e(duration(interval))}{note}<br>{_e(status.watch.tier.value)}"


def _prefix_row(status: PrefixStatus, state: MonitorState, now: datetime, worst: str | None) -> str:
    watch = status.watch
    if status.error is not None:
        health = f'<span class="bad">error</span> {_e(status.error)}'
    elif status.view is None:
        health = "waiting"
    else:
        health = '<span class="good">ok</span>'
    view = status.view
    if view is None:
        visibility, origins, age = "-", "-", "-"
    else:
        # A more-specific's visibility is nobody's outage (it is not judged either).
        seen = percent(expected_visibility(watch.target, view)[0])
        visibility = "-" if watch.parent is not None else _e(seen)
        items = []
        for o in view.origins:
            # Without configured origins there is nothing to compare against (as in the rules).
            unexpected = watch.origins and o.origin not in watch.origins
            mark = ' <span class="bad">unexpected</span>' if unexpected else ""
            items.append(
                f'<li>AS{_e(o.origin)} <span class="asname">{_e(view.as_name(o.origin))}</span>'
                f' <span class="rpki-{_e(o.rpki.value)}">RPKI {_e(o.rpki.value)}</span>'
                f" {_e(percent(o.visibility))} ({_e(o.visible_peers)}/{_e(o.total_peers)})"
                f"{mark}</li>"
            )
        origins = f"<ul>{''.join(items)}</ul>" if items else "seen by no peer"
        age = _e(_ago(view.data_time, now)) if view.data_time else "unknown"
    row_class = f' class="p-{_e(worst)}"' if worst else ""
    links = " · ".join(
        f'<a href="{_e(url)}" rel="noreferrer">{_e(site)}</a>'
        for site, url in prefix_links(watch.prefix)
    )
    name = _e(watch.prefix)
    if watch.parent is not None:
        # A temporary watch: someone's more-specific inside ours, until nobody shows it.
        name = f'↳ {name} <span class="asname">more-specific of {_e(watch.parent)}</span>'
    return (
        f'<tr{row_class}><td class="nowrap">{name}<br><span class="links">{links}'
        f"</span></td><td>{_e(watch.description)}</td>"
        f"<td>{health}</td><td>{visibility}</td><td>{origins}</td>"
        f'<td class="nowrap">{age}</td><td class="nowrap">{_fetched(status, state)}</td></tr>'
    )


def _alert_row(alert: Alert, now: datetime) -> str:
    f = alert.finding
    since = alert.fired_at or alert.started_at
    if f.origin is not None:
        subject = f"AS{f.origin}"
    elif f.upstream is not None:
        subject = f"upstream AS{f.upstream}"
    else:
        subject = f.subject or "-"
    return (
        f'<tr class="{_e(f.severity.value)}"><td>{_e(f.severity.value)}</td>'
        f'<td>{_e(alert.state.value)}</td><td class="nowrap">{_e(f.rule)}</td>'
        f'<td class="nowrap">{_e(f.prefix or "-")}</td><td class="nowrap">{_e(subject)}</td>'
        f'<td class="nowrap">{_e(utc_text(since))}'
        f" ({_e(_ago(since, now))})</td>"
        f"<td>{_e(f.message)}</td><td>{'yes' if alert.silenced else 'no'}</td></tr>"
    )


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
ul { margin: 0; padding-left: 1.2em; }
.good { color: #197a19; } .bad, .rpki-invalid { color: #b00020; font-weight: bold; }
.rpki-valid { color: #197a19; } .rpki-unknown { color: #777; }
tr.critical td:first-child { background: #fdd; color: #b00020; font-weight: bold; }
tr.warning td:first-child { background: #ffc; color: #7a5b00; font-weight: bold; }
tr.p-critical td { background: #fff0f0; }
tr.p-critical td:first-child { border-left: 4px solid #b00020; }
tr.p-warning td { background: #fffbe6; }
tr.p-warning td:first-child { border-left: 4px solid #c99a00; }
tr.p-pending td { background: #f4f6fb; }
tr.p-pending td:first-child { border-left: 4px solid #7a8bb0; }
.links { font-size: 0.8em; } .instance { color: #777; font-weight: normal; font-size: 0.6em; }
td.nowrap, th { white-space: nowrap; } td { font-variant-numeric: tabular-nums; }
.asname { color: #555; }
.summary { padding: 0.5em 1em; border-radius: 4px; font-weight: bold; display: inline-block; }
.summary.critical { background: #fdd; color: #b00020; } .summary.warning { background: #ffc; }
.summary.ok { background: #e6f4e6; color: #197a19; }
.problem { color: #b00020; }
"""


def _with_more_specifics(state: MonitorState) -> list[PrefixStatus]:
    """Every watched prefix, each followed by the more-specifics the stream found in it."""
    under: dict[str, list[PrefixStatus]] = {}
    for status in state.more_specifics.values():
        under.setdefault(status.watch.parent or "", []).append(status)
    rows = []
    for status in state.prefixes.values():
        rows.append(status)
        rows += sorted(
            under.get(status.watch.prefix, []), key=lambda s: address_key(s.watch.prefix)
        )
    return rows


def status_page(state: MonitorState, now: datetime) -> str:
    """The whole page: daemon problems, alerts (what to act on) first, then every prefix."""
    problems = []
    if state.auth_error:
        problems.append(f"Authentication failed: {state.auth_error}")
    if state.store_error:
        problems.append(f"State database unavailable: {state.store_error}")
    if not state.reload_ok:
        problems.append("The last configuration reload was rejected; the previous one is in use.")
    for b in state.outbox.backlogs().values():
        problems.append(
            f"Channel {b.channel} is failing: {b.queued} notifications queued since "
            f"{utc_text(datetime.fromtimestamp(b.since, UTC))}; last error: {b.error}"
        )
    active = state.active_alerts()
    worst: dict[str, str] = {}
    for a in active:  # most severe first, so the first one seen per prefix wins
        if a.state is AlertState.FIRING and a.finding.prefix:
            worst.setdefault(a.finding.prefix, a.finding.severity.value)
    for a in active:  # a pending alert tints a prefix that has nothing firing
        if a.state is AlertState.PENDING and a.finding.prefix:
            worst.setdefault(a.finding.prefix, "pending")
    alerts = _table(
        ["severity", "state", "rule", "prefix", "subject", "since", "message", "silenced"],
        (_alert_row(a, now) for a in active),
        "No pending or firing alerts.",
    )
    prefixes = _table(
        ["prefix", "description", "data", "expected visibility", "origins", "data age", "fetched"],
        (
            _prefix_row(s, state, now, worst.get(s.watch.prefix))
            for s in _with_more_specifics(state)
        ),
        "No prefixes configured.",
    )
    notices = "".join(f'<p class="problem">{_e(p)}</p>' for p in problems)
    summary = _summary(active)
    last_cycle = _ago(state.last_cycle_completed, now)
    instance = _e(state.config.http.instance)
    stream = "" if state.stream is None else _stream_line(state.stream, now)
    stream += _events_line(state.events, now) + _synced_line(state.synced, now)
    tiers = Counter(s.watch.tier for s in state.prefixes.values())
    stream += _snapshot_line(state.snapshots, tiers, now)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="30">
<meta name="viewport" content="width=device-width">
<title>radar-monitor on {instance}</title><style>{_STYLE}</style></head>
<body><h1>radar-monitor <span class="instance">on {instance}</span></h1>
<p>Version {_e(__version__)}; last cycle {_e(last_cycle)}; polling every
{_e(f"{state.effective_interval:g}")}s; {_e(len(state.outbox))} notifications queued.</p>
{stream}{summary}{notices}
<h2>Alerts</h2>{alerts}
<h2>Prefixes</h2>{prefixes}
</body></html>
"""
