"""Human output never carries a control character from outside (escape sequences, CR, bidi)."""

from __future__ import annotations

import io
import json
import logging
import sys
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from monitor.ops.logs import setup_logging
from monitor.ops.terminal import printable, printable_output

HOSTILE = "EVIL\x1b]0;pwned\x07\x1b[2J\rOK\u202eten\x9b31m"


def unsafe(text: str) -> list[str]:
    return [
        c
        for c in text
        if c not in "\n\t" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs")
    ]


@given(st.text())
def test_printable_leaves_no_control_character(text: str) -> None:
    assert unsafe(printable(text)) == []


@given(st.recursive(st.text(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))
def test_printable_json_is_the_same_json(doc: object) -> None:
    assert json.loads(printable(json.dumps(doc, ensure_ascii=False))) == doc


def test_printable_names_what_it_replaced() -> None:
    assert printable(HOSTILE) == (
        "EVIL\\u001b]0;pwned\\u0007\\u001b[2J\\u000dOK\\u202eten\\u009b31m"
    )
    assert printable("plain AS13335 CLOUDFLARENET\n") == "plain AS13335 CLOUDFLARENET\n"


def test_printed_output_and_both_log_formats_are_inert() -> None:
    out = io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = out
    try:
        with printable_output():
            print(f"name: {HOSTILE}")
        for fmt in ("human", "json"):
            setup_logging("info", fmt)
            logging.getLogger("monitor.test").warning("AS666 is %s", HOSTILE)
    finally:
        sys.stdout, sys.stderr = saved
    text = out.getvalue()
    assert "name: EVIL\\u001b]0;pwned" in text
    assert unsafe(text) == []
    [line] = [x for x in text.splitlines() if x.startswith("{")]
    assert json.loads(line)["msg"] == f"AS666 is {HOSTILE}"
