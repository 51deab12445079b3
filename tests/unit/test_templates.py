"""Notification text: full detail for one alert, a line per alert of a burst split only where the
channel's limit requires it, hostile text defused."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core.finding import Finding, Severity
from monitor.core.lifecycle import Alert, AlertEvent, AlertState, EventKind
from monitor.core.measures import duration
from monitor.sinks.parts import LINE_FLOOR, MAX_PARTS, Limit, pack
from monitor.sinks.templates import neutralise, render, render_parts
from tests.builders import HOSTILE, NOW, burst, make_event


def test_single_firing_event_has_full_detail() -> None:
    title, body = render([make_event()])
    assert title == "[CRITICAL] FIRING: unexpected-origin 192.0.2.0/24 (AS666)"
    for expected in (
        "FIRING: unexpected-origin 192.0.2.0/24 (AS666 EVIL-NET)",
        "Prefix: 192.0.2.0/24 (Example anycast service)",
        "Rule: unexpected-origin (unexpected_origin), severity CRITICAL",
        "Finding: 192.0.2.0/24 originated by unexpected AS666 (EVIL-NET)",
        "Expected origins: AS64500 EXAMPLE-NET (US)",
        "AS64500 EXAMPLE-NET (US): expected, RPKI valid, seen by 95.0% of peers (950/1000)",
        "AS666 EVIL-NET (RU): UNEXPECTED, RPKI invalid, seen by 12.0% of peers (120/1000)",
        "Visibility through expected origins: 95.0% (950/1000 peers)",
        "6447 3356 64500 (via route-views2)",
        "6939 666 (via rrc00)",
        "174 64500 (via rrc01)",
        "Radar data time: 2026-11-28 11:59:30 UTC",
        "Labels: team=netops",
        "https://radar.cloudflare.com/routing/prefix/192.0.2.0/24",
        "https://bgp.tools/prefix/192.0.2.0/24",
        "https://stat.ripe.net/192.0.2.0/24",
    ):
        assert expected in body
    assert "rrc03" not in body  # at most three sample paths


def test_resolved_event_says_resolved_with_duration() -> None:
    event = make_event(EventKind.RESOLVED, firing_for=timedelta(hours=1, minutes=2))
    title, body = render([event])
    assert title == "[CRITICAL] RESOLVED: unexpected-origin 192.0.2.0/24 (AS666)"
    assert body.startswith("RESOLVED after 1h2m: ")
    assert "Resolved: 2026-11-28 13:02:00 UTC" in body


def test_repeat_event_says_how_long_it_fires() -> None:
    title, body = render([make_event(EventKind.REPEAT, firing_for=timedelta(hours=4))])
    assert title.startswith("[CRITICAL] REPEAT: ")
    assert body.startswith("REPEAT (firing for 4h): ")


def test_source_wide_finding_without_evidence_renders_without_links() -> None:
    finding = Finding(
        "stale-collector",
        "stale_collector",
        Severity.WARNING,
        None,
        "collector rrc00 is 2h behind",
        collector="rrc00",
    )
    alert = Alert(finding, AlertState.FIRING, NOW, NOW, fired_at=NOW)
    title, body = render([AlertEvent(EventKind.FIRING, alert, NOW)])
    assert title == "[WARNING] FIRING: stale-collector rrc00"
    assert "collector rrc00 is 2h behind" in body
    assert "https://" not in body


def prefixes(text: str) -> list[str]:
    """The burst's prefixes named in `text`, in order."""
    return re.findall(r"\b10\.\d+\.\d+\.0/24\b", text)


def test_burst_lists_every_alert_on_a_line_of_its_own() -> None:
    events = burst(200)
    title, body = render(events)
    # Too many to name: the title counts alerts and prefixes instead.
    assert title == "[CRITICAL] 150 firing, 50 resolved: 200 alerts on 200 prefixes"
    assert body.startswith("200 alerts: 150 firing, 50 resolved\n")
    assert "By severity: 100 critical, 100 warning" in body
    assert "By rule: unexpected-origin 100, visibility-below 100" in body
    lines = [line for line in body.splitlines() if line.startswith(("FIRING", "RESOLVED"))]
    assert len(lines) == 200
    assert {prefixes(line)[0] for line in lines} == {e.alert.finding.prefix for e in events}
    # Firing critical alerts come first, the resolved ones last; nothing is only counted.
    assert lines[0].startswith("FIRING [CRITICAL] unexpected-origin 10.0.0.0/24 (AS666 EVIL-NET)")
    assert lines[-1].startswith("RESOLVED after 5m [WARNING] visibility-below")
    assert "more" not in body


