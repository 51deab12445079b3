"""The alert lifecycle: pending → firing → resolved, repeats, silences, flapping, scopes."""

from __future__ import annotations

from datetime import datetime, timedelta

from monitor.core.evidence import Evidence
from monitor.core.finding import Finding, Severity
from monitor.core.lifecycle import Alert, AlertBook, AlertState, EventKind, Policy, Scope, Timing
from monitor.core.silence import Silence
from monitor.core.target import Target
from tests.builders import NOW, answer, origin

PREFIX = "192.0.2.0/24"
SCOPE = Scope(prefix=PREFIX, rules=frozenset({"hijack", "low"}))
HIJACK = Finding(
    "hijack", "unexpected_origin", Severity.CRITICAL, PREFIX, "AS666 announces", origin=666
)
LOW = Finding("low", "visibility_below", Severity.WARNING, PREFIX, "visibility 30%", value=0.3)


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def kinds(events: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(e.kind.value, e.alert.finding.rule) for e in events]


def test_fires_at_once_without_for_and_resolves_with_duration() -> None:
    book, policy = AlertBook(), Policy()
    assert kinds(book.observe(SCOPE, [HIJACK], None, at(0), policy)) == [("firing", "hijack")]
    assert book.observe(SCOPE, [HIJACK], None, at(1), policy) == []  # no repeat inside 4h
    [resolved] = book.observe(SCOPE, [], None, at(62), policy)
    assert resolved.kind is EventKind.RESOLVED
    assert resolved.alert.state is AlertState.RESOLVED
    assert resolved.duration == 62 * 60
    assert book.alerts == {}


def test_for_keeps_it_pending_and_a_short_blip_sends_nothing() -> None:
    book = AlertBook()
    policy = Policy(timings={"low": Timing(for_=300)})
    assert book.observe(SCOPE, [LOW], None, at(0), policy) == []
    assert book.alerts[LOW.key].state is AlertState.PENDING
    assert book.observe(SCOPE, [], None, at(2), policy) == []  # went away while pending
    assert book.alerts == {}
    book.observe(SCOPE, [LOW], None, at(3), policy)
    assert book.observe(SCOPE, [LOW], None, at(7), policy) == []
    assert kinds(book.observe(SCOPE, [LOW], None, at(8), policy)) == [("firing", "low")]


def test_repeat_interval_and_zero_means_never() -> None:
    book = AlertBook()
    hourly = Policy(repeat_interval=3600)
    book.observe(SCOPE, [HIJACK], None, at(0), hourly)
    assert book.tick(at(59), hourly) == []
    assert kinds(book.tick(at(60), hourly)) == [("repeat", "hijack")]
    assert book.tick(at(61), hourly) == []
    never = Policy(repeat_interval=0)
    assert book.tick(at(600), never) == []


def test_send_resolved_false() -> None:
    book, policy = AlertBook(), Policy(send_resolved=False)
    book.observe(SCOPE, [HIJACK], None, at(0), policy)
    assert book.observe(SCOPE, [], None, at(5), policy) == []
    assert book.alerts == {}


def test_keep_firing_for_damps_flapping() -> None:
    book = AlertBook()
    policy = Policy(timings={"hijack": Timing(keep_firing_for=600)})
    book.observe(SCOPE, [HIJACK], None, at(0), policy)
    assert book.observe(SCOPE, [], None, at(5), policy) == []  # gone for 5 min: still firing
    assert book.alerts[HIJACK.key].state is AlertState.FIRING
    assert book.observe(SCOPE, [HIJACK], None, at(6), policy) == []  # back: no new FIRING
    assert kinds(book.observe(SCOPE, [], None, at(17), policy)) == [("resolved", "hijack")]


def test_out_of_scope_alerts_are_untouched() -> None:
    book, policy = AlertBook(), Policy()
    book.observe(SCOPE, [HIJACK], None, at(0), policy)
    other = Scope(prefix="198.51.100.0/24", rules=frozenset({"hijack"}))
    assert book.observe(other, [], None, at(1), policy) == []
    narrower = Scope(prefix=PREFIX, rules=frozenset({"low"}))
    assert book.observe(narrower, [], None, at(2), policy) == []
    assert HIJACK.key in book.alerts


