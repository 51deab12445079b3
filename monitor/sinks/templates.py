"""Notification text, all in one place: one title and plain-text body per group of events."""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.core.evidence import Evidence, OriginEvidence, StreamEvidence
from monitor.core.finding import Severity
from monitor.core.lifecycle import Alert, AlertEvent, EventKind
from monitor.core.measures import address_key, duration, percent, prefix_links, seen_by, utc_text
from monitor.sinks.parts import LINE_FLOOR, Limit, pack

#: Sample AS paths shown for a single alert.
PATH_SAMPLES = 3
#: Characters kept of one external string (AS name, description, message) in full detail.
FIELD_LIMIT = 300
#: Longest group title that still names every prefix, origin and rule (a phone push shows
#: about this much).
TITLE_LIMIT = 120
#: Characters kept of a finding message on a group line.
LINE_MESSAGE_LIMIT = 160

_KIND_RANK = {EventKind.FIRING: 0, EventKind.REPEAT: 1, EventKind.RESOLVED: 2}
_KIND_COUNT_LABEL = {
    EventKind.FIRING: "firing",
    EventKind.REPEAT: "still firing",
    EventKind.RESOLVED: "resolved",
}
# Look-alikes for the characters chat services parse as markup: `<!channel>`, `<@U123>`,
# `<http://evil|click>` need angle brackets, `[x](http://evil)` needs square brackets.
_DEFUSE = str.maketrans({"<": "\u2039", ">": "\u203a", "[": "\uff3b", "]": "\uff3d"})
_ZWJ = "\u200d"


def neutralise(text: str, limit: int = FIELD_LIMIT) -> str:
    """`text` from outside (AS names, descriptions, collectors, messages) made inert for chat.

    Mentions (`@here`, `<!channel>`, `<@U123>`) and links (`<url|text>`, `[text](url)`) are
    defused with look-alike characters and a zero-width joiner after `@`; control and format
    characters (newlines that would fake extra fields, bidi overrides) are removed, and the
    result is capped at `limit` characters so one hostile field cannot flood the message.
    """
    kept: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        if char in "\t\n\r" or category in ("Zl", "Zp"):
            kept.append(" ")
        elif category not in ("Cc", "Cf", "Cs", "Co", "Cn"):
            kept.append(char)
    clean = " ".join("".join(kept).split())
    if len(clean) > limit:
        clean = clean[: limit - 1].rstrip() + "…"
    return clean.translate(_DEFUSE).replace("@", "@" + _ZWJ)


#: Groups up to this size are shown in full detail; larger ones one line per alert.
FULL_DETAIL_MAX = 3


@dataclass(frozen=True, slots=True)
class Part:
    """One message of a group, and the events it tells about (indices into the group)."""

    title: str
    body: str
    events: tuple[int, ...]


def render(events: Sequence[AlertEvent]) -> tuple[str, str]:
    """(title, body) of one message that tells about all of `events`, whatever its length."""
    (part,) = render_parts(events)
    return part.title, part.body


def render_parts(events: Sequence[AlertEvent], limit: Limit | None = None) -> list[Part]:
    """The messages that tell a channel about `events`: one, unless a group's lines pass the
    channel's `limit`; then consecutive parts within it, titled `(1/3)`, `(2/3)`…"""
    if not events:
        raise ValueError("render() needs at least one event")
    everyone = tuple(range(len(events)))
    if len(events) == 1:
        return [Part(_single_title(events[0]), _single_body(events[0]), everyone)]
    title = _group_title(events)
    if len(events) <= FULL_DETAIL_MAX:
        # A few alerts at once (a hijack is usually rpki-invalid + unexpected-origin): every
        # one in full, since on-call acts on the details.
        body = "\n\n----\n\n".join(_single_body(e) for e in events)
        return [Part(title, body, everyone)]
    order = sorted(everyone, key=lambda i: _order(events[i]))
    head = _group_head(events)
    body = "\n".join([*head, *(_line(events[i], with_link=True) for i in order)])
    if limit is None or limit.measure(body) <= limit.budget(title, parts=False):
        return [Part(title, body, everyone)]
    # More than one message: without the link lines (the status page links every prefix),
    # which would add a third more messages.
    blocks = [(line, ()) for line in head] + [(_line(events[i]), (i,)) for i in order]
    budget = max(LINE_FLOOR, limit.budget(title, parts=True))
    chunks = pack(blocks, budget, limit.measure, lambda rest: _rest_line(events, rest))
    if len(chunks) == 1:
        return [Part(title, *chunks[0])]
    n = len(chunks)
    return [Part(f"{title} ({k}/{n})", text, told) for k, (text, told) in enumerate(chunks, 1)]


