"""Scale-out of the alerts service (issue 9, reliability suite): two ``floorwatch alerts``
processes in one consumer group split the partitions of the events topic; ``kill -9`` of one
hands its partitions and its state (the engine snapshot in PostgreSQL, then a replay of the
events after it) to the other, without losing or duplicating an alert.

Real processes, the real broker, real PostgreSQL. The input is built so that the expected alerts
follow from it by plain counting (no project code): per busy site, cycles of three calls queued
(the ``backlog`` rule, ``calls_waiting > 2``, fires at the third) and three answered (it resolves
at the last, ``clear: 0``); per quiet site, one call queued that nobody answers and then
nothing: the ``long-wait`` rule (``longest_wait_s > 30``) fires at the first whole second more
than 30 s after it — raised by the engine's clock alone, after the kill for the quiet sites of
the killed instance. Every transition on the alerts topic is compared with that list: site,
state, order and event time. The figures go to ``docs/reliability.md`` (*Scale-out*); set
``FLOORWATCH_SCALE_OUT_REPORT=path`` to have them written as JSON.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import math
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaConsumer
from kafka.partitioner.default import murmur2
from kafka.structs import TopicPartition

from shared.broker import free_port
from shared.config import Settings
from shared.kafka import ensure_topics, make_producer
from shared.migrate import upgrade
from tests.support.procs import env_for, spawn

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

RULES = """
rules:
  - {name: backlog, metric: calls_waiting, scope: queue, op: ">", value: 2, clear: 0}
  - {name: long-wait, metric: longest_wait_s, scope: queue, op: ">", value: 30}
