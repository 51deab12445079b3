"""Poll planning: even spreading, and a cycle stretched (with the numbers) to fit the budget."""

from monitor.settings import SourceConfig
from monitor.sources.polling import plan


def test_within_budget_keeps_the_interval() -> None:
    p = plan(SourceConfig(interval=60), 50)
    assert (p.effective_interval, p.requests_per_window, p.stretched) == (60, 250, False)
    assert p.slot == 1.2
    assert p.describe(SourceConfig()) == (
        "50 prefixes every 60s cost 250 requests per 300s, within the budget of 1000"
    )


def test_over_budget_stretches_the_cycle() -> None:
    p = plan(SourceConfig(interval=60), 2000)
    assert p.requests_per_window == 10000
    assert p.stretched
    # 2000 polls per cycle at 90% of 1000 per 5 minutes: 2000 * 300 / 900 seconds.
    assert round(p.effective_interval, 1) == 666.7
    assert "stretching the cycle to 666.7s" in p.describe(SourceConfig())


def test_replay_is_never_stretched() -> None:
    assert not plan(SourceConfig(type="replay", interval=1), 5000).stretched
