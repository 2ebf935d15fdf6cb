"""The fault rig: the three services as real processes on a broker of their own (behind a TCP proxy
that can cut them off) and a PostgreSQL database of their own, fed the simulator's floor, and the
checks that compare what came out with the ground truth.

Used by ``tests/integration/test_faults.py`` (short runs) and ``benchmarks/faults.py`` (long runs);
docs/reliability.md says what is checked and why it is deterministic.

* :func:`ground_truth` — the simulator's events for a :class:`Floor` (deterministic: config + seed +
  start), several sites merged in time order;
* :func:`expected` — what the alerts engine must publish for them: the same engine run offline
  (``services/alerts/backtest.py``), and its final floor per site;
* :class:`Rig` — broker (+ proxy), database, services (start, ``kill -9``, restart, ``/readyz``),
  a paced feeder, WebSocket clients per API instance;
* :func:`tally` — the comparison: events lost / stored twice / redelivered, transitions lost /
  duplicated / redelivered / late, floors equal, per-client alert views.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import heapq
import itertools
import json
import logging
import os
import signal
import statistics
import subprocess
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from floorwatch.sim import FloorSimulation, default_config, parse_incident
from floorwatch.sim.plans import with_event_rate
from services.alerts.backtest import backtest
from services.alerts.core import Engine, RuleSet, default_rules
from shared.broker import EmbeddedBroker, free_port
from shared.config import Settings
from shared.events import Event, encode_event
from shared.kafka import ensure_topics, make_producer
from shared.migrate import upgrade
from tests.support.kafkautil import read_topic
from tests.support.procs import env_for, spawn
from tests.support.tcpproxy import TcpProxy

logger = logging.getLogger(__name__)
PG_ADMIN_DSN = os.environ.get("FLOORWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TOKEN = "fault-rig-admin-token"
BEIJING = dt.timezone(dt.timedelta(hours=8))


# -- ground truth ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Floor:
    """What the simulator produces: ``events`` in all, over ``sites`` (each its own simulation,
    seeds ``seed``, ``seed + 1`` …), each site at ``rate_per_s`` events per second of event time."""

    events: int = 6000
    sites: tuple[str, ...] = ("bj-01", "sh-02", "gz-03")
    seed: int = 7
    rate_per_s: float = 3.0
    incidents: tuple[str, ...] = ("surge:sales@0x4+10", "surge:service@1x4+10")


@dataclass(frozen=True)
class Truth:
    events: list[Event]
    payloads: list[bytes]  # encode_event(event), what the feeder produces

    @property
    def ids(self) -> set[tuple[str, str]]:
        return {(e.source, e.id) for e in self.events}

    @property
    def last_ts(self) -> dt.datetime:
        return self.events[-1].ts


def ground_truth(floor: Floor, start: dt.datetime) -> Truth:
    cfg = with_event_rate(default_config(), floor.rate_per_s)
    cfg = cfg.replace(incidents=tuple(parse_incident(i) for i in floor.incidents))
    sims = [
        FloorSimulation(cfg.replace(site=site), seed=floor.seed + n, start=start)
        for n, site in enumerate(floor.sites)
    ]
    merged = heapq.merge(*sims, key=lambda e: e.ts)  # each simulation is in ts order
    events = list(itertools.islice(merged, floor.events))
    return Truth(events, [encode_event(e) for e in events])


@dataclass
class Expected:
    transitions: dict[str, dict[str, Any]]  # transition_id -> wire form
    floors: dict[str, dict[str, Any]]  # site -> floor snapshot after the last event
    active: dict[str, str]  # fingerprint -> state (pending / firing) after the last event


def expected(truth: Truth, rules: RuleSet) -> Expected:
    """The engine run offline over the ground truth (no wall clock: event time only)."""
    result = backtest(truth.events, rules)
    transitions = {t["transition_id"]: t for t in result.transitions}
    engine = Engine(rules)
    for ev in truth.events:
        engine.on_event(ev)
    floors = {site: engine.floor_snapshot(site) for site in {e.site for e in truth.events}}
    active = {a["fingerprint"]: a["state"] for a in engine.active_alerts()}
    return Expected(transitions, floors, active)


# Fields of a floor snapshot that only events change (the rest moves with the engine's clock).
FLOOR_COUNTERS = ("offered", "answered", "abandoned", "handled", "answered_within_sl", "calls_waiting")


def floor_digest(snap: dict[str, Any]) -> dict[str, Any]:
    """What of a floor must be identical to the offline engine's: how many events changed it
    (``seq``), the counters per queue and in total, and every agent's state."""
    return {
        "seq": snap["seq"],
        "totals": {k: snap["totals"][k] for k in FLOOR_COUNTERS},
        "queues": {q["queue"]: {k: q[k] for k in FLOOR_COUNTERS} for q in snap["queues"]},
        "agents": {a["agent"]: (a["state"], a.get("call")) for a in snap["agents"]},
    }


