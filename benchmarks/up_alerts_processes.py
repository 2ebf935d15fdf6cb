"""The embedded ``floorwatch up`` with P alerts processes: how fast it drains a backlog of events.

The multi-site stream of ``engine_processes`` (5,000 agents and 200 queues as 8 sites of equal
size, names balanced over the partitions unless ``--names plain``; retimed so that it ends at
the wall clock's now) is put on the events topic first, keyed by site, while only the broker
runs. Then ``floorwatch up --kafka <that broker> --alerts-processes P`` starts (SQLite, no
simulator; ingest, the API and P alerts processes on the same cores) and the alerts children
apply the backlog: the real service path (poll, decode, engine, publishing transitions and
floor snapshots, snapshots to the database). Each child's ``/metrics`` is read every ``--every``
seconds (default 1), and every 0.1 s once the count is within 5 % of the end. A read is not free:
at 5,000 agents the floor export makes ``/metrics`` ~5,000 lines, tens of ms of the alerts
process's interpreter per read, and reading every 0.1 s throughout (as this benchmark did before)
lowered the figure by ~10 % in interleaved pairs (docs/benchmarks.md; the readings taken are printed).

Figure: events applied per second of wall time once the group has settled (every child owns
its partitions: ``floorwatch_alerts_partitions_owned``) until the last event is applied (the
first reading at which the count reached its end; the run stops when every child also reports
a consumer lag of 0, a gauge refreshed about once a second). The join and the first rebalance
(with two processes the first one to join holds every partition until the second is in, then
hands half over) are left out and printed apart. Beside it, "by CPU time": the same events over
the busiest alerts process's CPU seconds in that interval (from /proc): the rate with a free
core per alerts process (ingest, the API and the broker aside). ``--repeat N`` interleaves N rounds of P=1
and P=2, each on a fresh topic prefix of one broker.

Run: ``python -m benchmarks.up_alerts_processes --repeat 3``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import msgspec

from benchmarks.procstat import cpu_s, interrupt
from floorwatch.supervisor import partitions_for
from shared.broker import EmbeddedBroker, free_port
from shared.config import Settings
from shared.events import Event, encode_event
from shared.kafka import ensure_topics, make_producer

from .engine_processes import multi_site_events, site_names, stream_arguments


def _metric(text: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def _alerts_children(up: int) -> list[int]:
    """The pids of ``up``'s ``floorwatch alerts`` children (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == up and b"alerts" in cmd[3:4]:
            found.append(int(entry.name))
    return found


def _cpu_s(pids: list[int]) -> list[float]:
    """CPU seconds (user + system) each process has used so far."""
    return [cpu_s(pid) for pid in pids]


def _scrape(port: int) -> str:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return ""


