"""Builds the configured source: one place for `run`, `once` and `demo` alike."""

from __future__ import annotations

from monitor.ops.logs import register_secret
from monitor.settings import SourceConfig
from monitor.sources.base import AuthError, PrefixSource, RequestObserver
from monitor.sources.radar_client import (
    TOKEN_HELP,
    RadarClient,
    UnreadableTokenError,
    load_token,
)
from monitor.sources.radar_routes import RadarRoutes
from monitor.sources.replay import ReplaySource


def make_source(
    config: SourceConfig, *, require_token: bool, observer: RequestObserver | None = None
) -> PrefixSource:
    """The source of `config.type`; AuthError when Radar has no token and `require_token`.

    The daemon starts without a token (every poll then raises the `source-auth` alert), while
    a one-shot command has nobody to alert and says so at once.
    """
    if config.type == "replay":
        assert config.file is not None  # the config loader requires it for replay
        return ReplaySource(config.file, loop=config.loop)
    token = load_token(config.token_file)
    if token is None and require_token:
        raise AuthError(f"no API token found; {TOKEN_HELP}")
    if token is not None:
        register_secret(token.reveal())
    return RadarRoutes(RadarClient(config, token, observer=observer))


def token_warnings(config: SourceConfig) -> list[str]:
    """What `check` says about the token; AuthError if the one found cannot work.

    `once` and `run` refuse such a token too. A token file that cannot be read from here is
    only a warning: `check` may run as another user, or where the token is not deployed.
    """
    if config.type != "radar":
        return []
    try:
        load_token(config.token_file)
    except UnreadableTokenError as exc:
        return [f"{exc} (once and run would stop there)"]
    return []