# -- the rig -----------------------------------------------------------------------------------
@dataclass
class Service:
    name: str
    command: list[str]
    http_port: int  # /readyz: the ops port of ingest / alerts, the API's own port
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    kills: int = 0
    starts: int = 0


class Rig:
    """Everything of one fault run. ``with Rig(workdir) as rig: rig.start("ingest") …``."""

    def __init__(
        self,
        workdir: Path,
        *,
        partitions: int = 2,
        lateness_s: float = 120.0,
        apis: int = 1,
        extra_env: dict[str, str] | None = None,
    ):
        self.workdir = workdir
        self.partitions = partitions
        self.lateness_s = lateness_s
        self.api_names = [f"api-{chr(ord('a') + i)}" for i in range(apis)]
        self.extra_env = extra_env or {}
        self.services: dict[str, Service] = {}
        self.broker: EmbeddedBroker | None = None
        self.proxy: TcpProxy | None = None
        self.db_name: str | None = None
        self.settings: Settings | None = None

    # setup / teardown
    def __enter__(self) -> Rig:
        self.workdir.mkdir(parents=True, exist_ok=True)
        broker_port = free_port()
        self.proxy = TcpProxy(("127.0.0.1", broker_port)).start()
        self.broker = EmbeddedBroker(
            port=broker_port, log_path=self.workdir / "tansu.log", advertised=self.proxy.address
        ).start()
        self.db_name = f"floorwatch_faults_{uuid.uuid4().hex[:10]}"
        _pg(PG_ADMIN_DSN, f'CREATE DATABASE "{self.db_name}"')
        base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        self.settings = Settings(
            kafka_bootstrap=self.proxy.address,
            topic_prefix=f"f{uuid.uuid4().hex[:6]}.",
            database_url=f"{base}/{self.db_name}",
            partitions=self.partitions,
        )
        upgrade(self.settings.database_url)
        ensure_topics(self.settings)
        env = env_for(
            self.settings,
            FLOORWATCH_ADMIN_TOKEN=TOKEN,
            FLOORWATCH_ALLOWED_LATENESS_S=str(self.lateness_s),
            FLOORWATCH_SNAPSHOT_INTERVAL_S="1",
            FLOORWATCH_LOG_LEVEL="INFO",
            **self.extra_env,
        )
        self.env = env
        for name in ("ingest", "alerts"):
            port = free_port()
            self.services[name] = Service(
                name, [name, "--metrics-port", str(port)], port, self.workdir / f"{name}.log"
            )
        for name in self.api_names:
            port = free_port()
            log = self.workdir / f"{name}.log"
            self.services[name] = Service(name, ["api", "--port", str(port)], port, log)
        return self

    def __exit__(self, *exc: object) -> None:
        for svc in self.services.values():
            if svc.proc is not None and svc.proc.poll() is None:
                svc.proc.kill()
                svc.proc.wait(10)
        if self.broker is not None:
            self.broker.stop()
        if self.proxy is not None:
            self.proxy.stop()
        if self.db_name is not None:
            _pg(PG_ADMIN_DSN, f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    @property
    def s(self) -> Settings:
        assert self.settings is not None
        return self.settings

    # services
    def start(self, name: str) -> None:
        svc = self.services[name]
        assert svc.proc is None or svc.proc.poll() is not None, f"{name} is running"
        with open(svc.log, "a") as out:
            out.write(f"\n===== start {svc.starts + 1} at {time.time():.3f}\n")
        svc.proc = spawn(svc.command, self.env, svc.log)
        svc.starts += 1

    def kill(self, name: str) -> None:
        """``kill -9``: no handler runs, nothing is flushed or committed."""
        svc = self.services[name]
        assert svc.proc is not None and svc.proc.poll() is None, f"{name} is not running:\n{self.tail(name)}"
        svc.proc.send_signal(signal.SIGKILL)
        svc.proc.wait(10)
        svc.kills += 1

    def stop(self, name: str, timeout: float = 30) -> int:
        svc = self.services[name]
        if svc.proc is None:
            return 0
        if svc.proc.poll() is None:
            svc.proc.send_signal(signal.SIGTERM)
            try:
                svc.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                svc.proc.kill()
                svc.proc.wait(10)
                raise AssertionError(
                    f"{name} did not stop on SIGTERM in {timeout}s:\n{self.tail(name)}"
                ) from None
        return int(svc.proc.returncode)

    def alive(self, name: str) -> bool:
        proc = self.services[name].proc
        return proc is not None and proc.poll() is None

    def tail(self, name: str, n: int = 3000) -> str:
        log = self.services[name].log
        return log.read_text(errors="replace")[-n:] if log.exists() else ""

    def readyz(self, name: str) -> tuple[int, str]:
        """(status, body) of the service's /readyz; (0, error) when nothing answers."""
        svc = self.services[name]
        try:
            r = httpx.get(f"http://127.0.0.1:{svc.http_port}/readyz", timeout=2)
            return r.status_code, r.text
        except httpx.HTTPError as exc:
            return 0, repr(exc)

    def wait_ready(self, names: Iterable[str], timeout: float = 60) -> float:
        t0 = time.monotonic()
        pending = set(names)
        while pending:
            for name in list(pending):
                if not self.alive(name):
                    raise AssertionError(f"{name} exited:\n{self.tail(name)}")
                if self.readyz(name)[0] == 200:
                    pending.discard(name)
            if pending:
                if time.monotonic() - t0 > timeout:
                    raise AssertionError(
                        f"not ready in {timeout}s: {sorted(pending)}; "
                        + "; ".join(f"{n}: {self.readyz(n)}" for n in pending)
                    )
                time.sleep(0.2)
        return time.monotonic() - t0

    # reading what came out
    def history(self) -> collections.Counter[tuple[str, str]]:
        rows = _pg_fetch(self._dsn(), "SELECT source, event_id FROM events")
        return collections.Counter((r[0], r[1]) for r in rows)

    def history_count(self) -> int:
        return int(_pg_fetch(self._dsn(), "SELECT count(*) FROM events")[0][0])

    def _dsn(self) -> str:
        return self.s.database_url.replace("postgresql+asyncpg://", "postgresql://")

    def topic(self, name: str, expect: int = 0, timeout: float = 20, settle: float = 1.0) -> list[Any]:
        return read_topic(self.s, self.s.topic(name), expect, timeout=timeout, settle=settle)


def _pg(dsn: str, sql: str) -> None:
    async def go() -> None:
        import asyncpg

        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(go())


def _pg_fetch(dsn: str, sql: str) -> list[Any]:
    async def go() -> list[Any]:
        import asyncpg

        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            return list(await conn.fetch(sql))
        finally:
            await conn.close()

    return asyncio.run(go())


# -- feeding -----------------------------------------------------------------------------------
class Feeder:
    """Produces the ground truth to the raw topic at ``rate`` records per wall second, in its own
    thread, noting when each record was handed to the producer (for lateness)."""

    def __init__(self, settings: Settings, truth: Truth, rate: float):
        self.settings = settings
        self.truth = truth
        self.rate = rate
        self.sent_at: list[float] = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="feeder", daemon=True)

    def start(self) -> Feeder:
        self._thread.start()
        return self

    @property
    def sent(self) -> int:
        return len(self.sent_at)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"feeder still running after {timeout}s ({self.sent} sent)")
        if self.error is not None:
            raise AssertionError(f"feeder failed: {self.error!r}")

    def _run(self) -> None:
        producer = make_producer(self.settings)
        topic = self.settings.topic("raw")
        began = time.monotonic()
        try:
            for i, (ev, payload) in enumerate(zip(self.truth.events, self.truth.payloads, strict=True)):
                due = began + i / self.rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                self.sent_at.append(time.time())
                producer.send(topic, key=ev.site.encode(), value=payload)
            producer.flush(120)
        except BaseException as exc:  # noqa: BLE001 -- reported by join()
            self.error = exc
        finally:
            producer.close(10)


