"""The stream RIB: each peer's latest route per prefix, more-specifics under their parents, bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from monitor.core.rib import StreamRib
from monitor.core.stream import Peer, PeerRoute, PeerWithdrawal, StreamUpdate

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
PEERS = [Peer(f"rrc{i:02d}", f"192.0.2.{i}", 64_600 + i) for i in range(40)]


def announce(prefix: str, peer: Peer, *path: int, at: datetime = T0) -> StreamUpdate:
    return StreamUpdate((PeerRoute(prefix, peer, path, path[-1] if path else None, at),), ())


def withdraw(prefix: str, peer: Peer, at: datetime = T0) -> StreamUpdate:
    return StreamUpdate((), (PeerWithdrawal(prefix, peer, at),))


def test_an_announcement_replaces_a_peers_route_and_a_withdrawal_removes_it() -> None:
    rib = StreamRib(["203.0.113.0/24"])
    assert rib.apply(announce("203.0.113.0/24", PEERS[0], 174, 64500)) == {"203.0.113.0/24"}
    rib.apply(announce("203.0.113.0/24", PEERS[0], 3356, 64500))
    rib.apply(announce("203.0.113.0/24", PEERS[1], 6939, 64666))
    assert [r.as_path for r in rib.routes("203.0.113.0/24")] == [(3356, 64500), (6939, 64666)]
    assert dict(rib.origins("203.0.113.0/24")) == {64500: 1, 64666: 1}
    assert rib.apply(withdraw("203.0.113.0/24", PEERS[1])) == {"203.0.113.0/24"}
    assert dict(rib.origins("203.0.113.0/24")) == {64500: 1}
    assert rib.apply(withdraw("203.0.113.0/24", PEERS[1])) == set()  # nothing to withdraw


def test_a_more_specific_is_tracked_under_its_most_specific_watched_parent() -> None:
    rib = StreamRib(["10.0.0.0/8", "10.1.0.0/16", "2001:db8::/32"])
    rib.apply(announce("10.1.2.0/24", PEERS[0], 174, 666))
    rib.apply(announce("10.2.0.0/24", PEERS[0], 174, 666))
    rib.apply(announce("2001:db8:1::/48", PEERS[0], 174, 666))
    assert rib.more_specifics("10.1.0.0/16") == ["10.1.2.0/24"]
    assert rib.more_specifics("10.0.0.0/8") == ["10.2.0.0/24"]
    assert rib.more_specifics("2001:db8::/32") == ["2001:db8:1::/48"]
    assert rib.parent_of("192.0.2.0/24") is None
    # An update about something nobody watches (another client's subscription) is ignored.
    assert rib.apply(announce("192.0.2.0/24", PEERS[0], 174, 666)) == set()


def test_a_reload_drops_what_is_no_longer_inside_a_watched_prefix() -> None:
    rib = StreamRib(["10.0.0.0/8", "192.0.2.0/24"])
    rib.apply(announce("10.1.0.0/16", PEERS[0], 174, 666))
    rib.apply(announce("192.0.2.0/25", PEERS[0], 174, 666))
    rib.watch(["192.0.2.0/24"])
    assert rib.routes("10.1.0.0/16") == ()
    assert rib.more_specifics("192.0.2.0/24") == ["192.0.2.0/25"]


def test_a_flood_is_cut_at_every_bound_and_counted() -> None:
    rib = StreamRib(["10.0.0.0/8"], max_prefixes=5, max_peers=3, max_routes=12)
    for i in range(10):  # ten new more-specifics: five are kept
        rib.apply(announce(f"10.0.{i}.0/24", PEERS[0], 174, 666))
    assert len(rib.more_specifics("10.0.0.0/8")) == 5 == rib.more_specific_count
    for peer in PEERS[:10]:  # ten peers for one prefix: three are kept
        rib.apply(announce("10.0.0.0/24", peer, 174, 666))
    assert len(rib.routes("10.0.0.0/24")) == 3
    assert rib.refused == 5 + 7
    for peer in PEERS[:10]:
        for i in range(1, 5):
            rib.apply(announce(f"10.0.{i}.0/24", peer, 174, 666))
    assert sum(len(rib.routes(p)) for p in rib.more_specifics("10.0.0.0/8")) == 12


def test_quiet_more_specifics_are_forgotten_watched_prefixes_never() -> None:
    rib = StreamRib(["10.0.0.0/8"])
    rib.apply(announce("10.0.0.0/8", PEERS[0], 174, 64500))
    rib.apply(announce("10.1.0.0/16", PEERS[0], 174, 666))
    rib.apply(announce("10.2.0.0/16", PEERS[0], 174, 666, at=T0 + timedelta(minutes=50)))
    assert rib.forget(T0 + timedelta(hours=1), 3600) == ["10.1.0.0/16"]
    assert rib.more_specifics("10.0.0.0/8") == ["10.2.0.0/16"]
    assert rib.routes("10.0.0.0/8") != ()


def test_after_a_reconnect_what_was_learnt_counts_as_possibly_stale() -> None:
    rib = StreamRib(["10.0.0.0/8"])
    rib.apply(announce("10.0.0.0/8", PEERS[0], 174, 64500))
    rib.apply(announce("10.1.0.0/16", PEERS[0], 174, 666))
    rib.reconnected()
    assert rib.possibly_stale == {"10.0.0.0/8", "10.1.0.0/16"}
    rib.apply(announce("10.1.0.0/16", PEERS[1], 174, 666))
    assert rib.possibly_stale == {"10.0.0.0/8"}


@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 5), st.integers(0, 3), st.integers(1, 4)),
        max_size=200,
    )
)
def test_the_rib_is_the_last_word_of_every_peer(
    events: list[tuple[bool, int, int, int]],
) -> None:
    rib = StreamRib(["10.0.0.0/8"])
    expected: dict[tuple[str, Peer], tuple[int, ...]] = {}
    for is_announce, subnet, peer_index, origin in events:
        prefix, peer = f"10.{subnet}.0.0/16", PEERS[peer_index]
        if is_announce:
            rib.apply(announce(prefix, peer, 174, origin))
            expected[prefix, peer] = (174, origin)
        else:
            rib.apply(withdraw(prefix, peer))
            expected.pop((prefix, peer), None)
    seen = {
        (r.prefix, r.peer): r.as_path
        for p in rib.more_specifics("10.0.0.0/8")
        for r in rib.routes(p)
    }
    assert seen == expected


def test_a_repeated_announcement_refreshes_but_changes_nothing() -> None:
    rib = StreamRib(["10.0.0.0/8"])
    assert rib.apply(announce("10.1.0.0/16", PEERS[0], 174, 666)) == {"10.1.0.0/16"}
    later = T0 + timedelta(minutes=59)
    assert rib.apply(announce("10.1.0.0/16", PEERS[0], 174, 666, at=later)) == set()
    # Seen again: not forgotten an hour after the first announcement.
    assert rib.forget(T0 + timedelta(minutes=61), 3600) == []