def one_round(
    broker: EmbeddedBroker, events: list[Event], processes: int, tag: str, workdir: Path, show: bool,
    every: float = 1.0,
) -> dict[str, float]:
    prefix = f"bench{tag}."
    settings = Settings(
        kafka_bootstrap=broker.bootstrap,
        topic_prefix=prefix,
        partitions=partitions_for(Settings(alerts_processes=processes)),
    )
    ensure_topics(settings)
    shift = dt.datetime.now(dt.UTC) - events[-1].ts
    producer = make_producer(settings)
    topic = settings.topic("events")
    for ev in events:
        moved = msgspec.structs.replace(ev, ts=ev.ts + shift)
        producer.send(topic, key=ev.site.encode(), value=encode_event(moved))
    producer.flush()
    producer.close()
    log = workdir / f"up-{tag}.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOORWATCH_")}
    env.update(FLOORWATCH_TOPIC_PREFIX=prefix, FLOORWATCH_ADMIN_TOKEN="bench", PYTHONUNBUFFERED="1")
    db = f"sqlite+aiosqlite:///{workdir / f'fw-{tag}.db'}"
    argv = [
        sys.executable,
        "-m",
        "floorwatch.cli",
        "up",
        "--kafka",
        broker.bootstrap,
        "--db",
        db,
        "--port",
        str(port),
        "--alerts-processes",
        str(processes),
        "--log-level",
        "WARNING",
    ]
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    started = time.perf_counter()
    try:
        ports: list[int] = []
        while not ports:
            if proc.poll() is not None or time.perf_counter() - started > 60:
                raise SystemExit(f"up did not announce itself:\n{log.read_text()[-3000:]}")
            found = re.search(r"alerts on ((?::\d+(?:, )?)+)\)", log.read_text(errors="replace"))
            ports = [int(p) for p in re.findall(r":(\d+)", found.group(1))] if found else []
            time.sleep(0.1)
        want = settings.partitions // processes
        settled_at = settled_count = None
        first_at = None
        samples: list[tuple[float, float]] = []
        cpu_then: dict[float, list[float]] = {}  # reading time -> the alerts children's CPU seconds
        total = len(events)
        deadline = time.perf_counter() + 600
        while time.perf_counter() < deadline:
            texts = [_scrape(p) for p in ports]
            now = time.perf_counter()
            count = sum(_metric(t, "floorwatch_alerts_events_total") for t in texts)
            samples.append((now, count))
            if first_at is None and count > 0:
                first_at = now
            owned = [_metric(t, "floorwatch_alerts_partitions_owned") for t in texts]
            if settled_at is None and owned == [want] * processes:
                settled_at, settled_count = now, count
                pids = _alerts_children(proc.pid)
                cpu_at_settle = _cpu_s(pids)
            lag = sum(_metric(t, "floorwatch_alerts_consumer_lag_records") for t in texts)
            if settled_at is not None:
                cpu_then[now] = _cpu_s(pids)
            if settled_at is not None and count >= total and lag == 0:
                break
            time.sleep(0.1 if count >= 0.95 * total else every)
        else:
            raise SystemExit(f"P={processes}: the backlog was not applied within 600 s")
        assert settled_at is not None and settled_count is not None and first_at is not None
        # the lag gauge is refreshed once a second: done is when the count first reached its end
        done_at = next(t for t, c in samples if c >= count)
        cpu = [b - a for a, b in zip(cpu_at_settle, cpu_then[done_at], strict=True)]
        if show:
            print([(round(t - first_at, 1), int(c)) for t, c in samples if t >= first_at - 0.2])
        return {
            "rate": (count - settled_count) / max(done_at - settled_at, 1e-9),
            "settled_after": settled_at - first_at,
            "applied_before": settled_count,
            "drain": done_at - first_at,
            "counted": count,
            "cpu": max(cpu),
            "by_cpu": (count - settled_count) / max(cpu),
            "readings": len(samples),
        }
    finally:
        interrupt(proc)
        errors = [line for line in log.read_text(errors="replace").splitlines() if '"level": "ERROR"' in line]
        for line in errors[:5]:
            print(f"    error in up's log: {line[:300]}")
        if proc.returncode != 0:
            print(f"    up exited with {proc.returncode}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    stream_arguments(ap)
    ap.add_argument(
        "--samples", action="store_true", help="print each round's (seconds, events applied) readings"
    )
    ap.add_argument("--every", type=float, default=1.0,
                    help="seconds between /metrics readings until the last 5 %% (then 0.1)")
    args = ap.parse_args()
    counts = [int(p) for p in args.processes.split(",")]
    names = site_names(
        args.sites, partitions_for(Settings(alerts_processes=max(counts))), balanced=args.names == "balanced"
    )
    events = multi_site_events(args.agents, args.queues, names, args.events, args.skip_min)
    print(
        f"{len(events):,} events, {args.sites} sites ({', '.join(names)}); cores: {os.cpu_count()}",
        flush=True,
    )
    rates: dict[int, list[float]] = {p: [] for p in counts}
    by_cpu: dict[int, list[float]] = {p: [] for p in counts}
    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker() as broker:
        for r in range(args.repeat):
            for p in counts:
                got = one_round(broker, events, p, f"{r}p{p}", Path(tmp), args.samples, args.every)
                rates[p].append(got["rate"])
                by_cpu[p].append(got["by_cpu"])
                print(
                    f"  round {r + 1}, P={p}: {got['rate']:>8,.0f} events/s once settled; settled "
                    f"{got['settled_after']:.1f} s after the first event "
                    f"({got['applied_before']:,.0f} applied by then); all applied "
                    f"{got['drain']:.1f} s after the first (counted {got['counted']:,.0f}); "
                    f"{got['by_cpu']:,.0f}/s by CPU time (busiest alerts process {got['cpu']:.1f} s); "
                    f"{got['readings']:.0f} readings of /metrics",
                    flush=True,
                )
    for p, got in rates.items():
        print(
            f"  P={p}: {min(got):,.0f} .. {max(got):,.0f} events/s "
            f"(by CPU time: {min(by_cpu[p]):,.0f} .. {max(by_cpu[p]):,.0f})"
        )
    if len(counts) > 1:
        for p in counts[1:]:
            ratio = [b / a for a, b in zip(rates[counts[0]], rates[p], strict=True)]
            print(f"  speed-up P={p} / P={counts[0]} per round: x{min(ratio):.2f} .. x{max(ratio):.2f}")
            ratio = [b / a for a, b in zip(by_cpu[counts[0]], by_cpu[p], strict=True)]
            print(f"  by CPU time (a free core per alerts process): x{min(ratio):.2f} .. x{max(ratio):.2f}")


if __name__ == "__main__":
    main()