"""
HOLD_S = 30
PARTITIONS = 4
SITES_PER_PARTITION = 3  # two busy, one quiet
CYCLES = (8, 8, 12)  # cycles per site: before B joins, while both run, around the kill
PACE_S = 0.004  # between events (~250 events/s)


def _sites() -> list[str]:
    """Site names, SITES_PER_PARTITION on every partition (as the default partitioner puts them)."""
    per: dict[int, list[str]] = collections.defaultdict(list)
    n = 0
    while any(len(per[p]) < SITES_PER_PARTITION for p in range(PARTITIONS)):
        name = f"site{n}"
        p = (murmur2(name.encode()) & 0x7FFFFFFF) % PARTITIONS
        if len(per[p]) < SITES_PER_PARTITION:
            per[p].append(name)
        n += 1
    return sorted(s for names in per.values() for s in names)


class Alerts:
    """Every record of the alerts topic, with the wall time it was read."""

    def __init__(self, settings: Settings) -> None:
        self.records: list[tuple[float, dict[str, Any]]] = []
        self._stop = threading.Event()
        self._consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10
        )
        tps = [TopicPartition(settings.topic("alerts"), p) for p in range(PARTITIONS)]
        self._consumer.assign(tps)
        self._consumer.seek_to_beginning(*tps)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for recs in self._consumer.poll(timeout_ms=50).values():
                now = time.time()
                self.records.extend((now, orjson.loads(r.value)) for r in recs)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._consumer.close()


def _owned(log: Path) -> set[int]:
    """Partitions a process holds now, from its log (assigned minus revoked since)."""
    owned: set[int] = set()
    for line in log.read_text().splitlines() if log.exists() else []:
        if not line.startswith("{"):
            continue
        msg = json.loads(line).get("msg", "")
        if msg.startswith("partitions assigned "):
            owned = set(json.loads(msg.removeprefix("partitions assigned ")))
    return owned


def _wait(pred: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_two_instances_split_the_partitions_and_a_kill_9_hands_over_without_loss_or_duplicate(
    settings: Settings, pg_url: str, tmp_path: Path
) -> None:
    settings = settings.model_copy(
        update={
            "database_url": pg_url, "partitions": PARTITIONS, "topic_prefix": settings.topic_prefix + "so."
        }
    )
    upgrade(pg_url)
    ensure_topics(settings)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    env = env_for(settings, FLOORWATCH_RULES_FILE=str(rules), FLOORWATCH_LOG_FORMAT="json")
    every = _sites()
    # one quiet site per partition: the last name of each partition's trio
    by_part: dict[int, list[str]] = collections.defaultdict(list)
    for s in every:
        by_part[(murmur2(s.encode()) & 0x7FFFFFFF) % PARTITIONS].append(s)
    quiet = {names[-1] for names in by_part.values()}
    sites = [s for s in every if s not in quiet]
    producer = make_producer(settings)
    produced: list[tuple[float, str, str, str]] = []  # (wall, site, type, ts)
    counter = iter(range(10**9))

    def cycles(first: int, count: int) -> None:
        for c in range(first, first + count):
            for kind in ("call.queued", "call.answered"):
                for i in range(3):
                    for site in sites:
                        n = next(counter)
                        ts = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
                        ev = {"v": 1, "id": f"e{n}", "source": "pbx", "type": kind, "ts": ts,
                              "site": site, "call": f"{site}-{c}-{i}", "queue": "sales"}
                        if kind == "call.answered":
                            ev["agent"] = "a1"
                        producer.send(settings.topic("events"), key=site.encode(), value=orjson.dumps(ev))
                        produced.append((time.time(), site, kind, ts))
                        time.sleep(PACE_S)
        producer.flush()

    def hold() -> None:
        for site in sorted(quiet):
            ts = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
            ev = {"v": 1, "id": f"h-{site}", "source": "pbx", "type": "call.queued", "ts": ts,
                  "site": site, "call": f"{site}-hold", "queue": "hold"}
            producer.send(settings.topic("events"), key=site.encode(), value=orjson.dumps(ev))
            produced.append((time.time(), site, "hold", ts))
        producer.flush()

    logs = {name: tmp_path / f"alerts-{name}.log" for name in "ab"}
    ports = {name: free_port() for name in "ab"}
    procs: dict[str, Any] = {}
    alerts = Alerts(settings)
    killed_at = None
    try:
        procs["a"] = spawn(["alerts", "--metrics-port", str(ports["a"])], env, logs["a"])
        _wait(lambda: _ready(ports["a"]) and len(_owned(logs["a"])) == PARTITIONS, 60, "a owns all")
        cycles(0, CYCLES[0])
        procs["b"] = spawn(["alerts", "--metrics-port", str(ports["b"])], env, logs["b"])
        _wait(
            lambda: _owned(logs["b"]) and _owned(logs["a"]) | _owned(logs["b"]) == set(range(PARTITIONS))
            and not _owned(logs["a"]) & _owned(logs["b"]),
            60,
            "a and b split the partitions",
        )
        split = {"a": sorted(_owned(logs["a"])), "b": sorted(_owned(logs["b"]))}
        hold()
        cycles(CYCLES[0], CYCLES[1])
        time.sleep(6.0)  # b's periodic snapshot (every 5 s) now covers the quiet sites' calls
        # kill -9 b in the middle of the third stretch
        midway = CYCLES[2] * 6 * len(sites) * PACE_S / 2
        killer = threading.Timer(midway, lambda: procs["b"].send_signal(signal.SIGKILL))
        killer.start()
        started = time.time()
        cycles(CYCLES[0] + CYCLES[1], CYCLES[2])
        killer.join()
        killed_at = started + killer.interval
        procs["b"].wait(10)
        _wait(lambda: _owned(logs["a"]) == set(range(PARTITIONS)), 90, "a took b's partitions")
        expected_n = sum(CYCLES) * 2 * len(sites) + len(quiet)
        deadline = time.monotonic() + HOLD_S + 60  # every alert, or the figures say what is missing
        while len({r["transition_id"] for _, r in alerts.records}) < expected_n:
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        time.sleep(3.0)  # anything extra that must not be there
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            proc.wait(30)
        alerts.close()
        producer.close()

    # expected, by counting: per site, one firing at each third queued call and one resolved at
    # each third answer, at those events' times
    expected: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
    seen: collections.Counter[tuple[str, str]] = collections.Counter()
    for _, site, kind, ts in produced:
        if kind == "hold":  # the first whole second more than HOLD_S after it
            due = dt.datetime.fromtimestamp(
                math.floor(dt.datetime.fromisoformat(ts).timestamp() + HOLD_S) + 1, dt.UTC
            )
            expected[site].append(("firing", due.isoformat()))
            continue
        seen[(site, kind)] += 1
        if seen[(site, kind)] % 3 == 0:
            expected[site].append(("firing" if kind == "call.queued" else "resolved", ts))
    records = [r for _, r in alerts.records]
    distinct = {r["transition_id"]: r for r in records}
    got: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
    for r in sorted(distinct.values(), key=lambda r: (r["scope"]["site"], r["event_time"])):
        got[r["scope"]["site"]].append((r["state"], r["event_time"]))

    def norm(pairs: list[tuple[str, str]]) -> list[tuple[str, float]]:
        return [(s, round(dt.datetime.fromisoformat(t).timestamp(), 3)) for s, t in pairs]

    lost = sum(len(set(norm(expected[s])) - set(norm(got[s]))) for s in every)
    extra = sum(len(set(norm(got[s])) - set(norm(expected[s]))) for s in every)
    republished = len(records) - len(distinct)
    moved = {s for s in every if (murmur2(s.encode()) & 0x7FFFFFFF) % PARTITIONS in split["b"]}
    # handoff: from the kill to the first alert of a moved site caused by an event produced after it
    assert killed_at is not None
    after = [
        (wall, r) for wall, r in alerts.records
        if r["scope"]["site"] in moved and dt.datetime.fromisoformat(r["event_time"]).timestamp() > killed_at
    ]
    handoff_s = min(wall for wall, _ in after) - killed_at if after else None
    # the quiet sites' alerts: how late after they were due (the engine's clock, across the kill)
    late = {
        r["scope"]["site"]: round(wall - dt.datetime.fromisoformat(r["event_time"]).timestamp(), 2)
        for wall, r in alerts.records
        if r["scope"]["site"] in quiet
    }
    figures = {
        "events": len(produced),
        "sites": len(every),
        "quiet_sites": sorted(quiet),
        "partitions": PARTITIONS,
        "split": split,
        "alerts_expected": sum(len(v) for v in expected.values()),
        "alerts_checked": len(distinct),
        "records_on_topic": len(records),
        "lost": lost,
        "unexpected": extra,
        "republished_same_id": republished,
        "handoff_s": None if handoff_s is None else round(handoff_s, 2),
        "quiet_alert_late_s": late,
    }
    report = os.environ.get("FLOORWATCH_SCALE_OUT_REPORT")
    if report:
        Path(report).write_text(json.dumps(figures, indent=2))
    print(figures)
    assert split["a"] and split["b"], split
    assert {s: norm(got[s]) for s in every} == {s: norm(expected[s]) for s in every}, figures
    assert (lost, extra, republished) == (0, 0, 0), figures
    assert handoff_s is not None and handoff_s < 30, figures
