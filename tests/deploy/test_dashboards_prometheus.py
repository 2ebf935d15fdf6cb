"""The dashboards against a real Prometheus: Debian's prometheus scrapes a running
``floorwatch up --simulate`` (its own port, one scrape target, the shipped config and rules) for
a minute and a half; then every expression of every dashboard goes to Prometheus's HTTP API.
Each must parse, the key panels must return data for the simulated site, and the figures on
/metrics must be the wallboard's at the same moment (same snapshot, same numbers).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from shared.broker import free_port
from shared.config import Settings
from tests.conftest import REPO
from tests.deploy.panels import Query, queries
from tests.support.tools import prometheus
from tests.support.upproc import TOKEN, Up

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

SITE = "bj-01"
SCRAPE_FOR_S = 90.0
# (dashboard uid, panel title): panels that must show the simulated site
KEY_PANELS = {
    ("floorwatch-overview", "Service level"),
    ("floorwatch-overview", "Calls waiting"),
    ("floorwatch-overview", "Occupancy"),
    ("floorwatch-overview", "Agents by state"),
    ("floorwatch-queues", "Service level"),
    ("floorwatch-queues", "Calls waiting"),
    ("floorwatch-teams", "Agents by state"),
    ("floorwatch-teams", "Occupancy"),
    ("floorwatch-projects", "Done against plan"),
    ("floorwatch-alerts", "Alerts firing by rule"),
}


class Prometheus:
    def __init__(self, workdir: Path, target: str) -> None:
        shipped = yaml.safe_load((REPO / "deploy/prometheus/floorwatch-up.yml").read_text())
        shipped["scrape_configs"][0]["static_configs"] = [{"targets": [target]}]
        shipped["rule_files"] = [str(REPO / "deploy/prometheus" / f) for f in shipped["rule_files"]]
        config = workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump(shipped))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "prometheus.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    prometheus(),
                    f"--config.file={config}",
                    f"--storage.tsdb.path={workdir / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.base}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"prometheus not ready in {timeout}s:\n{self.log.read_text()[-3000:]}")

    def query(self, expr: str) -> dict[str, Any]:
        return httpx.get(f"{self.base}/api/v1/query", params={"query": expr}, timeout=10).json()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def test_every_panel_parses_and_key_panels_show_the_simulated_floor(
    settings: Settings, tmp_path: Path
) -> None:
    # The demo's rush (Makefile DEMO), four times faster than life so that calls complete
    # (handle time ~5 min) within the run; every agent gets per-agent series.
    up = Up(
        settings,
        tmp_path,
        "--simulate",
        "--agents",
        "40",
        "--incident",
        "surge:sales@0x25+20",
        "--time-scale",
        "4",
        env={"FLOORWATCH_METRICS_AGENTS": "*"},
    )
    prom = None
    try:
        up.wait_ready()
        prom = Prometheus(tmp_path, f"127.0.0.1:{up.port}")
        prom.wait_ready()
        _same_numbers_as_the_wallboard(up)
        started = time.monotonic()
        # Scrape for SCRAPE_FOR_S, and on until an alert of the demo's rush fires (bounded).
        while time.monotonic() - started < SCRAPE_FOR_S or not _has_data(prom, _firing()):
            assert time.monotonic() - started < 240, f"no alert fired in 240 s:\n{up.tail()}"
            assert up.proc.poll() is None, up.tail()
            time.sleep(5)
        targets = httpx.get(f"{prom.base}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        assert [t["health"] for t in targets] == ["up"], targets
        failures, shown = [], {}
        for q in queries():
            answer = prom.query(q.expand(SITE))
            if answer.get("status") != "success":
                failures.append(f"{q.dashboard} / {q.panel}: {q.expr}\n  {answer.get('error')}")
            else:  # a panel has data when one of its queries has (e.g. "all not ready", no reason yet)
                panel = (q.dashboard, q.panel)
                shown[panel] = shown.get(panel, False) or bool(answer["data"]["result"])
        assert not failures, "\n".join(failures)
        empty = sorted(p for p, data in shown.items() if not data)
        missing = sorted(KEY_PANELS - {p for p, data in shown.items() if data})
        assert not missing, f"key panels without data for {SITE}: {missing}"
        # every panel of every dashboard has data on the simulated floor
        assert not empty, f"panels without data: {empty}"
        _same_numbers_as_the_wallboard(up)
    finally:
        if prom is not None:
            prom.stop()
        code = up.stop()
    assert code == 0, up.tail()


def _firing() -> Query:
    return Query("floorwatch-alerts", "firing", f'floorwatch_alerts_active{{state="firing", site="{SITE}"}}')


def _has_data(prom: Prometheus, q: Query) -> bool:
    answer = prom.query(q.expand(SITE))
    return answer.get("status") == "success" and bool(answer["data"]["result"])


def _same_numbers_as_the_wallboard(up: Up) -> None:
    """The API's /metrics (what Prometheus scrapes) and its REST floor (what the wallboard shows)
    read at the same moment — the same snapshot, recognised by its as_of — agree."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for _ in range(100):
        floor = httpx.get(f"{up.base}/v1/floor/{SITE}", headers=headers, timeout=5)
        text = httpx.get(f"{up.base}/metrics", timeout=10).text
        after = httpx.get(f"{up.base}/v1/floor/{SITE}", headers=headers, timeout=5)
        if floor.status_code != 200 or floor.json()["as_of"] != after.json()["as_of"]:
            time.sleep(0.3)
            continue
        snap, samples = floor.json(), _samples(text)
        import datetime as dt

        as_of = dt.datetime.fromisoformat(snap["as_of"]).timestamp()
        if samples.get(f'floorwatch_floor_as_of_timestamp_seconds{{site="{SITE}"}}') != as_of:
            time.sleep(0.3)
            continue
        totals = snap["totals"]
        assert samples[f'floorwatch_site_calls_waiting{{site="{SITE}"}}'] == totals["calls_waiting"]
        sl = samples.get(f'floorwatch_site_service_level_ratio{{site="{SITE}"}}')
        assert sl == totals["service_level"], (sl, totals)
        for q in snap["queues"]:
            key = f'floorwatch_queue_calls_waiting{{queue="{q["queue"]}",site="{SITE}"}}'
            assert samples[key] == q["calls_waiting"]
        return
    raise AssertionError("never read /metrics and the REST floor on the same snapshot")


def _samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out
