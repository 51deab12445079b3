"""bench_load's workload: its prefixes, their synthetic answers and the daemon's config."""

from __future__ import annotations

import argparse
import collections
import ipaddress
import random
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testkit.answers import OriginSpec, encode, make_answer
from testkit.config import RPKI_INVALID, daemon_yaml, write_config

V4_PLACEHOLDER = "192.0.2.0/24"
V6_PLACEHOLDER = "2001:db8::/48"
#: Past this many prefixes the config has no per-prefix `labels` (see `daemon_config`).
LABELS_UP_TO = 8000


#: The five rules of both load benchmarks' daemons.
RULES = [
    RPKI_INVALID,
    "{name: unexpected-origin, type: unexpected_origin, severity: critical,"
    " min_visibility: 0.01, min_peers: 2}",
    "{name: low-visibility, type: visibility_below, threshold: 0.8, for: 1m, severity: warning}",
    # The answers' timestamps date from their generation: generous ages keep hours-long runs
    # from turning every prefix stale halfway through.
    "{name: stale-collectors, type: stale_collector, max_age: 6h, severity: warning}",
    "{name: stale-radar, type: stale_data, max_age: 6h, severity: warning}",
]


@dataclass(frozen=True)
class Template:
    """One synthetic answer, made for a placeholder prefix, and the origins to expect."""

    body: bytes
    placeholder: bytes
    origins: tuple[int, ...]
    kind: str  # normal, moas, hijacked, low-visibility
    routes: int


@dataclass(frozen=True)
class Watched:
    """One prefix of the run: its config entry and the bytes the fake serves for it."""

    prefix: str
    origins: tuple[int, ...]
    kind: str
    body: bytes


def make_prefixes(count: int, rng: random.Random) -> list[str]:
    """`count` distinct global prefixes: 90% IPv4 /24s, the rest IPv6 /48s."""
    v6_count = count // 10
    seen: set[str] = set()
    v4: list[str] = []
    while len(v4) < count - v6_count:
        a, b, c = rng.randint(1, 223), rng.randrange(256), rng.randrange(256)
        net = ipaddress.ip_network(f"{a}.{b}.{c}.0/24")
        if net.is_global and not net.is_multicast and str(net) not in seen:
            seen.add(str(net))
            v4.append(str(net))
    v6: list[str] = []
    while len(v6) < v6_count:
        text = (
            f"2a{rng.randrange(16):02x}:{rng.randrange(1, 65536):x}:{rng.randrange(65536):x}::/48"
        )
        net6 = str(ipaddress.ip_network(text))
        if net6 not in seen:
            seen.add(net6)
            v6.append(net6)
    mixed = v4 + v6
    rng.shuffle(mixed)
    return mixed


def make_templates(count: int, rng: random.Random) -> dict[tuple[int, str], list[Template]]:
    """Answers by (IP version, kind): mostly normal, a few MOAS, hijacked and low-visibility."""
    v6_count = max(5, count // 5)  # 20% of the templates are IPv6 (10% of the prefixes)
    plan: list[tuple[int, str]] = []
    for version, total, few in ((4, count - v6_count, 2), (6, v6_count, 1)):
        kinds = ["hijacked"] * few + ["low-visibility"] * few + ["moas"] * (few + 1)
        plan += [(version, kind) for kind in kinds + ["normal"] * (total - len(kinds))]
    templates: dict[tuple[int, str], list[Template]] = collections.defaultdict(list)
    for i, (version, kind) in enumerate(plan):
        asn = 64500 + i if i % 7 else 13335
        routes = rng.randint(200, 500)
        specs: list[OriginSpec]
        origins: tuple[int, ...] = (asn,)
        if kind == "hijacked":
            specs = [OriginSpec(asn, ratio=0.9), OriginSpec(64666, rpki="invalid", ratio=0.3)]
        elif kind == "low-visibility":
            specs = [OriginSpec(asn, ratio=0.5)]
        elif kind == "moas":
            origins = (asn, 65000 + i)
            specs = [OriginSpec(asn, ratio=0.6), OriginSpec(65000 + i, ratio=0.5)]
        else:
            rpki = rng.choice(("valid", "valid", "valid", "unknown"))
            specs = [OriginSpec(asn, rpki=rpki, ratio=rng.uniform(0.93, 0.99))]
        placeholder = V6_PLACEHOLDER if version == 6 else V4_PLACEHOLDER
        body = encode(make_answer(placeholder, specs, n_routes=routes, seed=i))
        templates[(version, kind)].append(
            Template(body, f'"{placeholder}"'.encode(), origins, kind, routes)
        )
    return templates


def make_workload(count: int, special: int, n_templates: int, seed: int) -> list[Watched]:
    """`count` prefixes with their own answers; `special` each of hijacked and low-visibility."""
    rng = random.Random(seed)
    templates = make_templates(n_templates, rng)
    prefixes = make_prefixes(count, rng)
    watched: list[Watched] = []
    for i, prefix in enumerate(prefixes):
        version = ipaddress.ip_network(prefix).version
        kind = "hijacked" if i < special else "low-visibility" if i < 2 * special else "normal"
        if kind == "normal" and rng.random() < 0.05:
            kind = "moas"
        template = rng.choice(templates[(version, kind)])
        body = template.body.replace(template.placeholder, f'"{prefix}"'.encode())
        watched.append(Watched(prefix, template.origins, kind, body))
    rng.shuffle(watched)
    return watched


def daemon_config(
    folder: Path, base_url: str, watched: list[Watched], args: argparse.Namespace, port: int
) -> Path:
    """The daemon's config in `folder`: every prefix with its expected origins, five rules, no
    channels; its path."""
    source = {
        "interval": f"{args.interval:g}s",
        "timeout": f"{args.timeout:g}s",
        "concurrency": args.concurrency,
        "budget": args.budget,
        "budget_window": "5m",
        "retries": args.retries,
        "max_failures": 3,
    }
    # The config loader refuses more than 100,000 YAML nodes: a labels mapping is 4 per prefix.
    with_labels = len(watched) <= LABELS_UP_TO
    prefixes = [
        f"{{prefix: {w.prefix}, origins: [{', '.join(map(str, w.origins))}],"
        f" description: {w.kind} {i}" + (f", labels: {{team: t{i % 8}}}}}" if with_labels else "}")
        for i, w in enumerate(watched)
    ]
    text = daemon_yaml(
        base_url, prefixes, RULES, source=source, port=port, state=folder / "state.db"
    )
    return write_config(folder, text)
