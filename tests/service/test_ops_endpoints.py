"""The operational endpoints of ingest and alerts (/metrics, /healthz, /readyz), the relay that
puts every service on one /metrics for ``floorwatch up``, and the JSON log lines."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import subprocess

import httpx
from prometheus_client import CollectorRegistry, Counter

from floorwatch.metrics_relay import MetricsRelay
from shared.broker import free_port
from shared.logs import JsonFormatter, wants_json
from shared.opshttp import OpsServer
from tests.support.tools import promtool


def _server(name: str, problem: list[str | None]) -> tuple[OpsServer, Counter]:
    registry = CollectorRegistry()
    c = Counter(f"floorwatch_{name}_things", "things", registry=registry)
    return OpsServer(registry, lambda: problem[0]).start(), c


def test_readyz_follows_the_service_and_metrics_are_served() -> None:
    problem: list[str | None] = ["ingest-consumer has not polled yet"]
    server, c = _server("ingest", problem)
    base = f"http://127.0.0.1:{server.port}"
    try:
        assert httpx.get(base + "/healthz").status_code == 200
        r = httpx.get(base + "/readyz")
        assert (r.status_code, r.json()) == (503, {"detail": "ingest-consumer has not polled yet"})
        problem[0] = None
        assert httpx.get(base + "/readyz").status_code == 200
        c.inc(3)
        assert "floorwatch_ingest_things_total 3.0" in httpx.get(base + "/metrics").text
        assert httpx.get(base + "/nope").status_code == 404
    finally:
        server.stop()


def test_relay_appends_every_service_and_reports_the_one_that_is_down() -> None:
    a, ca = _server("ingest", [None])
    b, cb = _server("alerts", [None])
    ca.inc()
    cb.inc(2)
    dead = free_port()
    relay = MetricsRelay(
        {"ingest": ("127.0.0.1", a.port), "alerts": ("127.0.0.1", b.port), "gone": ("127.0.0.1", dead)},
        timeout_s=2,
    )
    try:
        text = asyncio.run(relay()).decode()
    finally:
        a.stop()
        b.stop()
    assert "floorwatch_ingest_things_total 1.0" in text and "floorwatch_alerts_things_total 2.0" in text
    assert 'floorwatch_relay_target_up{service="gone"} 0' in text
    assert 'floorwatch_relay_target_up{service="alerts"} 1' in text
    done = subprocess.run(
        [promtool(), "check", "metrics"], input=text.encode(), capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


def test_relay_merges_the_processes_of_one_service_into_one_valid_exposition() -> None:
    """`up --alerts-processes 2`: two alerts processes export the same families; appended as they
    are, HELP/TYPE and the unlabelled series would repeat and promtool (like Prometheus) refuses."""
    registries, servers = [], []
    # U+2028, U+0085 and \x1c: line breaks to str.splitlines(), left unescaped in label values by
    # prometheus_client; the merge split samples there until 2026-12-08 (Prometheus refused the page)
    for sites in (("bj-01", 'we"ird}site', "uni\u2028sep\x85x\x1cy"), ("sh-02",)):
        registry = CollectorRegistry()
        events = Counter("floorwatch_alerts_events", "events", registry=registry)
        lag = Counter("floorwatch_alerts_site_things", "per site", ["site"], registry=registry)
        events.inc(len(sites))
        for site in sites:
            lag.labels(site).inc()
        registries.append(registry)
        servers.append(OpsServer(registry, lambda: None).start())
    ports = {"alerts-0": ("127.0.0.1", servers[0].port), "alerts-1": ("127.0.0.1", servers[1].port)}
    try:
        plain = asyncio.run(MetricsRelay(ports, timeout_s=2)()).decode()
        merged = asyncio.run(MetricsRelay(ports, timeout_s=2, labelled=list(ports))()).decode()
    finally:
        for server in servers:
            server.stop()

    def check(text: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([promtool(), "check", "metrics"], input=text.encode(), capture_output=True,
                              timeout=60)

    assert check(plain).returncode != 0  # what the relay would serve without the merge
    done = check(merged)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode() + merged
    assert merged.count("# TYPE floorwatch_alerts_events_total counter") == 1
    assert 'floorwatch_alerts_events_total{process="alerts-0"} 3.0' in merged
    assert 'floorwatch_alerts_events_total{process="alerts-1"} 1.0' in merged
    assert 'floorwatch_alerts_site_things_total{site="we\\"ird}site",process="alerts-0"} 1.0' in merged
    assert 'floorwatch_alerts_site_things_total{site="sh-02",process="alerts-1"} 1.0' in merged
    assert ('floorwatch_alerts_site_things_total{site="uni\u2028sep\x85x\x1cy",process="alerts-0"} 1.0'
            in merged)
    assert 'floorwatch_relay_target_up{service="alerts-1"} 1' in merged


def test_json_lines_carry_the_ids_passed_as_extra() -> None:
    record = logging.LogRecord(
        "services.alerts.service", logging.INFO, __file__, 1, "alert %s fingerprint=%s", ("sl", "3f2a"), None
    )
    record.__dict__.update(fingerprint="3f2a", transition_id="3f2a:2", source="pbx", event_id="e1")
    doc = json.loads(JsonFormatter("alerts").format(record))
    assert doc["msg"] == "alert sl fingerprint=3f2a"
    assert (doc["service"], doc["level"], doc["logger"]) == ("alerts", "INFO", "services.alerts.service")
    assert (doc["fingerprint"], doc["transition_id"], doc["source"], doc["event_id"]) == (
        "3f2a",
        "3f2a:2",
        "pbx",
        "e1",
    )


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_json_off_a_terminal_text_on_one_unless_told() -> None:
    assert wants_json(io.StringIO(), None) and not wants_json(_Tty(), None)
    assert wants_json(_Tty(), "json") and not wants_json(io.StringIO(), "text")
