"""The validated configuration as frozen values: what `config.load_config` returns."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from monitor.core.collectors import MAX_COLLECTORS
from monitor.core.finding import Severity
from monitor.core.origins import MAX_PREFIXES
from monitor.core.silence import Silence
from monitor.core.target import Target
from monitor.exposition.webconfig import WebConfig
from monitor.ops.secret import Secret
from monitor.rules import Rule

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"

#: Rule types a more-specific inherits from its parent: who announces it and how. Never
#: `visibility_below` (a hijacker's /25 seen by few peers is no outage of yours) nor the
#: freshness rules (the parent's data age says that).
INHERITED_RULE_TYPES = frozenset(
    {"more_specific", "rpki_invalid", "unexpected_origin", "as_path", "upstream"}
)


class Tier(enum.StrEnum):
    """How a watched prefix is fetched: on the realtime cycle, or from its AS's snapshot."""

    REALTIME = "realtime"
    #: From the per-AS `pfx2as` answer every `source.snapshot_interval`: origins, RPKI and
    #: peer counts of every prefix of the AS in one request (hours old, RIB snapshots).
    SNAPSHOT = "snapshot"


#: How often the snapshot tier's AS answers are read by default.
DEFAULT_SNAPSHOT_INTERVAL = 600.0


@dataclass(frozen=True)
class SourceConfig:
    """Where answers come from and how hard we may ask."""

    type: str = "radar"
    base_url: str = DEFAULT_BASE_URL
    token_file: Path | None = None
    interval: float = 60.0
    snapshot_interval: float = DEFAULT_SNAPSHOT_INTERVAL
    timeout: float = 20.0
    concurrency: int = 4
    budget: int = 1000
    budget_window: float = 300.0
    retries: int = 3
    max_failures: int = 3
    #: Collectors tracked at most (Radar lists fewer than 100; see core/collectors.py).
    max_collectors: int = MAX_COLLECTORS
    max_body_bytes: int = 32 * 1024 * 1024
    #: Retry pacing and the longest `Retry-After` obeyed (not in the YAML: tests shorten them).
    backoff_base: float = 1.0
    backoff_max: float = 30.0
    max_retry_after: float = 300.0
    #: For `type: replay`: the recorded timeline, and whether to start over at its end.
    file: Path | None = None
    loop: bool = False


@dataclass(frozen=True)
class PrefixConfig:
    """A watched prefix with the rules that apply to it (overrides already merged)."""

    prefix: str
    origins: frozenset[int]
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    #: Like a ROA's maxLength: more-specifics up to this length from an expected origin are fine.
    max_length: int | None = None
    ignore_more_specifics: bool = False
    #: For a more-specific the stream found (a temporary watch): the watched prefix it lies in.
    parent: str | None = None
    #: The keys its `prefixes:` entry wrote: a synced AS's watch of it fills in the others.
    written: frozenset[str] = frozenset()
    tier: Tier = Tier.REALTIME

    @property
    def target(self) -> Target:
        """The prefix as the rules see it."""
        return Target(
            prefix=self.prefix,
            origins=self.origins,
            labels=self.labels,
            parent=self.parent,
            max_length=self.max_length,
            ignore_more_specifics=self.ignore_more_specifics,
        )

    def more_specific(self, prefix: str) -> PrefixConfig:
        """The temporary watch of `prefix`, a more-specific inside this watched prefix."""
        return replace(
            self,
            prefix=prefix,
            parent=self.prefix,
            rules=tuple(r for r in self.rules if r.type in INHERITED_RULE_TYPES),
            tier=Tier.REALTIME,  # only the realtime cycle fetches a prefix no AS lists
        )


#: How often an `asns:` entry is synced by default: RIB snapshots change over hours.
DEFAULT_SYNC = 6 * 3600.0


@dataclass(frozen=True)
class AsConfig:
    """An `asns:` entry: watch every prefix the AS originates, re-read every `sync`."""

    asn: int
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    sync: float = DEFAULT_SYNC
    #: The rules of its generated watches (its `rules:` and `upstreams` already merged).
    rules: tuple[Rule, ...] = ()
    #: Never watched, nor anything inside them, even if announced.
    exclude: tuple[str, ...] = ()
    max_prefixes: int = MAX_PREFIXES
    #: The tier of its generated watches.
    tier: Tier = Tier.REALTIME


@dataclass(frozen=True)
class ChannelConfig:
    """A notification channel: where to send, and which alerts go there (empty = all)."""

    name: str
    url: Secret
    type: str = "apprise"
    severities: frozenset[Severity] = frozenset()
    rules: frozenset[str] = frozenset()
    #: Label matchers: every one must equal the alert's label (a prefix's labels route it).
    labels: Mapping[str, str] = field(default_factory=dict)

    def routes(
        self, rule: str, severity: Severity, labels: Mapping[str, str] | None = None
    ) -> bool:
        """Whether an alert of `rule` at `severity` carrying `labels` goes to this channel."""
        given = labels or {}
        return (
            (not self.severities or severity in self.severities)
            and (not self.rules or rule in self.rules)
            and all(given.get(k) == v for k, v in self.labels.items())
        )


@dataclass(frozen=True)
class NotificationsConfig:
    """When to notify and through which channels."""

    repeat_interval: float = 4 * 3600.0
    send_resolved: bool = True
    group_wait: float = 10.0
    max_backoff: float = 300.0
    channels: tuple[ChannelConfig, ...] = ()


@dataclass(frozen=True)
class HttpConfig:
    """The one HTTP listener for metrics, health, API and the status page."""

    host: str = "127.0.0.1"
    port: int = 9847
    #: TLS and basic auth from `web_config_file`, loaded with the config so `check` sees errors.
    web: WebConfig | None = None
    #: Shown on the status page, so that two replicas can be told apart (default: host name).
    instance: str = ""


@dataclass(frozen=True)
class StateConfig:
    """Where alerts and the notification outbox persist."""

    path: Path = Path("radar-monitor-state.db")


#: RIS Live's public endpoint; `client` identifies us, as RIPE asks.
DEFAULT_STREAM_URL = "wss://ris-live.ripe.net/v1/ws/?client=radar-monitor"


@dataclass(frozen=True)
class StreamConfig:
    """RIS Live: the section's presence turns the stream on."""

    url: str = DEFAULT_STREAM_URL
    #: Disconnected this long: the built-in `stream-down` alert.
    max_down: float = 120.0
    #: No canary (beacon) update this long: the built-in `stream-stale` alert.
    stale_after: float = 4.5 * 3600
    #: At most one confirming Radar fetch per prefix this often.
    confirm_interval: float = 30.0
    #: A more-specific unseen this long stops being tracked.
    forget_after: float = 3600.0


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    source: SourceConfig
    prefixes: tuple[PrefixConfig, ...]
    rules: tuple[Rule, ...]
    notifications: NotificationsConfig = NotificationsConfig()
    http: HttpConfig = HttpConfig()
    state: StateConfig = StateConfig()
    silences: tuple[Silence, ...] = ()
    #: None: no stream, polling only.
    stream: StreamConfig | None = None
    file: str = ""
    asns: tuple[AsConfig, ...] = ()
