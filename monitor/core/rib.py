"""What RIS peers route now, per prefix: the latest route of each peer, from the stream.

A stream says, one peer at a time, what changed. Kept here is its sum: for every watched
prefix and every more-specific seen inside one, each peer's latest route (an announcement
replaces it, a withdrawal removes it). It is bounded whatever the stream sends: at most
`max_prefixes` more-specifics, `max_peers` peers per prefix and `max_routes` routes in all
(about 300 bytes each: 60 MB at the default). RIS has about 1,500 peers, a few hundred of
them with full tables, so a busy prefix fits whole and a flood is cut, counted in `refused`.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime

from monitor.core.stream import Peer, PeerRoute, StreamUpdate

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: More-specifics tracked at most across all watched prefixes.
MAX_PREFIXES = 10_000
#: Peers kept per prefix (a route collector peer with a full table sees each prefix once).
MAX_PEERS = 2_000
#: Routes kept in all.
MAX_ROUTES = 200_000


class StreamRib:
    """The latest route of every peer, for watched prefixes and the more-specifics inside them."""

    def __init__(
        self,
        watched: Iterable[str] = (),
        *,
        max_prefixes: int = MAX_PREFIXES,
        max_peers: int = MAX_PEERS,
        max_routes: int = MAX_ROUTES,
    ) -> None:
        self.max_prefixes = max_prefixes
        self.max_peers = max_peers
        self.max_routes = max_routes
        self._count = 0
        self._more_specifics: set[str] = set()
        self._routes: dict[str, dict[Peer, PeerRoute]] = {}
        self._parents: dict[str, str] = {}
        self._last_seen: dict[str, datetime] = {}
        self._watched: dict[str, Network] = {}
        #: Updates left out because a bound was reached (for a metric and the log).
        self.refused = 0
        #: Routes learnt before the last reconnect: missed updates may have changed them.
        self.possibly_stale: set[str] = set()
        self.watch(watched)

    def watch(self, prefixes: Iterable[str]) -> None:
        """Follow exactly `prefixes` (a reload): routes of prefixes no longer inside one go."""
        self._watched = {p: ipaddress.ip_network(p) for p in prefixes}
        # By (version, length): a parent is found with one lookup per length, not a scan.
        self._by_length: dict[tuple[int, int], dict[Network, str]] = {}
        for name, network in self._watched.items():
            self._by_length.setdefault((network.version, network.prefixlen), {})[network] = name
        self._lengths = sorted(self._by_length, key=lambda k: -k[1])
        for prefix in list(self._routes):
            parent = self.parent_of(prefix)
            if parent is None:
                self._drop(prefix)
                continue
            self._parents[prefix] = parent
            if prefix in self._watched:
                self._more_specifics.discard(prefix)
            else:
                self._more_specifics.add(prefix)

    def parent_of(self, prefix: str) -> str | None:
        """The watched prefix `prefix` is (or lies inside), the most specific one; None: none."""
        if prefix in self._watched:
            return prefix
        network = ipaddress.ip_network(prefix)
        for version, length in self._lengths:
            if version == network.version and length <= network.prefixlen:
                found = self._by_length[version, length].get(network.supernet(new_prefix=length))
                if found is not None:
                    return found
        return None

    def apply(self, update: StreamUpdate) -> set[str]:
        """Take in one update; returns the tracked prefixes whose routes changed."""
        changed: set[str] = set()
        tracked, last_seen, stale = self._routes, self._last_seen, self.possibly_stale
        for route in update.routes:
            prefix, peer = route.prefix, route.peer
            kept = tracked.get(prefix)
            if kept is None:
                if not self._admit(prefix):
                    continue
                kept = tracked[prefix] = {}
            same = kept.get(peer)
            if same is None:
                if len(kept) >= self.max_peers or self._count >= self.max_routes:
                    self.refused += 1
                    continue
                self._count += 1
            kept[peer] = route  # a repeat too: fresher, though nothing to judge
            last_seen[prefix] = route.seen_at
            stale.discard(prefix)
            if same is None or same.as_path != route.as_path:
                changed.add(prefix)
        for withdrawal in update.withdrawals:
            routes = tracked.get(withdrawal.prefix)
            if routes is not None and routes.pop(withdrawal.peer, None) is not None:
                self._count -= 1
                last_seen[withdrawal.prefix] = withdrawal.seen_at
                changed.add(withdrawal.prefix)
        return changed

    def _admit(self, prefix: str) -> bool:
        """Whether to start tracking `prefix` (inside a watched prefix, within the bounds)."""
        parent = self.parent_of(prefix)
        if parent is None:
            return False  # outside everything watched: a subscription not ours
        more_specific = prefix not in self._watched
        if more_specific and len(self._more_specifics) >= self.max_prefixes:
            self.refused += 1
            return False
        if self._count >= self.max_routes:
            self.refused += 1
            return False
        self._parents[prefix] = parent
        if more_specific:
            self._more_specifics.add(prefix)
        return True

    def tracks(self, prefix: str) -> bool:
        """Whether the stream mentioned `prefix` (until forgotten), even if all withdrew it."""
        return prefix in self._routes

    def routes(self, prefix: str) -> tuple[PeerRoute, ...]:
        """Every peer's current route for `prefix`."""
        return tuple(self._routes.get(prefix, {}).values())

    def origins(self, prefix: str) -> Mapping[int, int]:
        """Peers that route `prefix` now, by origin AS (routes ending in an AS_SET left out)."""
        return Counter(r.origin for r in self.routes(prefix) if r.origin is not None)

    def more_specifics(self, parent: str) -> list[str]:
        """The tracked prefixes inside watched `parent` (not `parent` itself)."""
        return sorted(p for p, owner in self._parents.items() if owner == parent and p != parent)

    def reconnected(self) -> None:
        """The stream came back: what it said before may have changed unseen."""
        self.possibly_stale = set(self._routes)

    def forget(self, now: datetime, after: float) -> list[str]:
        """Forget the more-specifics no update mentioned for `after` seconds; returns them."""
        gone = [
            prefix
            for prefix, seen in self._last_seen.items()
            if prefix not in self._watched and (now - seen).total_seconds() >= after
        ]
        for prefix in gone:
            self._drop(prefix)
        return gone

    def _drop(self, prefix: str) -> None:
        self._count -= len(self._routes.pop(prefix, {}))
        self._parents.pop(prefix, None)
        self._more_specifics.discard(prefix)
        self._last_seen.pop(prefix, None)
        self.possibly_stale.discard(prefix)

    @property
    def more_specific_count(self) -> int:
        """More-specifics tracked, under every watched prefix."""
        return len(self._more_specifics)
