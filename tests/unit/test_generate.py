"""`generate`'s YAML: what the config loader reads back from it, whatever the AS names are."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import load_config
from monitor.core.observation import RpkiStatus
from monitor.core.origins import AsPrefixes, MoasPrefix, OriginatedPrefix
from monitor.generate import Learnt, render, warnings

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def snapshot(asn: int, *prefixes: str, left_out: int = 0) -> AsPrefixes:
    listed = tuple(OriginatedPrefix(p, asn, 100, RpkiStatus.VALID) for p in prefixes)
    return AsPrefixes(asn, listed, 2000, NOW, left_out)


def loaded(tmp_path: Path, text: str) -> dict[str, tuple[frozenset[int], str]]:
    """The prefixes the real config loader reads from `text` under a minimal config."""
    path = tmp_path / "config.yaml"
    path.write_text("source: {base_url: 'http://127.0.0.1:1/client/v4'}\n" + text)
    return {p.prefix: (p.origins, p.description) for p in load_config(path).prefixes}


def test_entries_are_sorted_merged_and_flagged(tmp_path: Path) -> None:
    learnt = Learnt(
        snapshots=(
            snapshot(64500, "2001:db8::/32", "10.0.10.0/24", "10.0.2.0/24"),
            snapshot(64501, "10.0.2.0/24"),
        ),
        moas={
            64500: (
                MoasPrefix(
                    "10.0.10.0/24",
                    (
                        OriginatedPrefix("10.0.10.0/24", 64500, 9, RpkiStatus.VALID),
                        OriginatedPrefix("10.0.10.0/24", 64999, 9, RpkiStatus.INVALID),
                    ),
                ),
            ),
            64501: (),
        },
        names={64500: "EXAMPLE-NET", 64501: ""},
    )
    text = render(learnt, now=NOW, base_url="https://api.example/\nclient/v4", notes=["cut"])
    assert "\nprefixes:\n" in text and "# warning: cut\n" in text
    assert "(https://api.example/client/v4)" in text  # no line break out of the comment
    assert loaded(tmp_path, text) == {
        "10.0.2.0/24": (frozenset({64500, 64501}), "AS64500 (EXAMPLE-NET) / AS64501"),
        "10.0.10.0/24": (frozenset({64500}), "AS64500 (EXAMPLE-NET)"),
        "2001:db8::/32": (frozenset({64500}), "AS64500 (EXAMPLE-NET)"),
    }
    assert text.index("10.0.2.0/24") < text.index("10.0.10.0/24") < text.index("2001:db8::/32")
    assert "  # MOAS: AS64500 and AS64999 originate it; AS64999 not in origins" in text
    assert "  # MOAS: AS64500 and AS64501 originate it\n" in text


def test_a_cut_as_is_named_with_the_cap() -> None:
    learnt = Learnt((snapshot(64500, "192.0.2.0/24", left_out=7),), {64500: ()}, {})
    assert warnings(learnt, 1) == [
        "AS64500 originates more than 1 prefixes: kept the first 1, left out 7 "
        "(raise --max-prefixes to keep them)"
    ]


@pytest.mark.parametrize("name", ['a "quoted" #name', "line\nbreak", "tab\there", "ünï ☃ \u2028"])
def test_any_as_name_reads_back_as_written(tmp_path: Path, name: str) -> None:
    learnt = Learnt((snapshot(64500, "192.0.2.0/24"),), {64500: ()}, {64500: name})
    text = render(learnt, now=NOW, base_url="https://api.example", notes=[])
    assert loaded(tmp_path, text)["192.0.2.0/24"][1] == f"AS64500 ({name})"


def test_an_as_name_cannot_read_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_THING", "s3cr3t")
    learnt = Learnt((snapshot(64500, "192.0.2.0/24"),), {64500: ()}, {64500: "${SECRET_THING}"})
    text = render(learnt, now=NOW, base_url="https://api.example", notes=[])
    assert loaded(tmp_path, text)["192.0.2.0/24"][1] == "AS64500 ($ {SECRET_THING})"


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40) | st.text(st.characters(codec="utf-8"), max_size=10).map("${".join))
def test_generated_names_read_back(name: str) -> None:
    learnt = Learnt((snapshot(64500, "192.0.2.0/24"),), {64500: ()}, {64500: name})
    text = render(learnt, now=NOW, base_url="https://api.example", notes=[])
    expected = (f"AS64500 ({name})" if name else "AS64500").replace("${", "$ {")
    with tempfile.TemporaryDirectory() as folder:
        assert loaded(Path(folder), text)["192.0.2.0/24"][1] == expected