def _status(event: AlertEvent) -> str:
    """FIRING, REPEAT (firing for 4h) or RESOLVED after 1h2m."""
    if event.kind is EventKind.RESOLVED:
        return f"RESOLVED after {duration(event.duration)}"
    if event.kind is EventKind.REPEAT:
        return f"REPEAT (firing for {duration(event.duration)})"
    return "FIRING"


def _subject(alert: Alert, with_name: bool) -> str:
    """`AS666`, `AS666 EVIL-NET`, `upstream AS174` or the collector name; empty for the prefix
    itself."""
    finding = alert.finding
    if finding.origin is not None:
        name = alert.evidence.origin(finding.origin) if alert.evidence else None
        if with_name and name is not None and name.as_name:
            return f"AS{finding.origin} {neutralise(name.as_name, 60)}"
        return f"AS{finding.origin}"
    if finding.upstream is not None:
        return f"upstream AS{finding.upstream}"
    return neutralise(finding.collector or "", 60)


def _what(alert: Alert, with_name: bool = False) -> str:
    """`unexpected-origin 192.0.2.0/24 (AS666)`: the rule and what it is about."""
    finding = alert.finding
    parts = [neutralise(finding.rule, 80)]
    if finding.prefix:
        parts.append(neutralise(finding.prefix, 60))
    subject = _subject(alert, with_name)
    if subject:
        parts.append(f"({subject})" if finding.prefix else subject)
    return " ".join(parts)


def _single_title(event: AlertEvent) -> str:
    """`[CRITICAL] FIRING: unexpected-origin 192.0.2.0/24 (AS666)`."""
    severity = event.alert.finding.severity.value.upper()
    kind = event.kind.value.upper()
    return f"[{severity}] {kind}: {_what(event.alert)}"


def _single_body(event: AlertEvent) -> str:
    """Everything on-call needs to act on one alert without opening another tool first."""
    alert = event.alert
    finding = alert.finding
    evidence = alert.evidence
    lines = [f"{_status(event)}: {_what(alert, with_name=True)}"]
    if finding.prefix:
        description = neutralise(evidence.description) if evidence else ""
        lines.append(
            f"Prefix: {neutralise(finding.prefix, 60)}"
            + (f" ({description})" if description else "")
        )
    lines += [
        f"Rule: {neutralise(finding.rule, 80)} ({neutralise(finding.type, 40)}), "
        f"severity {finding.severity.value.upper()}",
        f"Finding: {neutralise(finding.message)}",
        f"Started: {utc_text(alert.started_at)}; firing since {utc_text(alert.fired_at)}",
    ]
    if event.kind is EventKind.RESOLVED:
        lines.append(f"Resolved: {utc_text(alert.resolved_at or event.at)}")
        why = resolution_reason(alert)
        if why:
            lines.append(f"Why resolved: {why}")
    if finding.labels:
        labels = ", ".join(
            f"{neutralise(k, 40)}={neutralise(v, 80)}" for k, v in sorted(finding.labels.items())
        )
        lines.append(f"Labels: {labels}")
    if evidence is not None:
        lines += _evidence_lines(evidence)
    if finding.prefix:
        lines.append("")
        lines += [f"{site}: {url}" for site, url in prefix_links(finding.prefix)]
    return "\n".join(lines)


