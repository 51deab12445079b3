"""Which frames one RIS Live connection gets: those about a prefix it subscribed, or about a
more-specific of a prefix it subscribed with `moreSpecific` (a less-specific never), or (an
announcement) whose origin AS it subscribed by path, `64500$`."""

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


def origin_of(path: object) -> int | None:
    """The AS of the origin-path filter `64500$`, the only path filter the fake knows; None
    for any other."""
    if isinstance(path, str) and path.endswith("$") and path[:-1].isdigit():
        return int(path[:-1])
    return None


class SubscriptionFilter:
    """The subscriptions of one connection, matched by masking: a few lookups per frame."""

    def __init__(self) -> None:
        self._subs: dict[Key, bool] = {}
        self._lengths: dict[int, set[int]] = {4: set(), 6: set()}
        self._origins: set[int] = set()

    def add(self, target: str, more_specific: bool) -> None:
        """Subscribe `target` (a canonical prefix, with its more-specifics or alone, or an
        origin path)."""
        origin = origin_of(target)
        if origin is not None:
            self._origins.add(origin)
            return
        prefix = key(target)
        assert prefix is not None
        self._subs[prefix] = more_specific
        self._lengths[prefix[0]].add(prefix[2])

    def remove(self, target: str) -> None:
        """Unsubscribe `target`."""
        self._origins.discard(origin_of(target) or -1)
        self._subs.pop(key(target) or (0, 0, 0), None)

    def wants(self, frame_prefix: Key, origin: int | None = None) -> bool:
        """Whether a frame about `frame_prefix` (announced by `origin`) passes these
        subscriptions."""
        if origin in self._origins:
            return True
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
