"""Floor-engine throughput with the sites split over P processes, as ``up --alerts-processes P`` splits them.

The pure engine, all default rules, on the floor of ``engine_throughput`` (5,000 agents, 200
queues, 3 skills per agent, shifts staggered; 200,000 events from two hours into the day). That
floor is one site, and a site is the unit a partition carries, so here it is cut into ``--sites``
sites of equal size (default 8 of 625 agents and 25 queues; each its own simulation, seeds 7, 8, …,
merged in event-time order): the same agents, queues and load per agent, over several sites. P=1
and P=2 run on this very same multi-site stream.

The split is the one the consumer group makes: a site's events go to partition
``murmur2(site) % partitions`` (kafka-python's default partitioner, the producer's) with the
partition count ``up`` creates for P processes (``floorwatch.supervisor.partitions_for``: 3 for
1, 4 for 2), and process i owns a contiguous range of partitions (what the range assignor gave
in ``tests/integration/test_up_alerts_processes.py``: [0, 1] and [2, 3]); each process keeps one
engine per partition, as the alerts service does. ``--names balanced`` (default) takes the first
names ``site-0``, ``site-1``, … that put the same number of sites on every partition;
``--names plain`` takes ``site-0`` … ``site-<S-1>`` as they hash (a lumpy split: printed).

Each round forks P processes (the stream is inherited, not sent), which wait at a barrier and
then each applies its sites' events; the figure is all events over the wall time from the first
start to the last finish. Beside it, "by CPU time": all events over the slowest process's CPU
seconds, what the split gives with a free core per process (on a shared machine the wall-clock
figure is what the load left). ``--repeat N`` interleaves N rounds of P=1 and P=2. After the timing,
each process sends back its transitions (``to_wire()``), and the union of the P processes'
transitions must equal P=1's: per site the same transitions in the same order (so also the same
multiset). Run: ``python -m benchmarks.engine_processes --repeat 3``.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import heapq
import multiprocessing as mp
import os
import time
from collections import Counter
from multiprocessing.connection import Connection
from typing import Any

import orjson
from kafka.partitioner.default import murmur2

from floorwatch.sim import FloorSimulation
from floorwatch.supervisor import partitions_for
from services.alerts.core import Engine, default_rules
from shared.config import Settings
from shared.events import Event

from .engine_throughput import START, floor_config, floor_events

# the streams, built before the first fork: each process inherits them (copy-on-write), none is sent
STREAMS: dict[str, list[Event]] = {"sites": [], "one site": []}


def partition_of(site: str, partitions: int) -> int:
    return (murmur2(site.encode()) & 0x7FFFFFFF) % partitions


def site_names(count: int, partitions: int, balanced: bool) -> list[str]:
    """``count`` names; balanced: the same number on each of ``partitions`` partitions."""
    if not balanced:
        return [f"site-{i}" for i in range(count)]
    if count % partitions:
        raise SystemExit(f"--names balanced: {count} sites do not divide over {partitions} partitions")
    per = count // partitions
    names: list[str] = []
    load = Counter[int]()
    i = 0
    while len(names) < count:
        name, i = f"site-{i}", i + 1
        p = partition_of(name, partitions)
        if load[p] < per:
            load[p] += 1
            names.append(name)
    return names


def multi_site_events(agents: int, queues: int, names: list[str], count: int, skip_min: float) -> list[Event]:
    """``len(names)`` floors of ``agents/sites`` agents and ``queues/sites`` queues, merged by time."""
    import datetime as dt

    sims = []
    for k, name in enumerate(names):
        config = dataclasses.replace(floor_config(agents // len(names), queues // len(names)), site=name)
        sim = FloorSimulation(config, seed=7 + k, start=START)
        sim.events_until(START + dt.timedelta(minutes=skip_min))  # past the morning ramp
        sims.append(sim)
    merged = heapq.merge(*sims, key=lambda ev: ev.ts)
    return [next(merged) for _ in range(count)]


def owners(sites: list[str], processes: int) -> dict[str, tuple[int, int]]:
    """site -> (process, partition) under ``up --alerts-processes <processes>``."""
    partitions = partitions_for(Settings(alerts_processes=processes))
    per = partitions // processes
    return {s: (partition_of(s, partitions) // per, partition_of(s, partitions)) for s in sites}


def run_one(
    stream: str, index: int, placed: dict[str, tuple[int, int]], barrier: Any, out: Connection
) -> None:
    """One process: its sites' events through one engine per partition, timed; then its transitions."""
    rules = default_rules()
    mine = [ev for ev in STREAMS[stream] if placed[ev.site][0] == index]
    engines = {part: Engine(rules) for proc, part in placed.values() if proc == index}
    route = {site: engines[part] for site, (proc, part) in placed.items() if proc == index}
    got: list[Any] = []
    gc.collect()
    barrier.wait()
    t0, cpu0 = time.perf_counter(), time.process_time()
    for ev in mine:
        got += route[ev.site].on_event(ev)
    t1, cpu1 = time.perf_counter(), time.process_time()
    by_site: dict[str, list[bytes]] = {}
    for tr in got:
        by_site.setdefault(tr.scope["site"], []).append(
            orjson.dumps(tr.to_wire(), option=orjson.OPT_SORT_KEYS)
        )
    out.send((t0, t1, cpu1 - cpu0, len(mine), by_site))
    out.close()