def resolution_reason(alert: Alert) -> str:
    """Why an origin's alert resolved while the origin still routes the prefix, or "".

    A stream-only finding fires before Radar's RPKI status is known; an origin Radar then
    reports valid was authorised by the prefix's holder (a scrubbing provider, say).
    """
    finding, evidence = alert.finding, alert.evidence
    seen = evidence.origin(finding.origin) if evidence and finding.origin is not None else None
    if seen is None or seen.rpki != "valid" or not seen.visible_peers:
        return ""
    return (
        f"Radar reports AS{seen.asn} as RPKI valid for {neutralise(finding.prefix or '', 60)}, "
        "so the prefix's holder authorised it"
    )


def origin_line(origin: OriginEvidence) -> str:
    """`AS666 EVIL-NET (RU): UNEXPECTED, RPKI invalid, seen by 12.0% of peers (120/1000)`."""
    verdict = "expected" if origin.expected else "UNEXPECTED"
    return (
        f"{_origin_label(origin)}: {verdict}, RPKI {neutralise(origin.rpki, 20)}, "
        f"{seen_by(origin.visibility, origin.visible_peers, origin.total_peers)}"
    )


def _origin_label(origin: OriginEvidence) -> str:
    """`AS64500 EXAMPLE-NET (US)`."""
    name = neutralise(origin.as_name, 80)
    country = neutralise(origin.country, 8)
    label = f"AS{origin.asn}"
    if name:
        label += f" {name}"
    return f"{label} ({country})" if country else label


def _evidence_lines(evidence: Evidence) -> list[str]:
    """Origins, RPKI, visibility, sample paths and data time as Radar showed them."""
    lines: list[str] = []
    if evidence.expected_origins:
        expected = []
        for asn in evidence.expected_origins:
            seen = evidence.origin(asn)
            expected.append(_origin_label(seen) if seen else f"AS{asn} (not seen)")
        lines.append(f"Expected origins: {', '.join(expected)}")
    if evidence.stream is not None:
        lines.append(_stream_line(evidence.stream))
    if evidence.origins:
        lines.append("Observed origins (Radar):")
        lines += [f"  {origin_line(o)}" for o in evidence.origins]
        if evidence.omitted_origins:
            lines.append(f"  … and {evidence.omitted_origins} more, less visible, origins")
    elif evidence.data_time is not None:
        lines.append("Observed origins: none (the prefix is not announced)")
    if evidence.visibility is not None:
        lines.append(
            f"Visibility through expected origins: {percent(evidence.visibility)} "
            f"({evidence.visible_peers}/{evidence.total_peers} peers)"
        )
    paths = evidence.sample_paths or (evidence.stream.sample_paths if evidence.stream else ())
    if paths:
        lines.append("Sample AS paths:" if evidence.sample_paths else "Sample AS paths (RIS Live):")
        for path, collector in paths[:PATH_SAMPLES]:
            hops = " ".join(str(asn) for asn in path) or "(empty)"
            lines.append(f"  {hops} (via {neutralise(collector, 60)})")
    if evidence.data_time is not None:
        lines.append(f"Radar data time: {utc_text(evidence.data_time)}")
    return lines


def _stream_line(stream: StreamEvidence) -> str:
    """`RIS Live now: 17 RIS peers route it: AS666 via 14, AS64500 via 3 (update 12:00:03 UTC)`."""
    origins = ", ".join(f"AS{asn} via {n}" for asn, n in stream.origins)
    head = f"RIS Live now: {stream.peers} RIS peers route it"
    when = f" (last update {utc_text(stream.updated)})" if stream.updated else ""
    return f"{head}: {origins}{when}" if origins else f"{head}{when}"


