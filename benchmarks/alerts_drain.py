"""The alerts service alone (``floorwatch alerts``) draining a backlog, against the pure engine.

``engine_throughput``'s floor (one site, 5,000 agents, 200 queues; ``--events`` events from two
hours into the day, retimed to end at the wall clock's now) is put on the events topic of an
embedded Tansu broker. Then, per round and per ``--log-levels`` entry, a fresh ``floorwatch
alerts`` (SQLite after ``floorwatch db upgrade``, JSON logs to a file) applies it: poll, decode,
engine, transitions published and logged, floor snapshots, engine snapshots, the Prometheus floor
export. Figure: events applied per second of wall time from the first ``/metrics`` reading with a
count above 0 to the first one at the end (read every ``--every`` s, every 0.1 s in the last 5 %:
a read costs the process tens of ms at 5,000 agents). Baseline, in this process, in the same round:
the same events through ``Engine.on_event`` (all default rules). The service does more per
event than the engine (and shares the interpreter lock between its threads), so the ratio says
what the service costs on top.

Two log levels by default: at INFO (the default) the alerts service logs two lines per alert
transition, and this floor makes ~15 transitions per 100 events; WARNING logs almost nothing. Run:
``python -m benchmarks.alerts_drain --repeat 3``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from benchmarks.engine_throughput import floor_events, timed
from benchmarks.procstat import interrupt
from benchmarks.up_alerts_processes import _metric, _scrape
from services.alerts.core import Engine, default_rules
from shared.broker import EmbeddedBroker, free_port
from shared.config import Settings
from shared.events import Event, encode_event
from shared.kafka import ensure_topics, make_producer


def drain(broker: EmbeddedBroker, events: list[Event], tag: str, level: str, workdir: Path,
          every: float) -> tuple[float, int]:
    """Events/s of one fresh ``floorwatch alerts`` over the backlog, and the log lines it wrote."""
    prefix = f"drain{tag}."
    settings = Settings(kafka_bootstrap=broker.bootstrap, topic_prefix=prefix, partitions=3)
    ensure_topics(settings)
    shift = dt.datetime.now(dt.UTC) - events[-1].ts
    producer = make_producer(settings)
    for ev in events:
        moved = msgspec.structs.replace(ev, ts=ev.ts + shift)
        producer.send(settings.topic("events"), key=ev.site.encode(), value=encode_event(moved))
    producer.flush()
    producer.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOORWATCH_")}
    env.update(FLOORWATCH_TOPIC_PREFIX=prefix, FLOORWATCH_PARTITIONS="3", FLOORWATCH_LOG_FORMAT="json",
               PYTHONUNBUFFERED="1")
    db = f"sqlite+aiosqlite:///{workdir / f'fw-{tag}.db'}"
    cli = [sys.executable, "-m", "floorwatch.cli"]
    subprocess.run([*cli, "db", "upgrade", "--db", db], env=env, check=True, capture_output=True)
    port = free_port()
    log = workdir / f"alerts-{tag}.log"
    with open(log, "wb") as out:
        argv = [*cli, "alerts", "--kafka", broker.bootstrap, "--db", db, "--metrics-port", str(port),
                "--log-level", level]
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        total, first = len(events), None
        deadline = time.perf_counter() + 600
        while time.perf_counter() < deadline:
            count = _metric(_scrape(port), "floorwatch_alerts_events_total")
            now = time.perf_counter()
            if first is None and count > 0:
                first = (now, count)
            if count >= total and first is not None:
                return (count - first[1]) / max(now - first[0], 1e-9), len(log.read_bytes().splitlines())
            if proc.poll() is not None:
                raise SystemExit(f"floorwatch alerts exited {proc.returncode}:\n{log.read_text()[-3000:]}")
            time.sleep(0.1 if count >= 0.95 * total else every)
        raise SystemExit(f"the backlog was not applied within 600 s:\n{log.read_text()[-3000:]}")
    finally:
        interrupt(proc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=1, help="rounds (log levels interleaved in each)")
    ap.add_argument("--log-levels", default="INFO,WARNING", help="comma-separated; INFO is the default")
    ap.add_argument("--every", type=float, default=1.0, help="seconds between /metrics readings")
    args = ap.parse_args()
    levels = args.log_levels.split(",")
    events = floor_events(5000, 200, args.events, 120.0)
    print(f"{len(events):,} events, one site of 5,000 agents; load average {os.getloadavg()[0]:.2f}; "
          f"cores: {os.cpu_count()}", flush=True)
    rules = default_rules()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker() as broker:
        for r in range(args.repeat):
            engine = timed(events, Engine(rules).on_event)
            print(f"  round {r + 1}: engine in process {engine:>8,.0f} events/s", flush=True)
            for level in levels:
                rate, lines = drain(broker, events, f"{r}{level.lower()}", level, Path(tmp), args.every)
                print(f"  round {r + 1}: floorwatch alerts, {level:<7} {rate:>8,.0f} events/s "
                      f"(x{rate / engine:.2f} of the engine; {lines:,} log lines)", flush=True)
    print(f"  load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
