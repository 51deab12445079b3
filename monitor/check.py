"""The one-shot check: fetch every watched prefix once and evaluate every rule once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.config import Config, PrefixConfig
from monitor.engine import evaluate_cycle
from monitor.model import RadarAnswer
from monitor.radar import ClientSettings, RadarAuthError, RadarClient, RadarError
from monitor.rules import Finding
from monitor.secret import Secret


@dataclass(frozen=True)
class PrefixOutcome:
    """What one prefix's fetch produced: an answer or the error that prevented one."""

    watch: PrefixConfig
    answer: RadarAnswer | None
    error: RadarError | None


@dataclass(frozen=True)
class CheckResult:
    """The findings and the per-prefix outcomes of one check."""

    findings: tuple[Finding, ...]
    outcomes: tuple[PrefixOutcome, ...]
    checked_at: datetime

    @property
    def auth_failed(self) -> bool:
        """Whether any fetch failed because of the token."""
        return any(isinstance(o.error, RadarAuthError) for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        """0 all clean, 1 something fired, 3 nothing fired but a prefix could not be fetched."""
        if self.findings:
            return 1
        return 3 if any(o.error for o in self.outcomes) else 0


def client_settings(config: Config) -> ClientSettings:
    """The client's settings from the `source:` section."""
    s = config.source
    return ClientSettings(
        base_url=s.base_url,
        timeout=s.timeout,
        concurrency=s.concurrency,
        budget=s.budget,
        budget_window=s.budget_window,
        retries=s.retries,
        max_body_bytes=s.max_body_bytes,
    )


async def fetch_all(client: RadarClient, watches: Sequence[PrefixConfig]) -> list[PrefixOutcome]:
    """Fetch every prefix (the client enforces budget and concurrency)."""

    async def one(watch: PrefixConfig) -> PrefixOutcome:
        try:
            return PrefixOutcome(watch, await client.fetch(watch.prefix), None)
        except RadarError as exc:
            return PrefixOutcome(watch, None, exc)

    return list(await asyncio.gather(*(one(w) for w in watches)))


async def run_check(config: Config, token: Secret | None) -> CheckResult:
    """Fetch and evaluate everything once, ignoring `for` durations."""
    async with RadarClient(client_settings(config), token) as client:
        outcomes = await fetch_all(client, config.prefixes)
    now = datetime.now(UTC)
    answers = {o.watch.prefix: o.answer for o in outcomes if o.answer is not None}
    findings = evaluate_cycle(config.prefixes, answers, now)
    return CheckResult(findings=tuple(findings), outcomes=tuple(outcomes), checked_at=now)
