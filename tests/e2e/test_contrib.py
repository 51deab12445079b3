"""contrib/ against the real daemon: it polls the fake Radar and streams from the fake RIS Live
in a state where every rule's condition holds, Debian's `prometheus` scrapes it and loads the
rules, and each rule expression and every dashboard query must return samples through the HTTP
API (promtool checks the files in test_contrib_promtool.py; tests/unit/test_contrib.py reads
them).
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.sources.rislive import BEACONS
from testkit.answers import OriginSpec
from testkit.config import (
    FAST_POLLING,
    RPKI_INVALID,
    STALE_COLLECTORS,
    STALE_RADAR,
    UNEXPECTED_ORIGIN,
    daemon_yaml,
    write_config,
)
from testkit.daemon import DaemonProcess, http_get, metric
from testkit.fakeradar import FakeRadar
from testkit.fakerislive import FakeRisLive
from testkit.receivers import free_port
from testkit.sockets import LOOPBACK, listening_addresses
from testkit.waiting import wait_for
from tests.contrib_files import (
    METRIC_NAME,
    dashboard,
    exported_names,
    grafana_to_promql,
    panel_targets,
    rules,
)
from tests.e2e.servers import Prometheus
from tests.incidents import CLEAN, CLEAN_ORIGINS, HIJACK, VICTIM
from tests.tools import require_tool

LOW = "203.0.113.0/24"
FAILING = "2001:db8::/32"
PREFIXES = {CLEAN: 64500, VICTIM: 64501, LOW: 64502, FAILING: 64503}
STALE_COLLECTOR = "rrc00"
#: An `asns:` entry whose sync always fails.
UNSYNCABLE = 64599
#: Announced on the stream over and over, each by its own origin (no stream finding).
STREAMED = (CLEAN, FAILING)


# --- against the running daemon ------------------------------------------------------------------


def daemon_config(
    tmp: Path, fake: FakeRadar, ris: FakeRisLive, port: int, dead_port: int, threshold: str = "0.8"
) -> str:
    """The daemon's config: every rule type, one channel that cannot deliver, no database, and
    the stream, whose confirming fetches may take 6 requests per 10 s (a tenth of the budget)."""
    # Radar's hijack detector is asked about the failing prefix's origin alone, and fails.
    off = ", rules: {radar-hijack: false}"
    prefixes = [
        f"{{prefix: {p}, origins: [{asn}]{'' if p == FAILING else off}}}"
        for p, asn in PREFIXES.items()
    ]
    hijacks = "{name: radar-hijack, type: radar_hijack, severity: critical, events_interval: 2s}"
    low = (
        f"{{name: low-visibility, type: visibility_below, threshold: {threshold},"
        " severity: warning}"
    )
    # Nothing listens on the channel's port: every delivery fails and the outbox fills.
    # The state database lies under a regular file: it cannot be created (memory only).
    (tmp / "not-a-directory").write_text("")
    text = daemon_yaml(
        fake.base_url,
        prefixes,
        [RPKI_INVALID, UNEXPECTED_ORIGIN, low, STALE_COLLECTORS, STALE_RADAR, hijacks],
        source={**FAST_POLLING, "max_failures": 2, "budget": 60, "budget_window": "10s"},
        notifications=[
            "group_wait: 0.2s",
            "max_backoff: 1s",
            "channels:",
            f'  - {{name: pager, url: "json://127.0.0.1:{dead_port}/hook"}}',
        ],
        port=port,
        state=tmp / "not-a-directory" / "state.db",
        stream={"url": ris.url, "confirm_interval": "1s"},
    )
    return text + f"asns: [{{asn: {UNSYNCABLE}, sync: 2s}}]\n"  # its pfx2as answers fail


def feed_stream(ris: FakeRisLive, stop: threading.Event) -> None:
    """Twice a second until `stop`: each STREAMED prefix announced (more confirming fetches than
    the budget share allows) and three malformed frames. The upstream alternates, so that every
    announcement changes the route (a repeat changes nothing and asks Radar for nothing)."""
    upstreams = (64496, 64497)
    rounds = 0
    while not stop.wait(0.5):
        rounds += 1
        for prefix in STREAMED:
            ris.announce(prefix, [upstreams[rounds % 2], PREFIXES[prefix]])
        ris.send_malformed(3)


class Stack:
    """The fake Radar and RIS Live and the daemon polling and streaming, with their temp dir."""

    def __init__(
        self, tmp: Path, fake: FakeRadar, ris: FakeRisLive, daemon: DaemonProcess, port: int
    ) -> None:
        self.tmp = tmp
        self.fake = fake
        self.ris = ris
        self.daemon = daemon
        self.port = port

    @property
    def instance(self) -> str:
        """The daemon's scrape target, as Prometheus labels it."""
        return f"127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The daemon watching four prefixes in a state where every rule's condition holds."""
    tmp = tmp_path_factory.mktemp("contrib")
    with FakeRadar() as fake, FakeRisLive() as ris:
        # rrc00 is two hours behind in every answer, so its freshest view is stale too.
        stale: dict[str, Any] = {
            "collector_age": {STALE_COLLECTOR: timedelta(hours=2)},
            "n_routes": 100,
        }
        fake.set_prefix(CLEAN, CLEAN_ORIGINS, **stale)
        fake.set_prefix(VICTIM, HIJACK, **stale)
        old = datetime.now(UTC) - timedelta(minutes=20)
        fake.set_prefix(LOW, [OriginSpec(64502, ratio=0.3)], data_time=old, **stale)
        fake.set_fault("500", prefix=FAILING)
        fake.set_fault("500", prefix=f"hijacks:AS{PREFIXES[FAILING]}")
        fake.set_fault("500", prefix=f"AS{UNSYNCABLE}")
        port, dead_port = free_port(), free_port()
        config = write_config(tmp, daemon_config(tmp, fake, ris, port, dead_port))
        daemon = DaemonProcess(tmp, config).start()
        stop = threading.Event()
        feeder = threading.Thread(target=feed_stream, args=(ris, stop), daemon=True)
        feeder.start()
        try:
            daemon.wait_ready()
            subscribed = {*STREAMED, BEACONS[0]}
            wait_for(lambda: subscribed <= set(ris.subscriptions()), what="the subscriptions")
            # The last beacon moved six hours ago: the canary is stale.
            ris.beacon(timestamp=time.time() - 6 * 3600)
            wait_for(
                lambda: metric(port, "radar_monitor_stream_last_canary_timestamp_seconds"),
                what="the stale beacon",
            )
            # A rejected reload: the daemon keeps the old configuration and says so.
            config.write_text(daemon_config(tmp, fake, ris, port, dead_port, threshold="1.5"))
            daemon.signal(signal.SIGHUP)
            wait_for(
                lambda: metric(port, "radar_monitor_config_last_reload_successful") == 0,
                what="the rejected reload",
            )
            wait_for(
                lambda: metric(port, "radar_monitor_notifications_total{") is not None,
                what="a failed notification",
            )
            yield Stack(tmp, fake, ris, daemon, port)
        finally:
            stop.set()
            feeder.join(timeout=5)
            daemon.close()