def test_a_burst_too_long_for_the_channel_is_split_into_numbered_parts() -> None:
    events = burst(200)
    parts = render_parts(events, Limit(4000))
    n = len(parts)
    assert 9 <= n <= 12  # about 35,000 characters of lines in parts of at most 4,000
    for k, part in enumerate(parts, 1):
        assert (
            part.title
            == f"[CRITICAL] 150 firing, 50 resolved: 200 alerts on 200 prefixes ({k}/{n})"
        )
        assert len(part.body) <= 4000
    assert parts[0].body.startswith("200 alerts: 150 firing, 50 resolved\n")
    # Every alert on exactly one line of one part, in the order of one long message.
    whole = render(events)[1].splitlines()
    lines = [line for p in parts for line in p.body.splitlines()]
    assert lines == [line for line in whole if not line.startswith("  https://")]
    assert sorted(i for p in parts for i in p.events) == list(range(200))
    for part in parts:  # each part tells about exactly the alerts it names
        assert {events[i].alert.finding.prefix for i in part.events} == set(prefixes(part.body))


def test_a_title_sent_inside_the_body_and_escaping_count_against_the_limit() -> None:
    """Mattermost has no title field; Telegram's HTML turns each space into `&nbsp;`."""
    events = burst(200)

    def html(text: str) -> int:
        return len(text.replace(" ", "&nbsp;").replace("\n", "<br/>"))

    parts = render_parts(events, Limit(4096, title_in_body=True, measure=html))
    for part in parts:
        assert html(part.title) + 2 + html(part.body) <= 4096
    assert sorted(i for p in parts for i in p.events) == list(range(200))
    assert len(parts) > len(render_parts(events, Limit(4096)))


def test_a_group_that_fits_keeps_its_links_and_a_single_alert_stays_whole() -> None:
    events = burst(20)
    (part,) = render_parts(events, Limit(32768))
    assert (part.title, part.body) == render(events)
    assert part.body.count("https://radar.cloudflare.com/") == 20
    # Full detail is never split: one alert, or up to three, is one message whatever the limit.
    for few in (events[:1], events[:3]):
        (whole,) = render_parts(few, Limit(200))
        assert (whole.title, whole.body) == render(few)


def test_a_backlog_is_at_most_max_parts_messages_the_last_counting_the_rest() -> None:
    events = burst(1000)
    parts = render_parts(events, Limit(1000))
    assert len(parts) == MAX_PARTS
    assert all(len(p.body) <= 1000 for p in parts)
    assert parts[-1].title.endswith(f"({MAX_PARTS}/{MAX_PARTS})")
    last = parts[-1].body.splitlines()[-1]
    listed = sum(
        line.startswith(("FIRING", "RESOLVED")) for p in parts for line in p.body.splitlines()
    )
    assert listed == 1000 - 900
    assert last == "… and 900 more (650 firing, 250 resolved): see the status page"
    assert sorted(i for p in parts for i in p.events) == list(range(1000))


@given(
    st.lists(st.text(max_size=300).map(lambda t: t.replace("\n", " ")), min_size=1, max_size=60),
    st.integers(min_value=LINE_FLOOR, max_value=2000),
)
def test_pack_keeps_every_line_in_order_within_the_budget(lines: list[str], budget: int) -> None:
    blocks = [(line, (i,)) for i, line in enumerate(lines)]
    chunks = pack(blocks, budget, len, lambda rest: f"… and {len(rest)} more")
    assert 1 <= len(chunks) <= MAX_PARTS
    assert all(len(text) <= budget for text, _ in chunks)
    assert sorted(i for _, told in chunks for i in told) == list(range(len(lines)))
    kept = [line for text, _ in chunks for line in text.split("\n")]
    if not kept[-1].startswith("… and"):  # all listed: each line whole, or cut with an ellipsis
        assert len(kept) == len(lines)
        for line, original in zip(kept, lines, strict=True):
            assert line == original or (line.endswith("…") and original.startswith(line[:-1]))


def test_small_group_shows_every_alert_in_full() -> None:
    events = [
        make_event(prefix="192.0.2.0/24"),
        make_event(EventKind.RESOLVED, prefix="198.51.100.0/24", firing_for=timedelta(minutes=62)),
        make_event(EventKind.REPEAT, prefix="203.0.113.0/24", firing_for=timedelta(hours=4)),
    ]
    title, body = render(events)
    assert title == (
        "[CRITICAL] 1 firing, 1 still firing, 1 resolved: "
        "192.0.2.0/24 203.0.113.0/24 198.51.100.0/24 AS666 (unexpected-origin)"
    )
    assert "RESOLVED after 1h2m: unexpected-origin 198.51.100.0/24 (AS666 EVIL-NET)" in body
    assert body.count("Observed origins (Radar):") == 3
    assert body.count("Sample AS paths:") == 3
    assert "Radar: https://radar.cloudflare.com/routing/prefix/203.0.113.0/24" in body


