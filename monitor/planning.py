"""The budget plan of one configuration: every class of request it makes, gathered for the
daemon (at start, reload and sync) and for `check`."""

from __future__ import annotations

from monitor.budget import Load, Plan, plan
from monitor.core.measures import counted
from monitor.events_polling import events_load
from monitor.settings import Config, Tier
from monitor.snapshots import snapshot_load


def sync_load(config: Config) -> Load | None:
    """What the `asns:` syncs cost: one request per AS every its `sync` (None: no `asns:`)."""
    if not config.asns or config.source.type != "radar":
        return None
    n = len(config.asns)
    # The rate of all syncs together, as n requests every `interval`.
    interval = n / sum(1 / a.sync for a in config.asns)
    return Load("syncs", counted(n, "AS", "ASes"), n, interval)


def plan_for(config: Config, temporary: int = 0) -> Plan:
    """The plan for `config`'s watch list plus `temporary` more-specifics on the cycle."""
    realtime = sum(1 for p in config.prefixes if p.tier is Tier.REALTIME)
    loads = (events_load(config), sync_load(config), snapshot_load(config))
    return plan(
        config.source,
        realtime + temporary,
        tuple(load for load in loads if load is not None),
        stream=config.stream is not None,
        snapshot_prefixes=len(config.prefixes) - realtime,
    )
