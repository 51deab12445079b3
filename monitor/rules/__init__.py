"""The rule types, one module each; `RULE_TYPES` maps the YAML `type` to its class."""

from monitor.rules.as_path import AsPathRule
from monitor.rules.base import Rule
from monitor.rules.more_specific import MoreSpecificRule
from monitor.rules.radar_events_base import EventRule
from monitor.rules.radar_hijack import RadarHijackRule
from monitor.rules.radar_leak import RadarLeakRule
from monitor.rules.rpki_invalid import RpkiInvalidRule
from monitor.rules.stale_collector import StaleCollectorRule
from monitor.rules.stale_data import StaleDataRule
from monitor.rules.unexpected_origin import UnexpectedOriginRule
from monitor.rules.unlisted_prefix import UnlistedPrefixRule
from monitor.rules.upstream import UpstreamRule
from monitor.rules.visibility_below import VisibilityBelowRule

RULE_TYPES: dict[str, type[Rule]] = {
    cls.type: cls
    for cls in (
        RpkiInvalidRule,
        UnexpectedOriginRule,
        VisibilityBelowRule,
        StaleCollectorRule,
        StaleDataRule,
        MoreSpecificRule,
        AsPathRule,
        UpstreamRule,
        RadarHijackRule,
        RadarLeakRule,
        UnlistedPrefixRule,
    )
}

__all__ = ["RULE_TYPES", "EventRule", "Rule", "UnlistedPrefixRule", "UpstreamRule"]
