"""The incident the end-to-end tests stage: which prefix belongs to whom, and what Radar shows
of it before, during and after a hijack (origins for `FakeRadar.set_prefix`).

CLEAN is watched for AS64500 and never hijacked; VICTIM is watched for AS64501 and hijacked by
AS666, whose route is RPKI invalid. Prefixes are from the documentation ranges (RFC 5737,
RFC 3849).
"""

from __future__ import annotations

from testkit.answers import OriginSpec

CLEAN = "192.0.2.0/24"
VICTIM = "198.51.100.0/24"
V6 = "2001:db8::/32"
HIJACKER = 666

Origins = tuple[OriginSpec, ...]


def hijacked(owner: int, *, kept: float = 0.55, taken: float = 0.40) -> Origins:
    """`owner` seen by `kept` of the peers, AS666 (RPKI invalid) by `taken`."""
    return (OriginSpec(owner, ratio=kept), OriginSpec(HIJACKER, rpki="invalid", ratio=taken))


#: CLEAN as it should be: AS64500 alone, seen by 97% of the peers.
CLEAN_ORIGINS: Origins = (OriginSpec(64500, ratio=0.97),)
#: VICTIM before and after the hijack: AS64501 alone, seen by 97% of the peers.
VICTIM_ORIGINS: Origins = (OriginSpec(64501, ratio=0.97),)
#: VICTIM hijacked: AS64501 seen by 55%, AS666 by 40% (tests/e2e/test_contrib.py and
#: tests/e2e/test_cli.py check that share).
HIJACK: Origins = hijacked(64501)
#: An AS64500 prefix (CLEAN's owner) hijacked the same way: test_faults watches all its prefixes
#: for AS64500.
CLEAN_HIJACKED: Origins = hijacked(64500)
#: VICTIM hijacked with test_crash's numbers (AS64501 60%, AS666 35%), kept as they were while
#: that test's flakiness is being investigated.
HIJACK_35: Origins = hijacked(64501, kept=0.6, taken=0.35)
