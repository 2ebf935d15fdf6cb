"""Floor-engine throughput on one core: events/s through state + rules, and the engine's memory.

A simulated floor of ``--agents`` agents over ``--queues`` queues (default 5,000 / 200) is generated
up front (not timed): one team per queue, each team serving its own queue and the next two (3
skills per agent, as on a real floor; agents skilled on all 200 queues would make every state
change touch 200 queues), shifts staggered over the day. Then the same event list goes through:

* ``Floor.apply`` alone (the state reducer: the baseline),
* ``Engine.on_event`` with the threshold rules of the default set only,
* ``Engine.on_event`` with all default rules (threshold + detector kinds; ``advance`` is not
  called: a replay, where grid points run as events pass them),
* ``decode_event`` alone on the events' canonical JSON bytes (what the alerts service receives),
* bytes -> ``decode_event`` -> ``Engine.on_event`` with all default rules (the service's path).

``--repeat N`` runs every path N times (interleaved) and prints the range; ratios are per round.

Memory: a separate pass under ``tracemalloc`` (slow, not timed) — bytes held by the engine after
the stream, and the peak. Run: ``python -m benchmarks.engine_throughput [--events N]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from floorwatch.sim import FloorSimulation, default_config
from floorwatch.sim.config import QueueConfig, SimConfig, TeamConfig
from services.alerts.core import Engine, FloorConfig, RuleSet, default_rules
from services.alerts.core.detectors.threshold import ThresholdRule
from services.alerts.core.floor.reducer import Floor
from shared.events import Event, decode_event, encode_event

BEIJING = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 11, 30, 8, 0, tzinfo=BEIJING)


def floor_config(agents: int, queues: int) -> SimConfig:
    names = [f"q{i:03d}" for i in range(queues)]
    size = max(1, agents // queues)
    teams = tuple(
        TeamConfig(
            f"t{i:03d}",
            f"t{i:03d}a",
            size,
            tuple(names[(i + k) % queues] for k in range(3)),
            shift=(0, 510) if i % 3 == 0 else (60, 600) if i % 3 == 1 else (210, 720),
        )
        for i in range(queues)
    )
    base = default_config()
    per_agent = base.calls_per_hour / sum(t.size for t in base.teams)  # the default floor's load per agent
    return SimConfig(
        queues=tuple(QueueConfig(n, share=1.0) for n in names),
        teams=teams,
        calls_per_hour=per_agent * size * queues,
    )


def floor_events(agents: int, queues: int, count: int, skip_min: float) -> list[Event]:
    sim = FloorSimulation(floor_config(agents, queues), seed=7, start=START)
    sim.events_until(START + dt.timedelta(minutes=skip_min))  # past the morning ramp
    return [next(sim) for _ in range(count)]


def timed(events: list[Any], feed: Callable[[Any], object]) -> float:
    gc.collect()
    t0 = time.perf_counter()
    for ev in events:
        feed(ev)
    return len(events) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--agents", type=int, default=5000)
    ap.add_argument("--queues", type=int, default=200)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--skip-min", type=float, default=120.0, help="event-time minutes to skip first")
    ap.add_argument("--repeat", type=int, default=1, help="rounds of every path (interleaved)")
    args = ap.parse_args()
    load_at_start = os.getloadavg()[0]
    t0 = time.perf_counter()
    events = floor_events(args.agents, args.queues, args.events, args.skip_min)
    raw = [encode_event(ev) for ev in events]
    span = (events[-1].ts - events[0].ts).total_seconds()
    print(
        f"floor: {args.agents} agents, {args.queues} queues; {len(events):,} events over {span / 60:.1f} min "
        f"of event time ({len(events) / span:.0f}/s); generated in {time.perf_counter() - t0:.1f} s"
    )
    every = default_rules()
    plain = RuleSet(tuple(r for r in every.rules if isinstance(r, ThresholdRule)), inhibit=every.inhibit)

    def decoded(eng: Engine) -> Callable[[bytes], object]:
        return lambda data: eng.on_event(decode_event(data))

    paths: list[tuple[str, Callable[[], Callable[[Any], object]], bool]] = [
        ("Floor.apply alone (baseline)", lambda: Floor(config=FloorConfig()).apply, False),
        ("Engine, threshold rules only", lambda: Engine(plain).on_event, False),
        ("Engine, all default rules", lambda: Engine(every).on_event, False),
        ("decode_event alone (bytes)", lambda: decode_event, True),
        ("decode + Engine, all default rules", lambda: decoded(Engine(every)), True),
    ]
    rates: dict[str, list[float]] = {label: [] for label, _, _ in paths}
    for _ in range(args.repeat):
        for label, make, from_bytes in paths:
            rates[label].append(timed(raw if from_bytes else events, make()))
    base = rates[paths[0][0]]
    for label, got in rates.items():
        lo, hi = min(got), max(got)
        spread = f"{lo:>9,.0f} .. {hi:>9,.0f}" if len(got) > 1 else f"{hi:>9,.0f}"
        ratio = [r / b for r, b in zip(got, base, strict=True)]
        print(
            f"  {label:<36} {spread} events/s  ({1e6 / hi:5.1f} us/event at best; "
            f"x{min(ratio):.2f}..{max(ratio):.2f} baseline)"
        )
    print(f"  load average {load_at_start:.2f} at the start, {os.getloadavg()[0]:.2f} after the timed "
          f"rounds ({os.cpu_count()} cores)")
    del paths
    gc.collect()
    tracemalloc.start()
    eng = Engine(every)
    for ev in events:
        eng.on_event(ev)
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  engine memory (tracemalloc): {current / 2**20:.1f} MiB held, {peak / 2**20:.1f} MiB peak")
    print(f"  snapshot size: {len(eng.snapshot()) / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
