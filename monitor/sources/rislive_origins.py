"""Which routes of RIS Live's origin-path subscriptions (`64500$`) matter past the source.

A path subscription brings every route a followed AS originates, most of them for prefixes
already watched (and judged from their own subscription). What is left, a followed AS
originating a prefix the socket does not watch, is handed on as a `StreamOrigination`, the
core's type; whether it is new, excluded or inside a watched prefix is decided past the source.
Withdrawals say nothing about who originates what, and are not looked at.
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.core.origins import StreamOrigination
from monitor.core.stream import PeerRoute
from monitor.sources.rislive_subscriptions import Subscriptions

#: Where the routes of followed ASes for prefixes not watched go.
OnOrigination = Callable[[StreamOrigination], None]


class OriginTap:
    """Hands on the routes of followed ASes for prefixes `subscriptions` does not watch."""

    def __init__(self, subscriptions: Subscriptions, on_origination: OnOrigination) -> None:
        self._subscriptions = subscriptions
        self._on_origination = on_origination

    def routes(self, routes: tuple[PeerRoute, ...]) -> None:
        """Hand on each of `routes` a followed AS originates for a prefix not watched."""
        origins, watched = self._subscriptions.origins, self._subscriptions.watched
        for route in routes:
            if route.origin in origins and route.prefix not in watched:
                assert route.origin is not None
                self._on_origination(
                    StreamOrigination(
                        route.origin,
                        route.prefix,
                        route.as_path,
                        route.peer.collector,
                        route.seen_at,
                    )
                )