def test_source_wide_alerts_resolve_only_for_collectors_seen() -> None:
    stale = Finding("stale", "stale_collector", Severity.WARNING, None, "old", collector="rrc01")
    book, policy = AlertBook(), Policy()
    book.observe(
        Scope(PREFIX, subjects={"stale": frozenset({"rrc01"})}), [stale], None, at(0), policy
    )
    # An answer without rrc01 says nothing about it.
    assert (
        book.observe(
            Scope(PREFIX, subjects={"stale": frozenset({"rrc00"})}), [], None, at(1), policy
        )
        == []
    )
    resolved = book.observe(
        Scope(PREFIX, subjects={"stale": frozenset({"rrc01"})}), [], None, at(2), policy
    )
    assert kinds(resolved) == [("resolved", "stale")]


def test_silenced_alert_is_shown_but_sends_nothing_until_the_silence_ends() -> None:
    silence = Silence(comment="maintenance", starts=at(-1), ends=at(30), prefix="192.0.2.0/23")
    policy = Policy(silences=(silence,))
    book = AlertBook()
    assert book.observe(SCOPE, [HIJACK], None, at(0), policy) == []
    alert = book.alerts[HIJACK.key]
    assert alert.state is AlertState.FIRING and alert.silenced
    assert book.tick(at(29), policy) == []
    assert kinds(book.tick(at(30), policy)) == [("firing", "hijack")]  # still true when it ends
    assert not book.alerts[HIJACK.key].silenced


def test_resolving_while_silenced_and_never_told_sends_nothing() -> None:
    silence = Silence(comment="mw", starts=None, ends=at(30), rule="hijack")
    policy = Policy(silences=(silence,))
    book = AlertBook()
    book.observe(SCOPE, [HIJACK], None, at(0), policy)
    assert book.observe(SCOPE, [], None, at(5), policy) == []


def test_silence_matchers() -> None:
    s = Silence(comment="", starts=None, ends=None, origin=666, collector=None)
    assert s.matches("hijack", PREFIX, 666, None)
    assert not s.matches("hijack", PREFIX, 667, None)
    p = Silence(comment="", starts=None, ends=None, prefix="2001:db8::/32")
    assert p.matches("x", "2001:db8:1::/48", None, None)
    assert not p.matches("x", PREFIX, None, None)
    assert not p.matches("x", None, None, "rrc00")


def test_alert_round_trips_through_json_with_evidence() -> None:
    target = Target(PREFIX, frozenset({64500}))
    evidence = Evidence.capture(
        target, "customer", answer(origins=(origin(64500, 500), origin(666, 400, rpki="invalid")))
    )
    book = AlertBook()
    [event] = book.observe(SCOPE, [HIJACK], evidence, at(0), Policy())
    alert = event.alert
    assert Alert.from_json(alert.to_json()) == alert
    assert [o.asn for o in evidence.origins] == [64500, 666]
    assert evidence.visibility == 0.5
    assert {path[-1] for path, _ in evidence.sample_paths} == {64500, 666}


def test_dirty_tracking_for_the_store() -> None:
    book, policy = AlertBook(), Policy()
    book.observe(SCOPE, [HIJACK, LOW], None, at(0), policy)
    changed, removed = book.take_dirty()
    assert {a.key for a in changed} == {HIJACK.key, LOW.key} and removed == []
    book.observe(SCOPE, [HIJACK], None, at(1), policy)
    changed, removed = book.take_dirty()
    assert removed == [LOW.key]


def test_tick_touches_nothing_that_did_not_change() -> None:
    book, policy = AlertBook(), Policy()
    findings = [
        Finding(
            "hijack",
            "unexpected_origin",
            Severity.CRITICAL,
            f"10.{i // 256}.{i % 256}.0/24",
            "x",
            origin=666,
        )
        for i in range(3000)
    ]
    for f in findings:
        book.observe(Scope(f.prefix or "", rules=frozenset({"hijack"})), [f], None, at(0), policy)
    book.take_dirty()
    before = dict(book.alerts)
    assert book.tick(at(1), policy) == []
    assert book.take_dirty() == ([], [])
    assert all(book.alerts[k] is a for k, a in before.items())  # no copies made