def _counts(events: Iterable[AlertEvent]) -> str:
    """`2 firing, 1 resolved`."""
    counts = Counter(e.kind for e in events)
    return ", ".join(
        f"{counts[kind]} {_KIND_COUNT_LABEL[kind]}" for kind in _KIND_RANK if counts[kind]
    )


def _group_title(events: Sequence[AlertEvent]) -> str:
    """`[CRITICAL] FIRING: 104.244.42.0/24 AS8342 (rpki-invalid, unexpected-origin)`.

    What a phone push or a chat preview shows, so it leads with the worst severity of what is
    still active and names the prefixes, origins and rules when they fit; a larger group says
    how many alerts and prefixes instead.
    """
    ordered = sorted(events, key=_order)
    active = [e for e in ordered if e.kind is not EventKind.RESOLVED] or ordered
    worst = min((e.alert.finding.severity for e in active), key=lambda s: s.rank)
    kinds = {e.kind for e in events}
    status = ordered[0].kind.value.upper() if len(kinds) == 1 else _counts(events)
    prefixes = _unique(neutralise(e.alert.finding.prefix or "", 60) for e in ordered)
    origins = _unique(
        f"AS{e.alert.finding.origin}" for e in ordered if e.alert.finding.origin is not None
    )
    rules = _unique(neutralise(e.alert.finding.rule, 80) for e in ordered)
    head = f"[{worst.value.upper()}] {status}"
    named = " ".join([*prefixes, *origins])
    title = f"{head}: {named} ({', '.join(rules)})" if named else f"{head}: {', '.join(rules)}"
    if len(title) <= TITLE_LIMIT:
        return title
    where = f" on {len(prefixes)} prefixes" if len(prefixes) > 1 else ""
    return f"{head}: {len(events)} alerts{where}"


def _unique(items: Iterable[str]) -> list[str]:
    """`items` without repeats or empty strings, in their first order."""
    return [i for i in dict.fromkeys(items) if i]


def _order(event: AlertEvent) -> tuple[int, int, str, tuple[int, int, int], str, str]:
    """Active before resolved, most severe first, then by rule and address."""
    rule, prefix, subject = event.alert.key
    return (
        _KIND_RANK[event.kind],
        event.alert.finding.severity.rank,
        rule,
        address_key(prefix),
        prefix,
        subject,
    )


def _group_head(events: Sequence[AlertEvent]) -> list[str]:
    """Totals by kind, severity and rule, then a blank line."""
    severities = Counter(e.alert.finding.severity for e in events)
    rules = Counter(e.alert.finding.rule for e in events)
    return [
        f"{len(events)} alerts: {_counts(events)}",
        "By severity: "
        + ", ".join(f"{severities[s]} {s.value}" for s in Severity if severities[s]),
        "By rule: " + ", ".join(f"{neutralise(rule, 80)} {n}" for rule, n in sorted(rules.items())),
        "",
    ]


def _line(event: AlertEvent, with_link: bool = False) -> str:
    """`FIRING [CRITICAL] unexpected-origin 10.0.0.0/24 (AS666 EVIL-NET): message` (+ link)."""
    finding = event.alert.finding
    line = (
        f"{_status(event)} [{finding.severity.value.upper()}] "
        f"{_what(event.alert, with_name=True)}: {neutralise(finding.message, LINE_MESSAGE_LIMIT)}"
    )
    if event.kind is EventKind.RESOLVED and resolution_reason(event.alert):
        line += " (RPKI valid per Radar: authorised by the holder)"
    links = prefix_links(finding.prefix) if with_link and finding.prefix else []
    return f"{line}\n  {links[0][1]}" if links else line


def _rest_line(events: Sequence[AlertEvent], rest: Sequence[int]) -> str:
    """`… and 5 more (5 firing): see the status page`, for alerts past the last part."""
    counts = _counts(events[i] for i in rest)
    return f"… and {len(rest)} more ({counts}): see the status page"
