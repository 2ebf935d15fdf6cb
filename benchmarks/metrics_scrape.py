"""The floor's Prometheus metrics at 5,000 agents: how many series, and how long a scrape takes.

The floor of ``engine_throughput`` (``--agents`` agents over ``--queues`` queues, one team per
queue, default 5,000 / 200 on one site), plus ``--projects`` projects, goes through the engine
with the default rules from 08:00 to noon (every shift on the floor; not timed). Then, in one process:

* baseline: ``Engine.floor_snapshot`` + ``orjson.dumps`` — what the alerts service already does
  for a changed site every ``floor_interval`` (0.5 s);
* ``FloorExport.event_applied`` per event against ``Engine.on_event`` (the shell's added cost);
* ``generate_latest`` of the registry with the :class:`FloorCollector` (the scrape's work), with
  no per-agent series (the default) and with every agent (``FLOORWATCH_METRICS_AGENTS=*``);
* ``GET /metrics`` over loopback from the alerts service's ops server, and through the relay
  ``floorwatch up`` puts on the API's ``/metrics``.

Run: ``python -m benchmarks.metrics_scrape [--agents 5000 --queues 200 --events 100000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import time
from collections.abc import Callable

import httpx
import orjson
from prometheus_client import CollectorRegistry, generate_latest

from benchmarks.engine_throughput import START, floor_config
from floorwatch.cli import with_demo_projects
from floorwatch.metrics_relay import MetricsRelay
from floorwatch.sim import FloorSimulation
from services.alerts.collector import FloorCollector
from services.alerts.core import Engine, default_rules
from services.alerts.export import ExportLimits, FloorExport
from shared.opshttp import OpsServer


def best_of(n: int, work: Callable[[], object]) -> tuple[float, float]:
    """(median, max) seconds of ``n`` runs."""
    took = []
    for _ in range(n):
        t0 = time.perf_counter()
        work()
        took.append(time.perf_counter() - t0)
    return statistics.median(took), max(took)


def projects(queues: int, count: int) -> str:
    return json.dumps(
        [
            {
                "name": f"p{i:02d}",
                "target": 500,
                "window": {"start": "08:00", "end": "20:00"},
                "queues": [f"q{(i * 7) % queues:03d}"],
            }
            for i in range(count)
        ]
    )


def series(text: bytes) -> int:
    return sum(1 for line in text.splitlines() if line and not line.startswith(b"#"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--agents", type=int, default=5000)
    ap.add_argument("--queues", type=int, default=200)
    ap.add_argument("--minutes", type=float, default=240.0, help="event time simulated, from 08:00")
    ap.add_argument("--projects", type=int, default=10)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    # from the start of the day (logins carry the teams) to when every shift is on the floor
    sim = FloorSimulation(floor_config(args.agents, args.queues), seed=7, start=START)
    events = list(sim.events_until(START + dt.timedelta(minutes=args.minutes)))
    rules = with_demo_projects(default_rules(), projects(args.queues, args.projects))
    engine = Engine(rules)
    t0 = time.perf_counter()
    for ev in events:
        engine.on_event(ev)
    engine_s = time.perf_counter() - t0
    [site] = engine.sites()
    snap = engine.floor_snapshot(site)
    print(
        f"floor: {len(events):,} events; {len(snap['agents'])} agents logged in, "
        f"{len(snap['queues'])} queues, {len(snap['teams'])} teams, {len(snap['projects'])} projects; "
        f"{len(engine.active_alerts())} active alerts"
    )

    base, base_max = best_of(args.runs, lambda: orjson.dumps(engine.floor_snapshot(site)))
    print(
        f"  baseline floor_snapshot + orjson.dumps:   {base * 1e3:7.2f} ms median ({base_max * 1e3:.2f} max)"
    )

    export = FloorExport(ExportLimits())
    t0 = time.perf_counter()
    for ev in events:
        export.event_applied(ev, 0.0)
    per_event = (time.perf_counter() - t0) / len(events)
    print(
        f"  FloorExport.event_applied: {per_event * 1e6:.2f} us/event "
        f"({per_event / (engine_s / len(events)) * 100:.1f} % of Engine.on_event's "
        f"{engine_s / len(events) * 1e6:.1f} us)"
    )

    for label, limits in (
        ("default (no per-agent series)", ExportLimits()),
        ("every agent (FLOORWATCH_METRICS_AGENTS=*)", ExportLimits(all_agents=True)),
    ):
        export = FloorExport(limits)
        for ev in events:
            export.event_applied(ev, 0.0)
        export.floor_published(snap, time.time())
        export.alerts_changed(engine.active_alerts())
        registry = CollectorRegistry()
        registry.register(FloorCollector(export))
        text = generate_latest(registry)
        med, worst = best_of(args.runs, lambda r=registry: generate_latest(r))  # type: ignore[misc]
        print(
            f"  {label}: {series(text):,} series, {len(text) / 1024:.0f} KiB; collect + encode "
            f"{med * 1e3:.1f} ms median ({worst * 1e3:.1f} max) = x{med / base:.1f} the baseline"
        )
        server = OpsServer(registry, lambda: None).start()
        try:
            url = f"http://127.0.0.1:{server.port}/metrics"
            with httpx.Client() as client:
                med, worst = best_of(args.runs, lambda c=client, u=url: c.get(u).content)  # type: ignore[misc]
            relay = MetricsRelay({"alerts": ("127.0.0.1", server.port)})
            rmed, rworst = best_of(args.runs, lambda r=relay: asyncio.run(r()))  # type: ignore[misc]
        finally:
            server.stop()
        print(
            f"    GET /metrics over loopback: {med * 1e3:.1f} ms median ({worst * 1e3:.1f} max); "
            f"relayed (floorwatch up): {rmed * 1e3:.1f} ms median ({rworst * 1e3:.1f} max)"
        )


if __name__ == "__main__":
    main()
