"""Fault runs against real processes: kill -9 of the services mid-stream, the broker cut off.

    .venv/bin/python -m benchmarks.faults kills  [--events 60000 --rate 500 --kills 12 --seed 7]
    .venv/bin/python -m benchmarks.faults outage [--events 20000 --rate 300 --outage-s 30 --mode reset]

Each run builds its own Tansu broker (behind a TCP proxy), its own PostgreSQL database, starts
``floorwatch ingest``, ``floorwatch alerts`` and two ``floorwatch api`` instances (one WebSocket
client each), feeds the simulator's floor to the raw topic, applies the faults, waits until the
system is quiet and prints the tally against the ground truth (tests/support/faultrig.py; what
each figure means: docs/reliability.md). Exit status 1 when anything was lost or duplicated.
The short versions run in the test suite (tests/integration/test_faults.py).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from services.alerts.core import default_rules
from tests.support.faultrig import (
    Clients,
    Feeder,
    Floor,
    Rig,
    Tally,
    default_start,
    expected,
    ground_truth,
    tally,
    wait_until,
)

SERVICES = ("ingest", "alerts", "api-a")
Say = Callable[[str], None]


def _quiet(rig: Rig, truth_events: int, exp_floors: dict[str, dict], timeout: float, say: Say) -> None:  # type: ignore[type-arg]
    """Wait until ingest stored every event and the engine applied them (its floors' ``seq``)."""
    took = wait_until(lambda: rig.history_count() >= truth_events, timeout, "ingest stored every event")
    say(f"  history complete {took:.1f}s after the feed ended")

    def floors_caught_up() -> bool:
        import orjson

        last: dict[str, int] = {}
        for rec in rig.topic("floor", expect=0, timeout=5, settle=0.2):
            snap = orjson.loads(rec.value)
            last[snap["site"]] = snap["seq"]
        return all(last.get(site, -1) >= snap["seq"] for site, snap in exp_floors.items())

    took = wait_until(floors_caught_up, timeout, "the engine applied every event", every=1.0)
    say(f"  engine caught up {took:.1f}s later")
    time.sleep(2.0)  # the last transitions reach the API instances and their clients


def run_kills(
    workdir: Path,
    floor: Floor,
    *,
    rate: float,
    kills: Sequence[tuple[float, str]],
    down_s: float = 0.5,
    lateness_s: float = 120.0,
    say: Say = print,
) -> Tally:
    """Feed ``floor`` at ``rate`` events/s; at each ``(t, service)`` (seconds after the feed
    began) kill -9 the service and start it again ``down_s`` later."""
    with Rig(workdir, apis=2, lateness_s=lateness_s) as rig:
        truth = ground_truth(floor, default_start(floor))
        exp = expected(truth, default_rules())
        say(f"ground truth: {len(truth.events)} events, {len(exp.transitions)} alert transitions")
        for name in rig.services:
            rig.start(name)
        took = rig.wait_ready(rig.services, timeout=90)
        say(f"all services ready in {took:.1f}s")
        clients = Clients(rig).start()
        wait_until(lambda: all(c.connections for c in clients.logs.values()), 20, "clients connected")
        feeder = Feeder(rig.s, truth, rate).start()
        began = time.monotonic()
        killed_apis = set()
        done: list[str] = []
        fed_at_kill: list[int] = []
        for at, name in sorted(kills):
            delay = began + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            rig.kill(name)
            fed_at_kill.append(feeder.sent)
            at_s = time.monotonic() - began
            done.append(f"t={at_s:5.1f}s kill -9 {name} (fed {feeder.sent} of {floor.events})")
            say("  " + done[-1])
            if name.startswith("api"):
                killed_apis.add(name)
            time.sleep(down_s)
            rig.start(name)
        feeder.join(timeout=600)
        say(f"feed done in {time.monotonic() - began:.1f}s")
        _quiet(rig, len(truth.events), exp.floors, 180, say)
        clients.stop()
        result = tally(rig, truth, exp, feeder, clients, killed_apis=killed_apis)
        result.faults = done
        result.fed_at_faults = fed_at_kill
        for name in rig.services:
            result.exit_codes[name] = rig.stop(name)
        return result


def kill_schedule(services: Sequence[str], count: int, span_s: float, seed: int) -> list[tuple[float, str]]:
    """``count`` kills spread over ``span_s`` seconds, the services in turn (order shuffled per
    round), each at least 6 s after the previous one so a restarted service has joined again."""
    rng = random.Random(seed)
    names: list[str] = []
    while len(names) < count:
        round_ = list(services)
        rng.shuffle(round_)
        names += round_
    gap = span_s / (count + 1)
    return [(gap * (i + 1) + rng.uniform(-gap / 4, gap / 4), names[i]) for i in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faults", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("kills", help="kill -9 of ingest, alerts and an API instance, repeatedly")
    p.add_argument("--events", type=int, default=60_000)
    p.add_argument("--rate", type=float, default=500.0, help="events produced per wall second")
    p.add_argument("--kills", type=int, default=12)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--lateness", type=float, default=120.0, help="FLOORWATCH_ALLOWED_LATENESS_S of alerts")
    p.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="floorwatch-faults-"))
    floor = Floor(events=args.events, seed=args.seed)
    if args.what == "kills":
        span = args.events / args.rate
        schedule = kill_schedule(SERVICES, args.kills, span, args.seed)
        result = run_kills(workdir, floor, rate=args.rate, kills=schedule, lateness_s=args.lateness)
    for line in result.lines():
        print(line)
    print(f"logs in {workdir}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