# -- WebSocket clients -------------------------------------------------------------------------
@dataclass
class ClientLog:
    """What one WebSocket client of one API instance saw, over all its connections."""

    name: str
    connections: int = 0
    alert_frames: list[dict[str, Any]] = field(default_factory=list)  # every alert frame, in order
    active: dict[str, dict[str, Any]] = field(default_factory=dict)  # fingerprint -> latest transition
    errors: list[str] = field(default_factory=list)

    def _reset_active(self, alerts: list[dict[str, Any]]) -> None:
        self.active = {a["fingerprint"]: a for a in alerts}

    def apply(self, msg: dict[str, Any]) -> None:
        if msg["type"] in ("hello", "resync"):
            self._reset_active(msg.get("alerts") or [])
        elif msg["type"] == "alert":
            a = msg["alert"]
            self.alert_frames.append(a)
            if a["state"] == "resolved":
                self.active.pop(a["fingerprint"], None)
            else:
                self.active[a["fingerprint"]] = a


class Clients:
    """One WebSocket client per API instance, each reconnecting on its own whenever its
    connection drops (an API killed), in one asyncio loop in a thread."""

    def __init__(self, rig: Rig):
        self.rig = rig
        self.logs = {name: ClientLog(name) for name in rig.api_names}
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._main()), name="ws-clients", daemon=True
        )

    def start(self) -> Clients:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)

    async def _main(self) -> None:
        await asyncio.gather(*(self._client(name) for name in self.logs))

    async def _client(self, name: str) -> None:
        import websockets

        log = self.logs[name]
        url = f"ws://127.0.0.1:{self.rig.services[name].http_port}/v1/stream?token={TOKEN}"
        while not self._stop.is_set():
            try:
                async with websockets.connect(url, open_timeout=3, max_size=None) as ws:
                    log.connections += 1
                    while not self._stop.is_set():
                        try:
                            raw = await asyncio.wait_for(ws.recv(), 0.5)
                        except TimeoutError:
                            continue
                        log.apply(json.loads(raw))
            except (OSError, TimeoutError) as exc:
                log.errors.append(repr(exc)[:200])
            except Exception as exc:  # noqa: BLE001 -- websockets' ConnectionClosed and kin
                log.errors.append(repr(exc)[:200])
            await asyncio.sleep(0.3)