def test_rules_and_panels_use_only_metrics_the_daemon_exports(stack: Stack) -> None:
    status, body = http_get(stack.port, "/metrics")
    assert status == 200
    exported = exported_names(body)
    assert "radar_monitor_api_request_duration_seconds_bucket" in exported
    assert "radar_monitor_stream_updates_total" in exported
    used: dict[str, set[str]] = {}
    for rule in rules():
        for name in METRIC_NAME.findall(rule["expr"]):
            used.setdefault(name, set()).add(f"rule {rule['alert']}")
    for title, expr in panel_targets(dashboard()):
        for name in METRIC_NAME.findall(expr):
            used.setdefault(name, set()).add(f"panel {title!r}")
    variable = next(v for v in dashboard()["templating"]["list"] if v["name"] == "prefix")
    for name in METRIC_NAME.findall(variable["query"]):
        used.setdefault(name, set()).add("variable prefix")
    unknown = {name: sorted(where) for name, where in used.items() if name not in exported}
    assert not unknown, f"not exported by the daemon: {unknown}"
    assert len(used) >= 20  # the regex really found the metrics


# --- against a real Prometheus -------------------------------------------------------------------


@pytest.fixture(scope="module")
def prometheus(stack: Stack) -> Iterator[Prometheus]:
    server = Prometheus(require_tool("prometheus"), stack.tmp / "prometheus", stack.instance)
    try:
        wait_for(server.ready, within=20, what="prometheus to be ready")
        up = f'up{{job="radar-monitor",instance="{stack.instance}"}}'
        wait_for(
            lambda: server.query(f"count_over_time({up}[1m]) >= 4 and {up} == 1"),
            within=20,
            what="a few successful scrapes of the daemon",
        )
        yield server
    finally:
        server.close()


def labels_of(result: list[dict[str, Any]], *names: str) -> set[tuple[str, ...]]:
    return {tuple(r["metric"].get(n, "") for n in names) for r in result}


