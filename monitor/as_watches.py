"""The watch list of a config with its `asns:` synced: the `prefixes:` entries merged with a
generated watch of every prefix a synced AS originates.

An explicit `prefixes:` entry wins field by field: the keys it wrote are its own, the others
come from the AS (labels merge key by key, the entry's winning). A prefix two synced ASes
originate is one watch expecting both, with the first entry's settings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from monitor.config_asns import excluded
from monitor.core.origins import AsPrefixes
from monitor.settings import AsConfig, Config, PrefixConfig
from monitor.state import AsSyncStatus


def watchable(entry: AsConfig, answer: AsPrefixes) -> list[str]:
    """The prefixes of `answer` that `entry` watches: all it lists but the excluded ones."""
    return [p.prefix for p in answer.prefixes if not excluded(p.prefix, entry.exclude)]


def generated(entry: AsConfig, prefix: str) -> PrefixConfig:
    """The watch of `prefix` as `entry`'s AS originates it."""
    return PrefixConfig(
        prefix=prefix,
        origins=frozenset({entry.asn}),
        description=entry.description,
        labels=dict(entry.labels),
        rules=entry.rules,
        tier=entry.tier,
    )


def merged(manual: PrefixConfig, synced: PrefixConfig) -> PrefixConfig:
    """`manual` with what its entry did not write taken from the `synced` watch."""
    written = manual.written
    return dataclasses.replace(
        manual,
        origins=manual.origins if "origins" in written else synced.origins,
        description=manual.description if "description" in written else synced.description,
        labels={**synced.labels, **manual.labels},
        rules=manual.rules if "rules" in written else synced.rules,
        tier=manual.tier if "tier" in written else synced.tier,
    )


def expand(config: Config, synced: Mapping[int, AsSyncStatus]) -> Config:
    """`config` watching, besides its `prefixes:`, every prefix its synced ASes originate."""
    found: dict[str, PrefixConfig] = {}
    for entry in config.asns:
        status = synced.get(entry.asn)
        for prefix in status.prefixes if status else ():
            watch = found.get(prefix)
            if watch is None:
                found[prefix] = generated(entry, prefix)
            else:
                found[prefix] = dataclasses.replace(watch, origins=watch.origins | {entry.asn})
    if not found:
        return config
    manual = {p.prefix: p for p in config.prefixes}
    prefixes = [merged(p, found[p.prefix]) if p.prefix in found else p for p in config.prefixes]
    prefixes += [w for prefix, w in found.items() if prefix not in manual]
    return dataclasses.replace(config, prefixes=tuple(prefixes))
