"""Which frames one RIS Live connection gets: those about a prefix it subscribed, or about a
more-specific of a prefix it subscribed with `moreSpecific` (a less-specific never)."""

from __future__ import annotations

import ipaddress

#: A prefix as (IP version, network address as an int, length): cheap to mask and compare.
Key = tuple[int, int, int]


def key(prefix: str) -> Key | None:
    """The key of `prefix` (host bits masked), None if it is not a prefix."""
    try:
        net = ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        return None
    return net.version, int(net.network_address), net.prefixlen


def canonical(prefix: str) -> str | None:
    """Canonical text of `prefix`, None if it is not a prefix."""
    try:
        return str(ipaddress.ip_network(prefix, strict=False))
    except ValueError:
        return None


class SubscriptionFilter:
    """The subscriptions of one connection, matched by masking: a few lookups per frame."""

    def __init__(self) -> None:
        self._subs: dict[Key, bool] = {}
        self._lengths: dict[int, set[int]] = {4: set(), 6: set()}

    def add(self, prefix: Key, more_specific: bool) -> None:
        """Subscribe `prefix`, with its more-specifics or alone."""
        self._subs[prefix] = more_specific
        self._lengths[prefix[0]].add(prefix[2])

    def remove(self, prefix: Key) -> None:
        """Unsubscribe `prefix`."""
        self._subs.pop(prefix, None)

    def wants(self, frame_prefix: Key) -> bool:
        """Whether a frame about `frame_prefix` passes these subscriptions."""
        version, address, length = frame_prefix
        bits = 32 if version == 4 else 128
        for sub_len in self._lengths[version]:
            if sub_len > length:
                continue
            masked = address >> (bits - sub_len) << (bits - sub_len) if sub_len else 0
            more = self._subs.get((version, masked, sub_len))
            if more is not None and (more or sub_len == length):
                return True
        return False