def test_prometheus_listens_on_loopback_only(prometheus: Prometheus) -> None:
    if not Path("/proc/self/net/tcp").exists():
        pytest.skip("no /proc to read listening sockets from")
    addresses = listening_addresses(prometheus.proc.pid)
    assert addresses and addresses <= LOOPBACK, addresses


def test_prometheus_loads_every_rule_and_raises_the_alerts(
    prometheus: Prometheus, stack: Stack
) -> None:
    loaded = [r for g in prometheus.get("/api/v1/rules")["groups"] for r in g["rules"]]
    assert sorted(r["name"] for r in loaded) == sorted(r["alert"] for r in rules())
    # Every alert whose condition holds now is pending or firing in Prometheus itself (the
    # three others need the monitor gone, ten minutes without a fetch or the stream down; see
    # below).
    expected = {r["alert"] for r in rules()} - {
        "RadarMonitorAbsent",
        "RadarMonitorNotPolling",
        "RadarMonitorStreamDisconnected",
    }

    def active() -> dict[str, list[dict[str, Any]]]:
        by_name: dict[str, list[dict[str, Any]]] = {}
        for alert in prometheus.get("/api/v1/alerts")["alerts"]:
            by_name.setdefault(alert["labels"]["alertname"], []).append(alert)
        return by_name

    wait_for(lambda: expected <= set(active()), within=20, what=f"alerts {sorted(expected)}")
    for rule in prometheus.get("/api/v1/rules")["groups"]:
        for r in rule["rules"]:
            assert r["health"] == "ok" and not r.get("lastError"), r
    [hijack] = active()["RadarMonitorRpkiInvalidOrigin"]
    assert hijack["state"] == "firing"  # no `for`: fires at the first evaluation
    assert hijack["labels"]["severity"] == "critical"
    assert hijack["annotations"]["summary"] == f"RPKI-invalid origin AS666 for {VICTIM}"
    assert "40% of the collector peers" in hijack["annotations"]["description"]


def test_every_rule_expression_holds_against_the_real_daemon(
    prometheus: Prometheus, stack: Stack
) -> None:
    exprs = {r["alert"]: r["expr"] for r in rules()}
    me, dead = stack.instance, prometheus.dead_target
    expected = {
        "RadarMonitorRpkiInvalidOrigin": (("prefix", "origin"), {(VICTIM, "666")}),
        "RadarMonitorUnexpectedOrigin": (("prefix", "origin"), {(VICTIM, "666")}),
        "RadarMonitorLowVisibility": (("prefix",), {(VICTIM,), (LOW,)}),
        "RadarMonitorCollectorStale": (("collector", "stream"), {(STALE_COLLECTOR, "realtime")}),
        "RadarMonitorRadarDataStale": (("prefix",), {(LOW,)}),
        "RadarMonitorDown": (("instance",), {(dead,)}),
        "RadarMonitorPrefixFetchFailing": (("prefix",), {(FAILING,)}),
        "RadarMonitorApiErrors": (("instance",), {(me,)}),
        "RadarMonitorNotificationQueueStuck": (("instance",), {(me,)}),
        "RadarMonitorNotificationsFailing": (("instance", "channel"), {(me, "pager")}),
        "RadarMonitorConfigReloadFailed": (("instance",), {(me,)}),
        "RadarMonitorStatePersistenceFailing": (("instance",), {(me,)}),
        "RadarMonitorStreamCanaryStale": (("instance",), {(me,)}),
        "RadarMonitorStreamMalformedFrames": (("instance",), {(me,)}),
        "RadarMonitorStreamConfirmationsDropped": (("instance",), {(me,)}),
        "RadarMonitorStreamDisconnected": (("instance",), set()),
        "RadarMonitorEventsPollingFailing": (("instance", "kind"), {(me, "hijack")}),
        "RadarMonitorAsSyncFailing": (("instance", "asn"), {(me, str(UNSYNCABLE))}),
    }
    results: dict[str, set[tuple[str, ...]]] = {}

    def evaluate() -> bool:
        for name, (labels, _) in expected.items():
            results[name] = labels_of(prometheus.query(exprs[name]), *labels)
        return all(results[name] == want for name, (_, want) in expected.items())

    try:
        wait_for(evaluate, within=20, what="every rule's condition")
    except AssertionError:
        wrong = {n: (results[n], w) for n, (_, w) in expected.items() if results[n] != w}
        raise AssertionError(f"rule results (got, expected): {wrong}") from None

    # RadarMonitorNotPolling needs ten minutes without a successful fetch: evaluated as of
    # eleven minutes from now (the long lookback keeps today's samples in sight), it holds
    # for every prefix that was ever fetched; the failing one never was (no series).
    later = prometheus.query(exprs["RadarMonitorNotPolling"], at=time.time() + 660)
    assert labels_of(later, "prefix") == {(CLEAN,), (VICTIM,), (LOW,)}
    assert prometheus.query(exprs["RadarMonitorNotPolling"]) == []

    # RadarMonitorAbsent: silent while the monitor is scraped; the same expression for a job
    # nobody scrapes returns the one sample the alert would carry.
    absent = exprs["RadarMonitorAbsent"]
    assert prometheus.query(absent) == []
    gone = prometheus.query(absent.replace('job="radar-monitor"', 'job="radar-monitor-gone"'))
    assert [r["metric"] for r in gone] == [{"job": "radar-monitor-gone"}]


