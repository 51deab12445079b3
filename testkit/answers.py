"""Synthetic Cloudflare Radar realtime-routes answers, for tests and benchmarks.

EVERY REALTIME ANSWER THIS MODULE PRODUCES IS SYNTHETIC. No recorded response of
`GET /radar/bgp/routes/realtime` is public, so `make_answer` builds answers from the documented
schema (`/work/shared/seed/radar-bgp-routes-realtime.txt`, `radar-api-notes.md`): the collector
names, ASNs, AS paths, communities, peer counts and timestamps are plausible inventions, not data.
`testkit.fakeradar` serves them over HTTP.
"""

from __future__ import annotations

import ipaddress
import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

#: RIPE RIS collectors in service (rrc02, rrc08, rrc09 and rrc17 are retired).
RIS_COLLECTORS: tuple[str, ...] = tuple(f"rrc{n:02d}" for n in range(27) if n not in (2, 8, 9, 17))
#: RouteViews collectors, named as the RouteViews archive names them.
ROUTEVIEWS_COLLECTORS: tuple[str, ...] = (
    "route-views2",
    "route-views3",
    "route-views4",
    "route-views5",
    "route-views6",
    "route-views.amsix",
    "route-views.chicago",
    "route-views.chile",
    "route-views.eqix",
    "route-views.flix",
    "route-views.gorex",
    "route-views.isc",
    "route-views.kixp",
    "route-views.jinx",
    "route-views.linx",
    "route-views.napafrica",
    "route-views.nwax",
    "route-views.phoix",
    "route-views.telxatl",
    "route-views.wide",
    "route-views.sydney",
    "route-views.saopaulo",
    "route-views.sg",
    "route-views.perth",
    "route-views.sfmix",
    "route-views.mwix",
    "route-views.rio",
    "route-views.bdix",
    "route-views.uaeix",
    "route-views.ny",
)
COLLECTORS: tuple[str, ...] = RIS_COLLECTORS + ROUTEVIEWS_COLLECTORS
#: RouteViews' own AS, which some RouteViews AS paths start with.
ROUTEVIEWS_ASN = 6447
#: Transit networks used as upstreams and in the middle of paths.
_TRANSIT = (174, 1299, 2914, 3257, 3356, 3491, 6453, 6461, 6762, 6939, 7018, 9002)
#: Networks that peer with route collectors.
_PEERS = (
    *_TRANSIT,
    293, 1221, 2497, 3130, 4637, 5511, 7660, 8220, 11537, 12956, 20912, 24482,
    34549, 37100, 47692, 49788, 57695, 61218, 211398, 398465,
)  # fmt: skip
_COMMUNITY_VALUES = (100, 200, 666, 1000, 2000, 3000, 10000, 20000, 30000)
_KNOWN_ASNS: dict[int, tuple[str, str, str, str]] = {
    13335: ("CLOUDFLARENET", "US", "CLOUD14-ARIN", "Cloudflare, Inc."),
    15169: ("GOOGLE", "US", "GOGL-ARIN", "Google LLC"),
    16509: ("AMAZON-02", "US", "AMAZON-4-ARIN", "Amazon.com, Inc."),
    3333: ("RIPE-NCC-AS", "NL", "ORG-RIEN1-RIPE", "Reseaux IP Europeens Network Coordination"),
}
#: Default share of peers that see an origin when `OriginSpec` gives no count.
DEFAULT_RATIO = 0.95

TsStyle = Literal["naive", "z", "offset", "fraction"]


@dataclass(frozen=True)
class OriginSpec:
    """One origin AS of a synthetic answer.

    `visible` and `total` are peer counts; left out, `total` is the answer's peer total and
    `visible` is `ratio` of `total`. Routes are shared among origins in proportion to `visible`.
    """

    asn: int
    rpki: str = "valid"
    visible: int | None = None
    total: int | None = None
    ratio: float = DEFAULT_RATIO


