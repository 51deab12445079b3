"""Builds the configured source: one place for `run`, `once` and `demo` alike."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from monitor.core.origins import StreamOrigination
from monitor.core.stream import StreamStatus, StreamUpdate
from monitor.ops.logs import register_secret
from monitor.ops.secret import Secret
from monitor.problems import ConfigError
from monitor.settings import SourceConfig, StreamConfig
from monitor.sources.base import (
    AuthError,
    OriginSource,
    PrefixSource,
    RequestObserver,
    StreamSource,
    TokenFileError,
)
from monitor.sources.radar_client import TOKEN_HELP, RadarClient, load_token
from monitor.sources.radar_events import RadarEvents
from monitor.sources.radar_pfx2as import RadarOrigins
from monitor.sources.radar_routes import RadarRoutes
from monitor.sources.replay import ReplaySource
from monitor.sources.rislive import RisLiveSource


def make_source(
    config: SourceConfig, *, require_token: bool, observer: RequestObserver | None = None
) -> PrefixSource:
    """The source of `config.type`; AuthError when Radar has no token and `require_token`,
    ConfigError when the configured token file cannot serve.

    The daemon starts without a token (every poll then raises the `source-auth` alert), while
    a one-shot command has nobody to alert and says so at once.
    """
    if config.type == "replay":
        assert config.file is not None  # the config loader requires it for replay
        return ReplaySource(config.file, loop=config.loop)
    token = configured_token(config)
    if token is None and require_token:
        raise AuthError(f"no API token found; {TOKEN_HELP}")
    if token is not None:
        register_secret(token.reveal())
    return RadarRoutes(RadarClient(config, token, observer=observer))


def make_origin_source(config: SourceConfig, max_prefixes: int) -> OriginSource:
    """Radar's answers about what an AS originates (at most `max_prefixes` per AS); AuthError
    without a token, ConfigError when the token file cannot serve."""
    token = configured_token(config)
    if token is None:
        raise AuthError(f"no API token found; {TOKEN_HELP}")
    register_secret(token.reveal())
    return RadarOrigins(RadarClient(config, token), max_prefixes)


def make_events(source: PrefixSource) -> RadarEvents | None:
    """Radar's detectors through `source`'s client (one budget), None if it is not Radar."""
    return RadarEvents(source.client) if isinstance(source, RadarRoutes) else None


def make_origins(source: PrefixSource) -> Callable[[int], RadarOrigins] | None:
    """What ASes originate through `source`'s client (one budget), for a cap of prefixes per
    AS; None if it is not Radar."""
    if not isinstance(source, RadarRoutes):
        return None
    client = source.client
    return lambda cap: RadarOrigins(client, cap)


def make_stream(
    config: StreamConfig,
    prefixes: Iterable[str],
    *,
    on_update: Callable[[StreamUpdate, float], None],
    on_status: Callable[[StreamStatus], None],
    on_canary: Callable[[datetime], None],
    on_error: Callable[[str], None],
    on_malformed: Callable[[str], None],
    origins: Iterable[int] = (),
    on_origination: Callable[[StreamOrigination], None] = lambda seen: None,
) -> StreamSource:
    """The RIS Live stream for `prefixes` and what `origins` originate, handing what it sees
    to the callbacks."""
    return RisLiveSource(
        prefixes,
        url=config.url,
        on_update=on_update,
        on_status=on_status,
        on_canary=on_canary,
        on_error=on_error,
        on_malformed=on_malformed,
        origins=origins,
        on_origination=on_origination,
    )


def configured_token(config: SourceConfig) -> Secret | None:
    """The Radar token as `run` will read it (None: none configured, or no Radar source).

    `check` calls this too, so a token file that `run` cannot use fails `check` as well.
    """
    if config.type != "radar":
        return None
    try:
        return load_token(config.token_file)
    except TokenFileError as exc:  # a setting that cannot work: as bad as any other config
        raise ConfigError(exc.setting, exc.problem) from None