def test_the_stream_disconnected_rule_holds_while_the_stream_is_down(
    prometheus: Prometheus, stack: Stack
) -> None:
    expr = next(r["expr"] for r in rules() if r["alert"] == "RadarMonitorStreamDisconnected")
    stack.ris.refuse()
    stack.ris.drop()
    try:
        wait_for(
            lambda: labels_of(prometheus.query(expr), "instance") == {(stack.instance,)},
            what="the disconnected stream in Prometheus",
        )
    finally:
        stack.ris.refuse(False)
        wait_for(
            lambda: metric(stack.port, "radar_monitor_stream_connected") == 1,
            within=90,
            what="the stream to reconnect",
        )
    wait_for(lambda: prometheus.query(expr) == [], what="the reconnected stream in Prometheus")


def test_every_dashboard_query_returns_data(prometheus: Prometheus, stack: Stack) -> None:
    targets = sorted(set(panel_targets(dashboard())))
    empty: list[tuple[str, str]] = []

    def evaluate() -> bool:
        empty[:] = [(t, e) for t, e in targets if not prometheus.query(grafana_to_promql(e))]
        return not empty

    try:
        wait_for(evaluate, within=20, what="data for every panel")
    except AssertionError:
        raise AssertionError(f"panels without data: {empty}") from None
    # The prefix variable offers every configured prefix, fetched successfully or not.
    variable = next(v for v in dashboard()["templating"]["list"] if v["name"] == "prefix")
    match = re.fullmatch(r"label_values\((\w+), prefix\)", variable["query"])
    assert match is not None
    values = prometheus.get("/api/v1/label/prefix/values", **{"match[]": match[1]})
    assert set(values) == set(PREFIXES)
    assert len(targets) >= 30


def test_the_origins_table_shows_clean_prefixes_from_their_per_prefix_series(
    prometheus: Prometheus, stack: Stack
) -> None:
    """CLEAN and LOW (their one expected origin alone, RPKI valid) export no per-origin series;
    the table still has their rows, with every column VICTIM's origins have."""
    panels = list(dashboard()["panels"])
    panels += [p for row in panels for p in row.get("panels", [])]
    [table] = [p for p in panels if p["title"] == "Origins and RPKI status"]
    queries = {t["refId"]: grafana_to_promql(t["expr"]) for t in table["targets"]}
    rows: dict[tuple[str, str], dict[str, tuple[str, float]]] = {}

    def evaluate() -> bool:
        rows.clear()
        for ref, expr in queries.items():
            for r in prometheus.query(expr):
                key = (r["metric"]["prefix"], r["metric"]["origin"])
                rows.setdefault(key, {})[ref] = (
                    r["metric"].get("status", ""),
                    float(r["value"][1]),
                )
        return len(rows) == 4 and all(len(columns) == len(queries) for columns in rows.values())

    wait_for(evaluate, what=f"the origins table's rows, got {rows}")
    assert set(rows) == {(CLEAN, "64500"), (LOW, "64502"), (VICTIM, "64501"), (VICTIM, "666")}
    assert (
        metric(
            stack.port, f'radar_monitor_prefix_origin_expected{{origin="64500",prefix="{CLEAN}"}}'
        )
        is None
    )
    for prefix, asn, ratio in ((CLEAN, "64500", 0.97), (LOW, "64502", 0.3)):
        columns = rows[(prefix, asn)]
        assert columns["A"][0] == "valid"
        assert columns["B"][1] == 1  # configured
        assert columns["C"][1] == pytest.approx(ratio, abs=0.01)
        total = columns["E"][1]
        assert total > 0
        assert total == metric(stack.port, f'radar_monitor_prefix_peers{{prefix="{prefix}"}}')
        assert columns["D"][1] == round(columns["C"][1] * total)
    assert rows[(VICTIM, "666")]["A"][0] == "invalid"
    assert rows[(VICTIM, "666")]["B"][1] == 0