def make_answer(
    prefix: str,
    origins: Sequence[OriginSpec] | None = None,
    *,
    n_collectors: int = 50,
    n_routes: int = 600,
    data_time: datetime | None = None,
    seed: int = 0,
    collector_age: dict[str, timedelta] | None = None,
    ts_style: str = "naive",
) -> dict[str, Any]:
    """A SYNTHETIC realtime-routes envelope for `prefix`, deterministic for a given seed.

    `origins` defaults to AS13335 alone; an empty list means nobody sees the prefix.
    `n_routes` routes are spread over the origins and over `n_collectors` collectors whose peer
    counts add up to the answer's peer total (about `n_routes / 0.95`). `data_time` (naive
    means UTC) defaults to half a minute ago, the only non-deterministic input.
    `collector_age` sets how far behind `data_time` the named collectors' realtime feed is
    (their update and RIB files date from that same moment); named collectors are always listed.
    `ts_style` formats every timestamp: naive, z (`Z`), offset (`+00:00`) or fraction (`.ffffffZ`).
    """
    if ts_style not in get_args(TsStyle):
        raise ValueError(f"ts_style must be one of {get_args(TsStyle)}, not {ts_style!r}")
    ages = dict(collector_age or {})
    low, high = max(1, len(ages)), len(set(COLLECTORS) | set(ages))
    if not low <= n_collectors <= high:
        raise ValueError(f"n_collectors must be between {low} and {high}")
    if n_routes < 0:
        raise ValueError("n_routes must not be negative")
    rng = random.Random(seed)
    specs = (OriginSpec(13335),) if origins is None else tuple(origins)
    if data_time is None:
        data_time = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    data_time = _as_utc(data_time)
    v6 = ipaddress.ip_network(prefix, strict=False).version == 6

    def ts(value: datetime) -> str:
        return _format_ts(value, ts_style)

    total_peers = max(n_collectors, round(n_routes / DEFAULT_RATIO))
    names = sorted(
        [*ages, *rng.sample([c for c in COLLECTORS if c not in ages], n_collectors - len(ages))]
    )
    af_peers = [
        n + 1 for n in _split(total_peers - len(names), [rng.lognormvariate(0, 0.7) for _ in names])
    ]
    freshest = rng.randrange(len(names))
    collectors: list[dict[str, Any]] = []
    realtime: dict[str, datetime] = {}
    for i, (name, peers) in enumerate(zip(names, af_peers, strict=True)):
        lag = timedelta(seconds=0 if i == freshest else rng.uniform(1, 150))
        seen = data_time - ages.get(name, lag)
        realtime[name] = seen
        updates_every, rib_every = (300, 8 * 3600) if name.startswith("rrc") else (900, 2 * 3600)
        other_af = round(peers * rng.uniform(0.4, 0.9))
        v4, v6_count = (other_af, peers) if v6 else (peers, other_af)
        collectors.append(
            {
                "collector": name,
                "latest_realtime_ts": ts(seen),
                "latest_updates_ts": ts(_floor(seen - _minutes(rng, 5, 10), updates_every)),
                "latest_rib_ts": ts(_floor(seen - _minutes(rng, 20, 90), rib_every)),
                "peers_count": max(v4, v6_count) + rng.randint(0, min(v4, v6_count) // 4),
                "peers_v4_count": v4,
                "peers_v6_count": v6_count,
            }
        )

    prefix_origins: list[dict[str, Any]] = []
    visibles: list[int] = []
    for spec in specs:
        total = total_peers if spec.total is None else spec.total
        visible = round(spec.ratio * total) if spec.visible is None else spec.visible
        visibles.append(visible)
        prefix_origins.append(
            {
                "origin": spec.asn,
                "prefix": prefix,
                "rpki_validation": spec.rpki,
                "total_peers": total,
                "total_visible": visible,
                "visibility": round(visible / total, 6) if total else 0.0,
            }
        )

    slots = [name for name, peers in zip(names, af_peers, strict=True) for _ in range(peers)]
    rng.shuffle(slots)
    origin_asns = {s.asn for s in specs}
    routes: list[dict[str, Any]] = []
    for spec, count in zip(specs, _split(n_routes, visibles), strict=True):
        upstreams = rng.sample([a for a in _TRANSIT if a not in origin_asns], rng.randint(1, 3))
        for _ in range(count):
            collector = slots[len(routes) % len(slots)]
            path = _as_path(rng, collector, spec.asn, upstreams, origin_asns)
            age = timedelta(seconds=rng.randint(30, 14 * 86400), microseconds=rng.randrange(10**6))
            routes.append(
                {
                    "as_path": path,
                    "collector": collector,
                    "communities": _communities(rng, path),
                    "prefix": prefix,
                    "timestamp": ts(realtime[collector] - age),
                }
            )

    return {
        "success": True,
        "errors": [],
        "messages": [],
        "result": {
            "meta": {
                "asn_info": [_asn_info(asn) for asn in dict.fromkeys(s.asn for s in specs)],
                "collectors": collectors,
                "data_time": ts(data_time),
                "prefix_origins": prefix_origins,
                "query_time": ts(data_time + timedelta(seconds=rng.uniform(1, 25))),
                # Unknown fields: the decoder must ignore what it does not know.
                "synthetic": True,
                "confidence_info": {"level": 5, "annotations": []},
            },
            "routes": routes,
        },
    }


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _format_ts(value: datetime, style: str) -> str:
    if style == "fraction":
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    suffix = {"naive": "", "z": "Z", "offset": "+00:00"}[style]
    return value.strftime("%Y-%m-%dT%H:%M:%S") + suffix


def _minutes(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(seconds=rng.uniform(low * 60, high * 60))


def _floor(value: datetime, every: int) -> datetime:
    """`value` rounded down to a multiple of `every` seconds (MRT files start on the grid)."""
    epoch = int(value.timestamp())
    return datetime.fromtimestamp(epoch - epoch % every, UTC)


def _split(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split in proportion to `weights` (largest remainder; all zero if weights are)."""
    weight_sum = sum(weights)
    if total <= 0 or weight_sum <= 0:
        return [0] * len(weights)
    exact = [total * w / weight_sum for w in weights]
    parts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(parts)), key=lambda i: parts[i] - exact[i])
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _as_path(
    rng: random.Random, collector: str, origin: int, upstreams: list[int], origins: set[int]
) -> list[int]:
    """A loop-free path of 2-8 ASes from the collector's peer to `origin`, maybe prepended."""
    peer = rng.choice([a for a in _PEERS if a not in origins])
    upstream = rng.choice(upstreams)
    middle: list[int] = []
    if peer != upstream:
        candidates = [a for a in _TRANSIT if a not in (peer, upstream) and a not in origins]
        middle = rng.sample(candidates, rng.choice((0, 0, 1, 1, 2)))
    head = [peer, *middle, upstream] if peer != upstream else [peer]
    if collector.startswith("route-views") and rng.random() < 0.3:
        head.insert(0, ROUTEVIEWS_ASN)
    return [*head, *[origin] * rng.choice((1, 1, 1, 1, 1, 1, 2, 2, 3))]


def _communities(rng: random.Random, path: list[int]) -> list[str]:
    """A few `asn:value` communities set by 16-bit ASes on the path."""
    small = [a for a in dict.fromkeys(path) if a <= 0xFFFF and a != ROUTEVIEWS_ASN]
    picked = rng.sample(small, min(len(small), rng.randint(0, 3)))
    return [f"{asn}:{rng.choice(_COMMUNITY_VALUES)}" for asn in picked]


def _asn_info(asn: int) -> dict[str, Any]:
    name, country, org_id, org_name = _KNOWN_ASNS.get(
        asn, (f"SYNTHETIC-AS{asn}", "ZZ", f"ORG-SYN{asn}-RIPE", f"Synthetic network AS{asn}")
    )
    return {
        "asn": asn,
        "as_name": name,
        "country_code": country,
        "org_id": org_id,
        "org_name": org_name,
    }


def encode(answer: dict[str, Any]) -> bytes:
    """Compact JSON bytes of an answer, as Cloudflare sends them."""
    return json.dumps(answer, separators=(",", ":")).encode()
