"""The one-shot check: fetch every watched prefix once and judge it once, ignoring `for`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from monitor.core.bounds import capped
from monitor.core.collectors import CollectorFreshness
from monitor.core.finding import Finding
from monitor.core.observation import ErrorKind, FetchFailure, PrefixView
from monitor.pipeline import judge, merge_findings
from monitor.settings import Config, PrefixConfig
from monitor.sources.base import PrefixSource, SourceError
from monitor.sources.factory import make_source


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

    @property
    def exit_code(self) -> int:
        """0 all clean, 1 something fired, 3 nothing fired but a prefix could not be fetched."""
        if self.findings:
            return 1
        return 3 if any(o.failure for o in self.outcomes) else 0

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


async def run_check(config: Config) -> CheckResult:
    """Fetch every prefix from the configured source (which enforces budget and concurrency)."""
    source = make_source(config.source, require_token=True)
    try:
        outcomes = await asyncio.gather(*(_fetch(source, w) for w in config.prefixes))
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
    return CheckResult(findings=tuple(findings), outcomes=tuple(outcomes), checked_at=now)
