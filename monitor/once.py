"""The one-shot check: fetch every watched prefix once and judge it once, ignoring `for`.

The `asns:` entries are synced once first (their prefixes join the list); the snapshot tier is
judged from one read of each of its ASes, the realtime tier from one fetch per prefix.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from monitor.as_sync import FetcherFor
from monitor.as_watches import expand, watchable
from monitor.core.bounds import capped
from monitor.core.collectors import CollectorFreshness
from monitor.core.finding import Finding
from monitor.core.observation import ErrorKind, FetchFailure, PrefixView
from monitor.pipeline import judge, merge_findings
from monitor.settings import Config, PrefixConfig, Tier
from monitor.snapshots import observations, read_snapshots, snapshot_asns, snapshot_watches
from monitor.sources.base import PrefixSource, SourceError
from monitor.sources.factory import make_origins, make_source
from monitor.state import AsSyncStatus


@dataclass(frozen=True)
class PrefixOutcome:
    """What one prefix's fetch produced: a view or the failure that prevented one."""

    watch: PrefixConfig
    view: PrefixView | None
    failure: FetchFailure | None


@dataclass(frozen=True)
class CheckResult:
    """The findings and the per-prefix outcomes of one check."""

    findings: tuple[Finding, ...]
    outcomes: tuple[PrefixOutcome, ...]
    checked_at: datetime
    #: What could not be read beyond the prefixes: an `asns:` AS whose sync failed.
    problems: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        """0 all clean, 1 something fired, 3 nothing fired but a prefix could not be fetched."""
        if self.findings:
            return 1
        return 3 if self.problems or any(o.failure for o in self.outcomes) else 0

    @property
    def auth_failure(self) -> FetchFailure | None:
        """The first failure that was about the credentials, if any."""
        return next(
            (o.failure for o in self.outcomes if o.failure and o.failure.kind is ErrorKind.AUTH),
            None,
        )


async def _fetch(source: PrefixSource, watch: PrefixConfig) -> PrefixOutcome:
    try:
        return PrefixOutcome(watch, await source.fetch(watch.prefix), None)
    except SourceError as exc:
        return PrefixOutcome(watch, None, FetchFailure(watch.prefix, exc.kind, str(exc)))


async def _synced(config: Config, origins: FetcherFor) -> tuple[Config, list[str]]:
    """`config` with every prefix its `asns:` originate; the ASes that could not be synced."""
    synced: dict[int, AsSyncStatus] = {}
    problems = []
    for entry in config.asns:
        try:
            answer = await origins(entry.max_prefixes).originated(entry.asn)
        except SourceError as exc:
            problems.append(f"AS{entry.asn}: the sync failed: {exc}")
            continue
        if not answer.prefixes:
            problems.append(f"AS{entry.asn} originates nothing per Radar (a typo in asn?)")
        synced[entry.asn] = AsSyncStatus(prefixes=dict.fromkeys(watchable(entry, answer)))
    return expand(config, synced), problems


async def _snapshot_outcomes(config: Config, origins: FetcherFor) -> list[PrefixOutcome]:
    """The snapshot tier's outcomes from one read of each of its ASes."""
    watches = snapshot_watches(config)
    caps = {a.asn: a.max_prefixes for a in config.asns}
    read = await read_snapshots(origins, snapshot_asns(watches), caps)
    return [
        PrefixOutcome(w, o, None) if isinstance(o, PrefixView) else PrefixOutcome(w, None, o)
        for w, o in zip(watches, observations(watches, read), strict=True)
    ]


async def run_check(config: Config) -> CheckResult:
    """Fetch every prefix from the configured source (which enforces budget and concurrency)."""
    source = make_source(config.source, require_token=True)
    problems: list[str] = []
    try:
        origins = make_origins(source)
        if origins is not None and config.asns:
            config, problems = await _synced(config, origins)
        realtime = [w for w in config.prefixes if w.tier is Tier.REALTIME or origins is None]
        outcomes = list(await asyncio.gather(*(_fetch(source, w) for w in realtime)))
        if origins is not None:
            outcomes += await _snapshot_outcomes(config, origins)
    finally:
        await source.close()
    now = datetime.now(UTC)
    # Every prefix is judged against the newest collector timestamps any answer reported.
    freshness = CollectorFreshness()
    views = [(o.watch, capped(o.view, o.watch.origins)[0]) for o in outcomes if o.view is not None]
    for _, view in views:
        freshness.merge(view.collectors, now)
    findings = merge_findings(
        judge(watch, replace(view, collectors=freshness.merge(view.collectors, now)), now)
        for watch, view in views
    )
    return CheckResult(tuple(findings), tuple(outcomes), now, tuple(problems))
