"""One of each: visibility, percentages, durations, times and the names every part agrees on."""

from __future__ import annotations

import enum
import functools
import ipaddress
from datetime import UTC, datetime
from typing import Any

from monitor.core.observation import PrefixView, RouteView
from monitor.core.target import Target


def expected_visibility(target: Target, view: PrefixView) -> tuple[float, int, int]:
    """(ratio, visible peers, total peers) through the expected origins (all, if none are set).

    A prefix seen by nobody has visibility 0: empty answers are data, not errors.
    """
    total = view.total_peers
    visible = sum(
        o.visible_peers for o in view.origins if not target.origins or o.origin in target.origins
    )
    return (min(visible / total, 1.0) if total else 0.0), visible, total


def percent(ratio: float) -> str:
    """0.4567 → `45.7%`."""
    return f"{ratio * 100:.1f}%"


def seen_by(visibility: float, visible: int, total: int) -> str:
    """`seen by 45.0% of peers (450/1000)`."""
    return f"seen by {percent(visibility)} of peers ({visible}/{total})"


def as_label(asn: int, name: str) -> str:
    """`AS13335 (CLOUDFLARENET)`, or `AS13335` when no name is known."""
    return f"AS{asn} ({name})" if name else f"AS{asn}"


def collapsed(path: tuple[int, ...]) -> tuple[int, ...]:
    """`(6447, 174, 174, 13335)` → `(6447, 174, 13335)`: a prepend repeats an AS, not a hop."""
    # A plain loop: it runs for every route at every evaluation, 2-3x faster than groupby.
    hops: list[int] = []
    last = None
    for asn in path:
        if asn != last:
            hops.append(asn)
            last = asn
    return tuple(hops)


def path_text(path: tuple[int, ...]) -> str:
    """`6447 174 13335`: the form `as_path` patterns match and messages show."""
    return " ".join(map(str, path))


def path_samples(routes: list[RouteView], limit: int = 3) -> str:
    """`6447 174 13335 (rrc00); …`: the first `limit` distinct paths, collapsed and cut, sourced."""
    shown: dict[str, str] = {}
    for route in routes:
        text = clip(path_text(collapsed(route.as_path)), 160)
        shown.setdefault(text, route.collector)
        if len(shown) == limit:
            break
    return "; ".join(f"{text} ({where})" if where else text for text, where in shown.items())


def counted(n: int, noun: str, nouns: str = "") -> str:
    """`1 prefix`, `3 prefixes`, `2 ASes`: `n` and the noun in its number (plural: noun + s)."""
    return f"{n} {noun if n == 1 else nouns or noun + 's'}"


def duration(seconds: float) -> str:
    """3720 → `1h2m`, 95 → `1m35s`, 3600 → `1h`: the two largest units, zeros dropped."""
    total = max(0, round(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    shown = parts[:2]
    if len(shown) == 2 and shown[1][0] == 0:
        shown = shown[:1]
    return "".join(f"{value}{unit}" for value, unit in shown)


def utc_text(moment: datetime | None) -> str:
    """`2026-11-28 12:00:00 UTC`: one zone for everyone on call."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "unknown"


@functools.lru_cache(maxsize=4096)
def parse_utc(text: str) -> datetime:
    """An ISO 8601 time (naive means UTC, `Z`, any offset) as aware UTC; ValueError if not one.

    A time whose offset moves it outside the years 1..9999 (`0001-01-01T00:00:00+23:59`) is
    not one either: converting it overflows.
    """
    ts = datetime.fromisoformat(text.strip())
    try:
        return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text.strip()[:64]!r} is outside the years 1 to 9999 in UTC") from None


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, an ellipsis marking the cut.

    Text from outside is bounded where it comes in, so that one field cannot swell a page,
    the API, a message or a metric label.
    """
    return text if len(text) <= limit else text[: limit - 1] + "…"


def to_jsonable(value: Any) -> Any:
    """Plain JSON types from core values (datetimes as ISO 8601 with `Z`, enums as values)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


def from_jsonable_time(raw: str | None) -> datetime | None:
    """The inverse of `to_jsonable` for an optional time."""
    return parse_utc(raw) if raw else None


@functools.lru_cache(maxsize=1024)
def normalise_collector(raw: str) -> str:
    """`RRC01` and `rrc25.ripe.net` become `rrc01` and `rrc25`; RouteViews names are kept."""
    return raw.strip().lower().removesuffix(".ripe.net")


def normalise_prefix(raw: str) -> str:
    """Canonical text of a prefix (`2605:de00:bb:0:0:0:0:0/48` → `2605:de00:bb::/48`)."""
    try:
        return str(ipaddress.ip_network(raw.strip(), strict=False))
    except ValueError:
        return raw


def address_key(prefix: str) -> tuple[int, int, int]:
    """10.0.2.0/24 before 10.0.10.0/24 (text order would swap them); non-CIDRs first."""
    try:
        network = ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        return (0, 0, 0)
    return (network.version, int(network.network_address), network.prefixlen)


def prefix_links(prefix: str) -> list[tuple[str, str]]:
    """(site, URL) pairs where on-call can look at `prefix` (none if it is not a CIDR)."""
    try:
        network = str(ipaddress.ip_network(prefix, strict=False))
    except ValueError:
        return []
    return [
        ("Radar", f"https://radar.cloudflare.com/routing/prefix/{network}"),
        ("bgp.tools", f"https://bgp.tools/prefix/{network}"),
        ("RIPEstat", f"https://stat.ripe.net/{network}"),
    ]
