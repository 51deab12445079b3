"""Where the files that tests read or write lie in the repository (and beside it)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "monitor"
EXAMPLE_CONFIG = ROOT / "rules.example.yaml"
UNIT = ROOT / "systemd" / "radar-monitor.service"
RULES = ROOT / "contrib" / "prometheus" / "radar-monitor.rules.yml"
RULE_TESTS = ROOT / "contrib" / "prometheus" / "radar-monitor.rules.test.yml"
PROMETHEUS_EXAMPLE = ROOT / "contrib" / "prometheus" / "prometheus.example.yml"
DASHBOARD = ROOT / "contrib" / "grafana" / "radar-monitor.json"
PROVISIONING = ROOT / "contrib" / "grafana" / "provisioning.yml"
#: shared/ lies beside the checkout, on developer machines and in CI alike.
SAMPLES = ROOT.parent / "shared" / "radar-samples" / "cloudflare-api"
RISLIVE_SAMPLES = ROOT.parent / "shared" / "radar-samples" / "rislive"