# -- the comparison ----------------------------------------------------------------------------
@dataclass
class Tally:
    events: int = 0
    stored: int = 0  # distinct ground-truth events in the history
    history_lost: int = 0
    history_twice: int = 0  # rows beyond one per (source, id)
    history_foreign: int = 0  # rows that are no ground-truth event
    topic_lost: int = 0  # ground-truth events never on the events topic
    topic_redelivered: int = 0  # extra copies on the events topic (the engine drops them)
    topic_reordered: dict[str, int] = field(default_factory=dict)  # site -> first copies out of order
    transitions: int = 0  # expected (offline engine)
    published: int = 0  # distinct transition ids on the alerts topic (up to the last event)
    lost: int = 0
    extra: int = 0  # published, not expected
    conflicting: int = 0  # one transition id, different content
    redelivered: int = 0  # same transition again (consumers drop it by transition_id)
    late: int = 0  # published more than late_bound_s after its cause was produced
    late_bound_s: float = 0.0
    latency_p50_s: float = 0.0
    latency_max_s: float = 0.0
    floors_equal: dict[str, bool] = field(default_factory=dict)
    floor_diffs: dict[str, Any] = field(default_factory=dict)
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    exit_codes: dict[str, int] = field(default_factory=dict)  # on the final SIGTERM
    faults: list[str] = field(default_factory=list)  # what was done, when
    fed_at_faults: list[int] = field(default_factory=list)  # events fed when each fault began

    @property
    def ok(self) -> bool:
        return (
            self.history_lost == self.history_twice == self.history_foreign == self.topic_lost == 0
            and self.lost == self.extra == self.conflicting == 0
            and all(self.floors_equal.values())
            and all(c["ok"] for c in self.clients.values())
        )

    def lines(self) -> list[str]:
        out = [*self.faults]
        out += [
            f"events: {self.events} produced, {self.stored} stored once; lost {self.history_lost}, "
            f"stored twice {self.history_twice}, foreign {self.history_foreign}; events topic: "
            f"lost {self.topic_lost}, redelivered {self.topic_redelivered} (dropped by the engine's dedup), "
            f"out of order {sum(self.topic_reordered.values())}",
            f"alert transitions: {self.transitions} expected, {self.published} published; lost {self.lost}, "
            f"extra {self.extra}, conflicting {self.conflicting}, redelivered {self.redelivered} "
            f"(same transition_id, dropped by consumers); late (> {self.late_bound_s:.0f} s) {self.late}, "
            f"latency p50 {self.latency_p50_s:.2f} s max {self.latency_max_s:.2f} s",
            "floors equal to the offline engine: "
            + ", ".join(f"{s}={'yes' if ok else 'NO'}" for s, ok in sorted(self.floors_equal.items())),
        ]
        for site, diff in sorted(self.floor_diffs.items()):
            out.append(f"  floor of {site}, offline vs live: {str(diff)[:1500]}")
        if self.exit_codes:
            out.append("exit status on SIGTERM: " + ", ".join(f"{n}={c}" for n, c in self.exit_codes.items()))
        for name, c in sorted(self.clients.items()):
            out.append(
                f"client of {name}: {c['connections']} connection(s), {c['distinct']} distinct transitions "
                f"seen, {c['dup_frames']} frames repeated, missed {c['missed']}, extra {c['extra']}, "
                f"final active alerts equal: {c['active_equal']}"
            )
        return out