Round = tuple[float, list[tuple[int, float, float]], dict[str, list[bytes]]]


def run_round(processes: int, placed: dict[str, tuple[int, int]], stream: str = "sites") -> Round:
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(processes + 1)
    pipes, procs = [], []
    for i in range(processes):
        mine, theirs = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=run_one, args=(stream, i, placed, barrier, theirs))
        proc.start()
        theirs.close()
        pipes.append(mine)
        procs.append(proc)
    barrier.wait()
    results = [p.recv() for p in pipes]
    for proc in procs:
        proc.join()
        if proc.exitcode != 0:
            raise SystemExit(f"a benchmark process exited with {proc.exitcode}")
    start = min(r[0] for r in results)
    end = max(r[1] for r in results)
    total = sum(r[3] for r in results)
    each = [(r[3], r[3] / (r[1] - r[0]), r[2]) for r in results]
    union: dict[str, list[bytes]] = {}
    for r in results:
        for site, seq in r[4].items():
            if site in union:
                raise SystemExit(f"site {site} had transitions in two processes")
            union[site] = seq
    return total / (end - start), each, union


def stream_arguments(ap: argparse.ArgumentParser) -> None:
    """The multi-site stream's options and the process counts (shared with ``up_alerts_processes``)."""
    ap.add_argument("--agents", type=int, default=5000)
    ap.add_argument("--queues", type=int, default=200)
    ap.add_argument("--sites", type=int, default=8)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--skip-min", type=float, default=120.0, help="event-time minutes to skip first")
    ap.add_argument("--processes", default="1,2", help="process counts to compare (default 1,2)")
    ap.add_argument("--repeat", type=int, default=1, help="rounds (the process counts interleaved)")
    ap.add_argument("--names", choices=("balanced", "plain"), default="balanced")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    stream_arguments(ap)
    ap.add_argument(
        "--no-one-site",
        dest="one_site",
        action="store_false",
        help="leave out the reference: engine_throughput's one-site stream, one process",
    )
    args = ap.parse_args()
    counts = [int(p) for p in args.processes.split(",")]
    if args.agents % args.sites or args.queues % args.sites:
        raise SystemExit(f"--sites {args.sites} must divide --agents and --queues")
    widest = partitions_for(Settings(alerts_processes=max(counts)))
    names = site_names(args.sites, widest, args.names == "balanced")
    t0 = time.perf_counter()
    EVENTS = STREAMS["sites"]
    EVENTS.extend(multi_site_events(args.agents, args.queues, names, args.events, args.skip_min))
    span = (EVENTS[-1].ts - EVENTS[0].ts).total_seconds()
    per_site = Counter(ev.site for ev in EVENTS)
    print(
        f"floor: {args.agents} agents, {args.queues} queues as {args.sites} sites of "
        f"{args.agents // args.sites} agents / {args.queues // args.sites} queues; "
        f"{len(EVENTS):,} events over {span / 60:.1f} min of event time ({len(EVENTS) / span:.0f}/s); "
        f"generated in {time.perf_counter() - t0:.1f} s; cores: {os.cpu_count()}"
    )
    print("  events per site: " + ", ".join(f"{s} {per_site[s]:,}" for s in names))
    placements = {p: owners(names, p) for p in counts}
    for p, placed in placements.items():
        shares = Counter(proc for proc, _ in (placed[ev.site] for ev in EVENTS))
        split = " + ".join(f"{shares[i]:,}" for i in range(p))
        parts = {i: sorted({part for proc, part in placed.values() if proc == i}) for i in range(p)}
        print(
            f"  P={p}: {partitions_for(Settings(alerts_processes=p))} partitions, events per process {split} "
            f"(partitions {parts})"
        )
    if args.one_site:
        STREAMS["one site"].extend(floor_events(args.agents, args.queues, args.events, args.skip_min))
        alone = {STREAMS["one site"][0].site: (0, 0)}
    single: list[float] = []
    rates: dict[int, list[float]] = {p: [] for p in counts}
    cpu_bound: dict[int, list[float]] = {p: [] for p in counts}
    reference: dict[str, list[bytes]] | None = None
    for r in range(args.repeat):
        if args.one_site:
            single.append(run_round(1, alone, "one site")[0])
            print(
                f"  round {r + 1}, one site (engine_throughput's stream), P=1: {single[-1]:>9,.0f} events/s",
                flush=True,
            )
        for p in counts:
            rate, each, union = run_round(p, placements[p])
            rates[p].append(rate)
            # what the slowest process's CPU time allows: the rate with a free core each (load aside)
            cpu_bound[p].append(sum(n for n, _, _ in each) / max(cpu for _, _, cpu in each))
            detail = "; ".join(f"{n:,} events at {eps:,.0f}/s, {cpu:.1f} s CPU" for n, eps, cpu in each)
            print(
                f"  round {r + 1}, P={p}: {rate:>9,.0f} events/s aggregate, {cpu_bound[p][-1]:,.0f}/s by CPU "
                f"time ({detail})",
                flush=True,
            )
            if reference is None:
                reference = union
                continue
            # per site, the same transitions in the same order; so the same multiset overall
            if union != reference:
                bad = sorted(s for s in set(union) | set(reference) if union.get(s) != reference.get(s))
                raise SystemExit(f"P={p}: transitions differ from the first run's for sites {bad}")
            flat = Counter(t for seq in union.values() for t in seq)
            assert flat == Counter(t for seq in reference.values() for t in seq)
    assert reference is not None
    total = sum(len(seq) for seq in reference.values())
    print(f"  transitions: {total:,} in every run, identical per site (order kept) for every P and round")
    if single:
        print(f"  one site, P=1: {min(single):>9,.0f} .. {max(single):>9,.0f} events/s (reference)")
    for p, got in rates.items():
        lo, hi = min(got), max(got)
        by_cpu = f"{min(cpu_bound[p]):,.0f} .. {max(cpu_bound[p]):,.0f}"
        print(
            f"  {args.sites} sites, P={p}: {lo:>9,.0f} .. {hi:>9,.0f} events/s aggregate "
            f"(by CPU time: {by_cpu})"
        )
    if len(counts) > 1:
        one = rates[counts[0]]
        for p in counts[1:]:
            ratio = [b / a for a, b in zip(one, rates[p], strict=True)]
            print(f"  speed-up P={p} / P={counts[0]} per round: x{min(ratio):.2f} .. x{max(ratio):.2f}")
            ratio = [b / a for a, b in zip(cpu_bound[counts[0]], cpu_bound[p], strict=True)]
            print(f"  by CPU time (a free core per process): x{min(ratio):.2f} .. x{max(ratio):.2f}")


if __name__ == "__main__":
    main()