def test_larger_group_lists_every_alert_with_its_radar_link() -> None:
    events = [
        make_event(prefix="192.0.2.0/24"),
        make_event(EventKind.RESOLVED, prefix="198.51.100.0/24", firing_for=timedelta(minutes=62)),
        make_event(EventKind.REPEAT, prefix="203.0.113.0/24", firing_for=timedelta(hours=4)),
        make_event(prefix="192.0.2.0/25"),
    ]
    title, body = render(events)
    assert title == "[CRITICAL] 2 firing, 1 still firing, 1 resolved: 4 alerts on 4 prefixes"
    assert (
        "RESOLVED after 1h2m [CRITICAL] unexpected-origin 198.51.100.0/24 (AS666 EVIL-NET)" in body
    )
    assert "REPEAT (firing for 4h) [CRITICAL]" in body
    assert "  https://radar.cloudflare.com/routing/prefix/203.0.113.0/24" in body
    assert "more" not in body


def test_hijack_title_names_severity_prefix_origin_and_rules() -> None:
    """A hijack is two alerts; a phone push of its title must still say what and where."""
    hijack = [
        make_event(rule="unexpected-origin", prefix="104.244.42.0/24", origin=8342),
        make_event(rule="rpki-invalid", prefix="104.244.42.0/24", origin=8342),
    ]
    title, _ = render(hijack)
    assert title == "[CRITICAL] FIRING: 104.244.42.0/24 AS8342 (rpki-invalid, unexpected-origin)"


def test_group_title_leads_with_the_worst_active_severity() -> None:
    events = [
        make_event(rule="visibility-below", severity=Severity.WARNING, origin=None),
        make_event(EventKind.RESOLVED, rule="unexpected-origin", prefix="198.51.100.0/24"),
    ]
    title, _ = render(events)
    # The resolved critical no longer needs action: the warning still firing leads.
    assert title.startswith("[WARNING] 1 firing, 1 resolved: 192.0.2.0/24 198.51.100.0/24 AS666")


def test_render_refuses_an_empty_group() -> None:
    with pytest.raises(ValueError):
        render([])


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (45, "45s"),
        (60, "1m"),
        (330, "5m30s"),
        (3600, "1h"),
        (3720, "1h2m"),
        (3725, "1h2m"),
        (90000, "1d1h"),
        (86400 * 3, "3d"),
    ],
)
def test_duration(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_neutralise_defuses_mentions_links_and_controls() -> None:
    text = neutralise(HOSTILE + "\n Fake: line\x1b[31m\u202e @everyone @channel")
    for bad in (
        "<!channel>",
        "<@U123>",
        "<http",
        "](http",
        "<script>",
        "@here",
        "@everyone",
        "@channel",
        "\n",
        "\x1b",
        "\u202e",
    ):
        assert bad not in text
    assert "\u2039!channel\u203a" in text  # still readable to a human
    assert "\uff3bclick\uff3d(http://evil)" in text


def test_hostile_as_name_is_neutralised_in_messages() -> None:
    for events in ([make_event(as_name=HOSTILE)], [make_event(as_name=HOSTILE)] * 2):
        title, body = render(events)
        for bad in ("<!channel>", "[click](", "<script>", "@here", "<@U123>", "|click>"):
            assert bad not in title + body


def test_neutralise_caps_length() -> None:
    assert len(neutralise("A" * 10_000)) <= 300
    assert neutralise("A" * 10, limit=5) == "AAAA…"


@given(st.text())
def test_neutralise_never_leaves_markup_or_controls(text: str) -> None:
    out = neutralise(text)
    assert not set(out) & set("<>[]\n\r\t")
    assert all(ch == "\u200d" or unicodedata.category(ch)[0] != "C" for ch in out)
    assert all(out[i + 1 : i + 2] == "\u200d" for i, ch in enumerate(out) if ch == "@")


def test_an_upstream_alert_names_the_upstream() -> None:
    title, body = render([make_event(rule="new-upstream", origin=None, upstream=9999)])
    assert title == "[CRITICAL] FIRING: new-upstream 192.0.2.0/24 (upstream AS9999)"
    assert body.startswith("FIRING: new-upstream 192.0.2.0/24 (upstream AS9999)")
