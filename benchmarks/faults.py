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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
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
from tests.support.tcpproxy import Mode

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


@dataclass
class OutageReport:
    """When each service noticed the outage and came back (seconds from the cut / restore)."""

    not_ready_after_s: dict[str, float | None] = field(default_factory=dict)
    ready_again_after_s: dict[str, float | None] = field(default_factory=dict)
    died: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # the first 503's body

    def lines(self, outage_s: float) -> list[str]:
        out = []
        for name in self.not_ready_after_s:
            nr, back = self.not_ready_after_s[name], self.ready_again_after_s.get(name)
            out.append(
                f"{name}: not ready {'never' if nr is None else f'{nr:.1f}s after the cut'}, ready again "
                f"{'never' if back is None else f'{back:.1f}s after the restore'}"
            )
        for name, why in self.reasons.items():
            out.append(f"  {name} /readyz said: {why}")
        out.append(f"services that died during the {outage_s:.0f}s outage: {self.died or 'none'}")
        return out


def run_faults(
    workdir: Path,
    floor: Floor,
    *,
    rate: float,
    kills: Sequence[tuple[float, str]] = (),
    down_s: float = 0.5,
    outage: tuple[float, float] | None = None,
    mode: Mode = "reset",
    lateness_s: float = 120.0,
    say: Say = print,
) -> tuple[Tally, OutageReport | None]:
    """Feed ``floor`` at ``rate`` events/s. At each ``(t, service)`` of ``kills`` (seconds after
    the feed began) kill -9 the service and start it again ``down_s`` later; then, with ``outage =
    (t, seconds)``, cut every client off the broker at ``t`` for that long (the broker keeps
    running with its data), watching each service's ``/readyz``. Then wait until the system is
    quiet and compare with the ground truth."""
    report = OutageReport() if outage is not None else None
    with Rig(workdir, apis=2, lateness_s=lateness_s) as rig:
        start = default_start(floor)
        truth = ground_truth(floor, start)
        exp = expected(truth, default_rules())
        say(f"ground truth: {len(truth.events)} events, {len(exp.transitions)} alert transitions")
        for name in rig.services:
            rig.start(name)
        took = rig.wait_ready(rig.services, timeout=90)
        say(f"all services ready in {took:.1f}s")
        clients = Clients(rig).start()
        wait_until(lambda: all(c.connections for c in clients.logs.values()), 20, "clients connected")
        feeder = Feeder(rig.s, floor, start, rate, workdir).start()
        began = time.monotonic()
        killed_apis = set()
        done: list[str] = []
        fed: list[int] = []
        for at, name in sorted(kills):
            delay = began + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            rig.kill(name)
            fed.append(feeder.sent)
            at_s = time.monotonic() - began
            done.append(f"t={at_s:5.1f}s kill -9 {name} (fed {fed[-1]} of {floor.events})")
            say("  " + done[-1])
            if name.startswith("api"):
                killed_apis.add(name)
            time.sleep(down_s)
            rig.start(name)
        if outage is not None and report is not None:
            cut_at_s, outage_s = outage
            time.sleep(max(0.0, began + cut_at_s - time.monotonic()))
            fed.append(feeder.sent)
            done.append(_outage(rig, report, outage_s, mode, began, say)
                        + f" (fed {fed[-1]} of {floor.events})")
        feeder.join(timeout=600)
        say(f"feed done in {time.monotonic() - began:.1f}s")
        _quiet(rig, len(truth.events), exp.floors, 180, say)
        clients.stop()
        result = tally(rig, truth, exp, feeder, clients, killed_apis=killed_apis)
        result.faults = done
        result.fed_at_faults = fed
        for name in rig.services:
            result.exit_codes[name] = rig.stop(name)
        return result, report


def _outage(rig: Rig, report: OutageReport, outage_s: float, mode: Mode, began: float, say: Say) -> str:
    assert rig.proxy is not None
    rig.proxy.cut(mode)
    cut = time.monotonic()
    what = f"t={cut - began:5.1f}s broker cut off ({mode}) for {outage_s:.0f}s"
    say("  " + what)
    report.not_ready_after_s = dict.fromkeys(rig.services)

    def watch(name: str) -> None:  # one thread per service: a probe may take its timeout
        while time.monotonic() - cut < outage_s:
            if not rig.alive(name):
                if name not in report.died:
                    report.died.append(name)
            elif report.not_ready_after_s[name] is None:
                status, body = rig.readyz(name)
                if status == 503:
                    report.not_ready_after_s[name] = time.monotonic() - cut
                    report.reasons[name] = body.strip()[:160]
            time.sleep(0.25)

    with ThreadPoolExecutor(len(rig.services)) as pool:
        list(pool.map(watch, rig.services))
    rig.proxy.restore()
    restored = time.monotonic()
    say(f"  t={restored - began:5.1f}s broker reachable again")
    back = report.ready_again_after_s = dict.fromkeys(rig.services)
    while any(v is None for v in back.values()) and time.monotonic() - restored < 120:
        for name in rig.services:
            if back[name] is None and rig.alive(name) and rig.readyz(name)[0] == 200:
                back[name] = time.monotonic() - restored
        time.sleep(0.3)
    return what


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
    p = sub.add_parser("outage", help="every client cut off the broker for a while, mid-stream")
    p.add_argument("--events", type=int, default=20_000)
    p.add_argument("--rate", type=float, default=300.0, help="events produced per wall second")
    p.add_argument("--outage-s", type=float, default=30.0)
    p.add_argument("--cut-at", type=float, default=10.0, help="seconds into the feed")
    p.add_argument("--mode", choices=["reset", "stall"], default="reset")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--lateness", type=float, default=120.0, help="FLOORWATCH_ALLOWED_LATENESS_S of alerts")
    p.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="floorwatch-faults-"))
    floor = Floor(events=args.events, seed=args.seed)
    if args.what == "kills":
        span = args.events / args.rate
        schedule = kill_schedule(SERVICES, args.kills, span, args.seed)
        result, report = run_faults(
            workdir, floor, rate=args.rate, kills=schedule, lateness_s=args.lateness
        )
    else:
        result, report = run_faults(
            workdir, floor, rate=args.rate, outage=(args.cut_at, args.outage_s), mode=args.mode,
            lateness_s=args.lateness,
        )
    if report is not None:
        for line in report.lines(args.outage_s):
            print(line)
    for line in result.lines():
        print(line)
    print(f"logs in {workdir}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