def tally(
    rig: Rig,
    truth: Truth,
    exp: Expected,
    feeder: Feeder | None = None,
    clients: Clients | None = None,
    *,
    killed_apis: Iterable[str] = (),
    late_bound_s: float = 30.0,
) -> Tally:
    t = Tally(events=len(truth.events), late_bound_s=late_bound_s)
    ids = truth.ids
    history = rig.history()
    t.stored = sum(1 for k in ids if history.get(k, 0) >= 1)
    t.history_lost = len(ids) - t.stored
    t.history_twice = sum(n - 1 for k, n in history.items() if n > 1)
    t.history_foreign = sum(n for k, n in history.items() if k not in ids)

    events_topic = rig.topic("events", expect=len(ids), timeout=30)
    seen: collections.Counter[tuple[str, str]] = collections.Counter()
    order: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)  # site -> first copies
    for rec in events_topic:
        doc = orjson.loads(rec.value)
        key = (doc["source"], doc["id"])
        if not seen[key]:
            order[doc["site"]].append(key)
        seen[key] += 1
    want: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
    for ev in truth.events:
        want[ev.site].append((ev.source, ev.id))
    for site, keys in want.items():
        got = order.get(site, [])
        t.topic_reordered[site] = sum(1 for a, b in zip(keys, got, strict=False) if a != b)
    t.topic_lost = sum(1 for k in ids if k not in seen)
    t.topic_redelivered = sum(n - 1 for n in seen.values() if n > 1)

    # Transitions up to the last event: beyond it the live engine's clock runs on (wall time).
    last = truth.last_ts
    records = rig.topic("alerts", expect=0, timeout=15, settle=1.0)
    by_id: dict[str, dict[str, Any]] = {}
    published_at: dict[str, float] = {}
    for rec in records:
        w = orjson.loads(rec.value)
        if dt.datetime.fromisoformat(w["event_time"]) > last:
            continue
        if w["transition_id"] in by_id:
            if by_id[w["transition_id"]] == w:
                t.redelivered += 1
            else:
                t.conflicting += 1
            continue
        by_id[w["transition_id"]] = w
        published_at[w["transition_id"]] = rec.timestamp / 1000
    t.transitions = len(exp.transitions)
    t.published = len(by_id)
    t.lost = sum(1 for k in exp.transitions if k not in by_id)
    t.extra = sum(1 for k in by_id if k not in exp.transitions)
    t.conflicting += sum(1 for k, w in by_id.items() if k in exp.transitions and w != exp.transitions[k])

    if feeder is not None and feeder.sent_at:
        latencies = _latencies(truth, feeder, by_id, published_at)
        if latencies:
            t.latency_p50_s = statistics.median(latencies)
            t.latency_max_s = max(latencies)
            t.late = sum(1 for x in latencies if x > late_bound_s)

    floors: dict[str, dict[str, Any]] = {}
    for rec in rig.topic("floor", expect=0, timeout=15, settle=0.5):
        snap = orjson.loads(rec.value)
        floors[snap["site"]] = snap  # the last per site
    for site, want in exp.floors.items():
        got = floors.get(site)
        equal = got is not None and floor_digest(got) == floor_digest(want)
        t.floors_equal[site] = equal
        if not equal:
            t.floor_diffs[site] = _diff(floor_digest(want), floor_digest(got) if got else {})

    if clients is not None:
        killed = set(killed_apis)
        for name, log in clients.logs.items():
            frames = [f for f in log.alert_frames if dt.datetime.fromisoformat(f["event_time"]) <= last]
            distinct = {f["transition_id"] for f in frames}
            missed = sum(1 for k in exp.transitions if k not in distinct)
            extra = sum(1 for k in distinct if k not in exp.transitions)
            active = {fp: a["state"] for fp, a in log.active.items()}
            active_equal = active == exp.active
            ok = extra == 0 and active_equal and (name in killed or missed == 0)
            t.clients[name] = {
                "connections": log.connections,
                "distinct": len(distinct),
                "dup_frames": len(frames) - len(distinct),
                "missed": missed,
                "extra": extra,
                "active_equal": active_equal,
                "killed": name in killed,
                "ok": ok and len(frames) == len(distinct),
            }
    return t


