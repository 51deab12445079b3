"""The bundled timelines and the demo: they load, decode, and make the rules fire step by step."""

from __future__ import annotations

import pytest

from monitor.bundled import bundled
from monitor.cli import main
from monitor.config import load_config
from monitor.pipeline import judge
from monitor.settings import PrefixConfig
from monitor.sources.replay import RecordedAnswer, load_timeline
from tests.replay_steps import NOW, source

BUNDLED = ("hijack-exact-prefix.yaml", "withdrawal.yaml", "demo-timeline.yaml")


@pytest.mark.parametrize("name", BUNDLED)
async def test_bundled_timelines_load_and_decode(name: str) -> None:
    path = bundled(name)
    assert path.stat().st_size < 200_000
    assert path.read_text().startswith("# RECONSTRUCTION from public accounts")
    timeline = load_timeline(path)
    assert timeline.reconstruction
    assert "https://" in timeline.source
    for s in timeline.steps:
        assert s.label
        assert all(isinstance(r, RecordedAnswer) for r in s.answers.values())
    src = source(path)
    for prefix in sorted(timeline.prefixes):
        for _ in range(timeline.total_polls):
            answer = await src.fetch(prefix)
            assert answer.prefix == prefix
            assert all(o.prefix == prefix for o in answer.origins)
            assert all(r.prefix == prefix for r in answer.routes)


def test_bundled_names_what_ships() -> None:
    with pytest.raises(FileNotFoundError, match=r"hijack-exact-prefix\.yaml"):
        bundled("nope.yaml")


def test_demo_config_loads_and_watches_what_its_timeline_answers() -> None:
    config = load_config(bundled("demo.yaml"))
    assert config.source.type == "replay"
    assert config.source.loop
    assert config.source.interval == 2.0
    assert config.source.file == bundled("demo-timeline.yaml")
    assert [r.name for r in config.rules] == [
        "rpki-invalid",
        "unexpected-origin",
        "sub-prefix-hijack",
        "low-visibility",
        "stale-collectors",
    ]
    assert (config.http.host, config.http.port) == ("127.0.0.1", 9847)
    assert "reconstructed" in config.http.instance  # the status page's heading
    # `radar-monitor demo` points it at its own player; as shipped it names nothing remote.
    assert config.stream is not None and config.stream.url.startswith("ws://127.0.0.1:")
    assert config.notifications.channels == ()
    timeline = load_timeline(config.source.file)
    assert {p.prefix for p in config.prefixes} == timeline.prefixes


def demo_watches() -> dict[str, PrefixConfig]:
    """The demo's watched prefixes with its rules, by prefix."""
    return {p.prefix: p for p in load_config(bundled("demo.yaml")).prefixes}


async def fired_per_step(name: str) -> dict[str, list[set[str]]]:
    """Per prefix, the rules firing at each step of the bundled timeline `name`."""
    timeline = load_timeline(bundled(name))
    watches = demo_watches()
    src = source(bundled(name))
    fired: dict[str, list[set[str]]] = {}
    for prefix in sorted(timeline.prefixes):
        per_step = fired.setdefault(prefix, [set() for _ in timeline.steps])
        for poll in range(timeline.total_polls):
            answer = await src.fetch(prefix)
            index = timeline.step_index(poll, loop=False)
            per_step[index] |= {f.rule for f in judge(watches[prefix], answer, NOW).findings}
    return fired


async def test_rules_over_the_hijack_timeline() -> None:
    fired = await fired_per_step("hijack-exact-prefix.yaml")
    hijack = {"rpki-invalid", "unexpected-origin"}
    # Steps: clean, hijack begins, hijack peak, hijack withdrawn, clean again.
    assert fired == {"104.244.42.0/24": [set(), hijack, hijack, set(), set()]}


async def test_rules_over_the_withdrawal_timeline() -> None:
    fired = await fired_per_step("withdrawal.yaml")
    low = {"low-visibility"}
    # Steps: normal, withdrawing, withdrawn, still down, coming back, normal again.
    expected = [set(), low, low, low, set(), set()]
    assert fired == {"129.134.30.0/23": expected, "185.89.218.0/23": expected}


async def test_demo_timeline_shows_the_hijack_then_the_withdrawal() -> None:
    fired = await fired_per_step("demo-timeline.yaml")
    hijack, low = {"rpki-invalid", "unexpected-origin"}, {"low-visibility"}
    assert fired["104.244.42.0/24"] == [set(), hijack, hijack, set(), set(), *[set()] * 4]
    for prefix in ("129.134.30.0/23", "185.89.218.0/23"):
        assert fired[prefix] == [*[set()] * 5, low, low, set(), set()]
    # YouTube's /22 looks healthy to Radar throughout: its hijack is a more-specific, on the
    # demo's RIS Live.
    assert fired["208.65.152.0/22"] == [set()] * 9


def test_once_replays_without_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`once` builds its source as `run` does: a replay config needs no Radar token."""
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    assert main(["once", "--config", str(bundled("demo.yaml"))]) == 0
    out, err = capsys.readouterr()
    assert "104.244.42.0/24  ok" in out and "AS13414:valid" in out
    assert "token" not in err
