"""`floorwatch replay` of real Anonymous Bank rows through the real broker, ingest and the alerts
service: the live floor's day figures at the end equal `floorwatch stats` on the same file.

The file is three days of January 1999 (calls of the first two run past midnight) in the order the
Technion file has them (by VRU line, then time: out of time order). The replay publishes them in
event-time order; the live engine's ledger (the two business days it keeps) and the day block of the
last published floor snapshot are compared with the rows `floorwatch stats` computes from the file.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from floorwatch import stats
from floorwatch.cli import main
from services.alerts.core import default_rules
from services.alerts.core.floor.definitions import DefinitionSet
from services.alerts.main import AlertsRunner
from services.ingest.main import IngestRunner
from shared.config import Settings, SourceSpec
from shared.kafka import ensure_topics
from shared.migrate import upgrade
from tests.conftest import data_file
from tests.support.kafkautil import read_topic

pytestmark = pytest.mark.kafka

DAYS = ("990106", "990107", "990108")  # the last day has no call running past midnight
SITE = "bank"


def _subset(tmp_path: Path) -> Path:
    lines = data_file("anonymous-bank/1999-01.txt").read_text().splitlines(keepends=True)
    keep = [lines[0]] + [ln for ln in lines[1:] if ln.split("\t")[5] in DAYS]
    out = tmp_path / "bank-3-days.txt"
    out.write_text("".join(keep))
    return out


def _quiet(runner: AlertsRunner, settle: float = 3.0, timeout: float = 180.0) -> None:
    """Wait until the live engines stop changing (every event applied)."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        worker = runner.worker
        seqs = (
            tuple(sorted((k, s.seq) for p in worker.parts.values() for k, s in p.engine.floor.sites.items()))
            if worker is not None
            else ()
        )
        if seqs != last:
            last, since = seqs, time.monotonic()
        elif seqs and time.monotonic() - since >= settle:
            return
        time.sleep(0.25)
    raise AssertionError("the alerts service did not settle in time")


def _strip(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("site", "queue", "definitions")}


def test_replay_then_live_day_figures_equal_stats(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _subset(tmp_path)
    topic = settings.topic_prefix + "bank"
    spec = SourceSpec(topic=topic, adapter="anonymous-bank", site=SITE, source="technion")
    settings = settings.model_copy(update={"sources": [spec], "partitions": 1})
    upgrade(settings.database_url)
    ensure_topics(settings)
    monkeypatch.setenv("FLOORWATCH_KAFKA_BOOTSTRAP", settings.kafka_bootstrap)
    assert main(["replay", str(path), "--format", "anonymous-bank", "--topic", topic]) == 0

    ingest = IngestRunner(settings, CollectorRegistry()).start()
    alerts = AlertsRunner(settings, CollectorRegistry(), default_rules()).start()
    try:
        _quiet(alerts)
        (part,) = alerts.worker.parts.values()  # type: ignore[union-attr]
        live = part.engine.figures("day")
    finally:
        alerts.stop()
        ingest.stop()

    read = stats.read_events(path, "anonymous-bank", site=SITE, source="technion")
    want, _ = stats.compute(read.events, DefinitionSet())
    kept = {r["day"] for r in live}
    assert kept == {"1999-01-07", "1999-01-08"}  # the live floor keeps two business days
    assert live == [r for r in want if r["day"] in kept]
    assert sum(r["offered"] for r in live if r["queue"] is None) > 1000

    # the wallboard's "today": the day block of the last snapshot published for the site
    snaps = [
        orjson.loads(r.value)
        for r in read_topic(settings, settings.topic("floor"), 1, timeout=30, settle=1.0)
        if r.key == SITE.encode()
    ]
    last = max(snaps, key=lambda s: s["seq"])
    today = {(r["queue"]): _strip(r) for r in want if r["day"] == "1999-01-08"}
    assert last["totals"]["day"] == {"day": "1999-01-08", **today[None]}
    assert {q["queue"] for q in last["queues"]} >= set(today) - {None}
    for q in last["queues"]:
        if q["queue"] in today:
            assert q["day"] == {"day": "1999-01-08", **today[q["queue"]]}, q["queue"]
