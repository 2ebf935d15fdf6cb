"""`floorwatch up --alerts-processes 2 --simulate` as `make run` starts it (its own embedded Tansu
broker, SQLite): the two alerts children share the consumer group's partitions, 2 + 2, each runs
the sites of its own, and the alerts of both reach the API.

Timeline (wall clock, each step waited on, not slept):

    up starts ─ broker, topics (4 partitions), ingest, alerts-0, alerts-1, simulator, API
      │  both alerts children report floorwatch_alerts_partitions_owned 2 (the group settled)
      │  3 calls queued on each of 4 test sites, one site per partition of the events topic
      │  GET /v1/alerts: queue-backlog firing for the 4 sites   (within 30 s)
      │  each child exports the sites of its own partitions: two sites each, disjoint
    Ctrl-C ─ each alerts child drains once; exit status 0

And a `kill -9` of one alerts child stops `up` with status 1, as any child's death does.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kafka.partitioner.default import murmur2

from shared.broker import free_port
from shared.config import Settings
from tests.support.kafkautil import canonical, produce
from tests.support.procs import spawn
from tests.support.tools import promtool
from tests.support.upproc import BACKLOG_RULES

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

TOKEN = "scale-out-token"
PARTITIONS = 4  # what `up` creates for 2 alerts processes: the default 3 rounded up to a multiple of 2


def one_site_per_partition() -> dict[int, str]:
    """Site names whose key lands on each partition (the default partitioner: murmur2)."""
    found: dict[int, str] = {}
    for i in range(1000):
        name = f"so-{i}"
        found.setdefault((murmur2(name.encode()) & 0x7FFFFFFF) % PARTITIONS, name)
        if len(found) == PARTITIONS:
            return found
    raise AssertionError("no site name for every partition")


def _wait(pred: Any, timeout: float, what: str, log: Path) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s\n{log.read_text(errors='replace')[-4000:]}")


def _metrics(port: int) -> str:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=3).text
    except httpx.HTTPError:
        return ""


def _owned(text: str) -> float | None:
    found = re.search(r"^floorwatch_alerts_partitions_owned (\S+)$", text, re.M)
    return float(found.group(1)) if found else None


def _exported_sites(text: str, sites: set[str]) -> set[str]:
    return set(re.findall(r'^floorwatch_alerts_event_lag_seconds\{site="([^"]+)"\}', text, re.M)) & sites


def _start(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path, int, str, list[int]]:
    """`up --alerts-processes 2 --simulate` as `make run` starts it, once both children own 2
    partitions: (process, log, API port, Kafka bootstrap, the children's metrics ports)."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(BACKLOG_RULES)
    log = tmp_path / "up.log"
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FLOORWATCH_")},
        "FLOORWATCH_ADMIN_TOKEN": TOKEN,
        "PYTHONUNBUFFERED": "1",
    }
    db = f"sqlite+aiosqlite:///{tmp_path / 'fw.db'}"
    proc = spawn(
        [
            "up",
            "--alerts-processes",
            "2",
            "--simulate",
            "--rules",
            str(rules),
            "--db",
            db,
            "--port",
            str(port),
        ],
        env,
        log,
    )
    try:
        announce = _wait(
            lambda: re.search(r"alerts on :(\d+), :(\d+)\)", log.read_text()),
            60,
            "up announces its two alerts processes",
            log,
        )
        kafka = re.search(r"Kafka:\s+(\S+)", log.read_text())
        assert kafka is not None, log.read_text()
        ports = [int(announce.group(1)), int(announce.group(2))]
        # the group settles 2 + 2 (the first to join holds all 4 until the second is in)
        _wait(
            lambda: [_owned(_metrics(p)) for p in ports] == [2.0, 2.0],
            40,
            "both alerts processes own 2 partitions",
            log,
        )
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc, log, port, kafka.group(1), ports


def _stop(proc: subprocess.Popen[bytes], log: Path) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(40)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"up did not stop:\n{log.read_text()[-4000:]}") from None


def test_up_with_two_alerts_processes_splits_the_sites_and_alerts_reach_the_api(tmp_path: Path) -> None:
    sites = one_site_per_partition()
    proc, log, port, bootstrap, ports = _start(tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        assert "will sit idle" not in log.read_text()

        settings = Settings(kafka_bootstrap=bootstrap)
        now = dt.datetime.now(dt.UTC)
        for site in sites.values():
            events = [
                canonical(
                    "call.queued",
                    site=site,
                    ts=(now + dt.timedelta(seconds=0.1 * i)).isoformat(),
                    call=f"{site}-c{i}",
                    queue="sales",
                )
                for i in range(3)
            ]
            produce(settings, settings.topic("raw"), [orjson.dumps(e) for e in events], key=site.encode())

        def firing() -> set[str]:
            r = httpx.get(base + "/v1/alerts", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
            assert r.status_code == 200, r.text
            return {
                a["scope"]["site"]
                for a in r.json()["alerts"]
                if a["rule"] == "queue-backlog" and a["state"] == "firing"
            }

        ours = set(sites.values())
        _wait(lambda: ours <= firing(), 30, f"queue-backlog firing for {sorted(ours)}", log)

        # each process runs the sites of its own partitions, and both have some
        exported = [_exported_sites(_metrics(p), ours) for p in ports]
        assert len(exported[0]) == 2 and len(exported[1]) == 2, exported
        assert exported[0] | exported[1] == ours and not exported[0] & exported[1], exported

        # the API's /metrics carries both processes, labelled, as one valid exposition
        relayed = httpx.get(base + "/metrics", timeout=10).text
        for name in ("alerts-0", "alerts-1"):
            assert f'floorwatch_alerts_partitions_owned{{process="{name}"}} 2.0' in relayed
        done = subprocess.run(
            [promtool(), "check", "metrics"], input=relayed.encode(), capture_output=True, timeout=60
        )
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    finally:
        code = _stop(proc, log)
    assert code == 0, log.read_text()[-4000:]
    text = log.read_text()
    assert "started alerts-0" in text and "started alerts-1" in text
    assert text.count('"msg": "alerts stopped') == 2, text[-4000:]  # each drained on the one Ctrl-C


def test_an_alerts_process_that_dies_stops_up_with_status_1(tmp_path: Path) -> None:
    proc, log, _, _, _ = _start(tmp_path)
    try:
        pids = {name: int(pid) for name, pid in re.findall(r"started (\S+) pid=(\d+)", log.read_text())}
        assert {"ingest", "alerts-0", "alerts-1", "simulator"} <= set(pids), pids
        os.kill(pids["alerts-1"], signal.SIGKILL)
        code = proc.wait(40)
    finally:
        _stop(proc, log)
    assert code == 1, log.read_text()[-4000:]
    assert "alerts-1 exited unexpectedly with code -9" in log.read_text()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in pids.values()):
        time.sleep(0.1)
    left = [name for name, pid in pids.items() if Path(f"/proc/{pid}").exists()]
    assert not left, f"left running after up exited: {left}"