def _latencies(
    truth: Truth, feeder: Feeder, by_id: dict[str, dict[str, Any]], published_at: dict[str, float]
) -> list[float]:
    """Per transition: its publication time minus the time the event that let the engine decide
    it was produced — the first event of its site at or after its ``event_time``."""
    per_site: dict[str, tuple[list[dt.datetime], list[float]]] = {}
    for ev, sent in zip(truth.events, feeder.sent_at, strict=False):
        ts, at = per_site.setdefault(ev.site, ([], []))
        ts.append(ev.ts)
        at.append(sent)
    import bisect

    out = []
    for tid, w in by_id.items():
        site = w["scope"].get("site", "")
        if site not in per_site:
            continue
        ts, at = per_site[site]
        i = bisect.bisect_left(ts, dt.datetime.fromisoformat(w["event_time"]))
        if i < len(at):
            out.append(published_at[tid] - at[i])
    return out


def _diff(want: dict[str, Any], got: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in set(want) | set(got):
        if want.get(key) != got.get(key):
            a, b = want.get(key), got.get(key)
            if isinstance(a, dict) and isinstance(b, dict):
                out[key] = {k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)}
            else:
                out[key] = (a, b)
    return out


def wait_until(pred: Any, timeout: float, what: str, every: float = 0.3) -> float:
    t0 = time.monotonic()
    while not pred():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(every)
    return time.monotonic() - t0


def default_start(floor: Floor) -> dt.datetime:
    """A start that puts every event in the past (an ingest clock-skew bound never rejects them):
    the floor's events span about ``events / (rate × sites)`` seconds of event time."""
    span = floor.events / (floor.rate_per_s * len(floor.sites))
    start = dt.datetime.now(BEIJING) - dt.timedelta(seconds=span * 1.5 + 300)
    return start.replace(microsecond=0)


__all__ = [
    "Clients",
    "Expected",
    "Feeder",
    "Floor",
    "Rig",
    "Tally",
    "Truth",
    "default_rules",
    "default_start",
    "expected",
    "ground_truth",
    "tally",
    "wait_until",
]
