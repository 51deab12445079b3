"""Evidence and judged origins are bounded: one answer with thousands of origins stays linear."""

from __future__ import annotations

import json

from monitor.config import parse_config
from monitor.core.bounds import MAX_ORIGINS, capped
from monitor.core.evidence import SUMMARY_ORIGINS, Evidence
from monitor.core.lifecycle import AlertBook, Policy
from monitor.core.observation import PrefixView
from monitor.pipeline import judge
from monitor.sinks.templates import render
from tests.builders import NOW, answer, origin

PREFIX = "192.0.2.0/24"
CONFIG = f"""
prefixes: [{{prefix: {PREFIX}, origins: [64500]}}]
rules:
  - {{name: hijack, type: unexpected_origin, severity: critical}}
  - {{name: rpki, type: rpki_invalid, severity: critical}}
"""


def crowded(n: int) -> PrefixView:
    """The expected origin, barely visible, among `n` RPKI-invalid others."""
    others = tuple(origin(100_000 + i, 10 + i % 500, rpki="invalid") for i in range(n))
    return answer(PREFIX, (origin(64500, 1), *others))


def test_each_alert_holds_a_capped_summary_plus_its_own_origin() -> None:
    [watch] = parse_config(CONFIG).prefixes
    view, _ = capped(crowded(150), watch.origins)
    judgement = judge(watch, view, NOW)
    book = AlertBook()
    book.observe(judgement.scope, judgement.findings, judgement.evidence, NOW, Policy())
    assert len(book.alerts) == 300  # every unexpected and invalid origin still alerts
    for alert in book.alerts.values():
        assert alert.evidence is not None
        asns = [o.asn for o in alert.evidence.origins]
        assert asns[0] == 64500  # the expected origin is always shown
        assert alert.finding.origin in asns  # and the one the alert is about
        assert len(asns) <= SUMMARY_ORIGINS + 2
        assert alert.evidence.omitted_origins == 151 - len(asns)
    # What each alert writes to the outbox and the database no longer grows with the answer.
    sizes = {len(json.dumps(a.to_json())) for a in book.alerts.values()}
    assert max(sizes) < 5_000


def test_the_summary_round_trips_through_json() -> None:
    [watch] = parse_config(CONFIG).prefixes
    evidence = Evidence.capture(watch.target, "", crowded(50)).about(100_042)
    back = Evidence.from_json(json.loads(json.dumps(evidence.to_json())))
    assert back == evidence
    assert back.omitted_origins == evidence.omitted_origins > 0


def test_an_answer_with_thousands_of_origins_is_judged_on_the_most_visible() -> None:
    view, dropped = capped(crowded(3_000), frozenset({64500}))
    assert len(view.origins) == MAX_ORIGINS and dropped == 3_001 - MAX_ORIGINS
    # The expected origin is kept although it is the least visible of all.
    assert view.origins[0].origin == 64500
    kept = min(o.visible_peers for o in view.origins[1:])
    assert all(o.visible_peers <= kept for o in crowded(3_000).origins if o not in view.origins)


def test_a_message_says_how_many_origins_it_left_out() -> None:
    [watch] = parse_config(CONFIG).prefixes
    view, _ = capped(crowded(150), watch.origins)
    judgement = judge(watch, view, NOW)
    book = AlertBook()
    [first, *_] = book.observe(
        judgement.scope, judgement.findings, judgement.evidence, NOW, Policy()
    )
    _, body = render([first])
    assert "Observed origins (Radar):" in body
    # The summary's ten, plus the alert's own (AS100000, among the least visible).
    assert f"  … and {150 - SUMMARY_ORIGINS - 1} more, less visible, origins" in body
