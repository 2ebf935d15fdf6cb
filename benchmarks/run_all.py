"""``make bench``: the benchmarks that matter, each with short settings, and one table of figures.

    .venv/bin/python -m benchmarks.run_all [--only NAME ...] [--out DIR] [--list]

Each benchmark runs as its own process (``python -m benchmarks.<name> <short args>``), as it
would by hand, so none shares a heap, a GIL or a broker with another. Its own output is kept
(``--out``, default a temporary directory) and the figures that matter are picked out of it
into one table. The short settings make the whole run a few minutes on 2 shared cores: the
figures are a smoke reading, not the ones in ``docs/benchmarks.md`` (those come from the full
settings each module documents). Exit status 1 when a benchmark failed or a figure is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Figures = list[tuple[str, str]]


def grab(*patterns: tuple[str, str]) -> Callable[[str], Figures]:
    """Figures by regex over the output: (label, pattern with one group)."""

    def pick(text: str) -> Figures:
        out: Figures = []
        for label, pattern in patterns:
            found = re.search(pattern, text, re.MULTILINE)
            out.append((label, found.group(1).strip() if found else "MISSING"))
        return out

    return pick


def fanout_figures(text: str) -> Figures:
    """ws_fanout prints one JSON summary per client count: its latency percentiles."""
    out: Figures = []
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        doc = json.loads(line)
        clients = doc.get("clients", "?")
        for key, value in doc.items():
            if isinstance(value, dict) and "p99_ms" in value:
                out.append((f"{clients} clients, {key} p50 / p99",
                            f"{value.get('p50_ms')} / {value['p99_ms']} ms"))
    return out or [("latency", "MISSING")]


@dataclass(frozen=True)
class Bench:
    name: str
    args: tuple[str, ...]
    figures: Callable[[str], Figures]
    why: str


BENCHES: tuple[Bench, ...] = (
    Bench("engine_throughput", ("--agents", "500", "--queues", "20", "--events", "10000"), grab(
        ("Floor.apply (baseline)", r"Floor\.apply alone \(baseline\)\s+([\d,]+ events/s)"),
        ("Engine, all default rules", r"Engine, all default rules\s+([\d,]+ events/s)"),
        ("  against the baseline", r"Engine, all default rules .*?\(.*?(x[\d.]+?)\.\."),
        ("decode_event alone", r"decode_event alone \(bytes\)\s+([\d,]+ events/s)"),
        ("engine memory held", r"engine memory \(tracemalloc\): ([\d.]+ MiB) held"),
    ), "the floor engine, on one core"),
    Bench("alerts_drain", ("--events", "20000", "--log-levels", "INFO"), grab(
        ("floorwatch alerts (INFO)", r"floorwatch alerts, INFO\s+([\d,]+ events/s)"),
        ("  against the engine", r"floorwatch alerts, INFO .*?\((x[\d.]+) of the engine"),
    ), "the alerts service draining a backlog, against the engine in process"),
    Bench("ingest_throughput", ("--events", "5000"), grab(
        ("pass-through (baseline)", r"baseline pass-through: ([\d,]+ records/s)"),
        ("ingest", r"^ingest \(.*?\): ([\d,]+ records/s)"),
        ("  ratio ingest / baseline", r"ratio ingest/baseline: ([\d.]+)"),
    ), "ingest against a bare kafka-python pass-through"),
    Bench("alert_latency", ("--rate", "300", "--seconds", "10"), grab(
        ("event -> WebSocket alert", r"latency: (p50 \d+ ms, p95 \d+ ms, p99 \d+ ms)"),
        ("probes", r"probes: (\d+ alerts received, \d+ missing)"),
    ), "event produced -> alert on a WebSocket, through floorwatch up"),
    Bench("ws_fanout", ("--clients", "500", "--procs", "1", "--burst", "20"), fanout_figures,
          "one alert and a burst to N WebSocket clients"),
    Bench("metrics_scrape", ("--agents", "500", "--queues", "20", "--minutes", "30", "--runs", "3"), grab(
        ("series (default)", r"default \(no per-agent series\): ([\d,]+ series)"),
        ("collect + encode", r"default \(no per-agent series\).*?collect \+ encode ([\d.]+ ms) median"),
        ("  against the baseline", r"default \(no per-agent series\).*?= x([\d.]+) the baseline"),
        ("export per event", r"FloorExport\.event_applied: ([\d.]+ us/event)"),
    ), "the floor's Prometheus metrics"),
    Bench("snapshot_save", ("--agents", "1000", "--queues", "40", "--events", "40000", "--rounds", "3"), grab(
        ("encoding alone", r"encoding alone\s+median\s+(\d+ ms)"),
        ("consumer thread, write waited", r"write waited for\s+median\s+(\d+ ms)"),
        ("consumer thread, write on loop", r"write on the loop\s+median\s+(\d+ ms)"),
        ("  ... encoded in a forked child", r"encoded in a forked child\s+median\s+(\d+ ms)"),
    ), "how long a periodic engine snapshot holds up the alerts consumer"),
    Bench("clock_jumps", ("--agents", "100", "--queues", "5", "--events", "2000", "--repeat", "1",
                          "--max-before-s", "3600"), grab(
        ("jump 1 day, grid points after", r"1 day \|.*?\|\s+([\d,]+)\s+[\d.]+ s"),
        ("jump to 2099, time after", r"to 2099 \|.*?\|\s+[\d,]+\s+([\d.]+ s)"),
    ), "cost of a site's clock jump in the engine"),
)


def run(bench: Bench, out: Path) -> tuple[int, float, str]:
    log = out / f"{bench.name}.txt"
    start = time.monotonic()
    with open(log, "wb") as fh:
        code = subprocess.run([sys.executable, "-m", f"benchmarks.{bench.name}", *bench.args],
                              stdout=fh, stderr=subprocess.STDOUT, check=False).returncode
    return code, time.monotonic() - start, log.read_text(errors="replace")


def table(rows: list[tuple[str, str, str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", choices=[b.name for b in BENCHES], help="run only these")
    ap.add_argument("--out", type=Path, help="keep each benchmark's output here (default: a temp dir)")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and their short settings")
    args = ap.parse_args(argv)
    chosen = [b for b in BENCHES if not args.only or b.name in args.only]
    if args.list:
        for b in chosen:
            print(f"{b.name:18s} {' '.join(b.args):60s} {b.why}")
        return 0
    out = args.out or Path(tempfile.mkdtemp(prefix="floorwatch-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    with open("/proc/loadavg") as fh:
        load = "/".join(fh.read().split()[:3])
    print(f"{len(chosen)} benchmarks, short settings; {os.cpu_count()} cores, load {load}; output in {out}",
          flush=True)
    rows: list[tuple[str, str, str]] = [("benchmark", "figure", "value")]
    failed = False
    for bench in chosen:
        print(f"  {bench.name} {' '.join(bench.args)} …", flush=True)
        code, seconds, text = run(bench, out)
        figures = bench.figures(text) if code == 0 else [("exit status", f"{code} (see {bench.name}.txt)")]
        failed |= code != 0 or any(v == "MISSING" for _, v in figures)
        for i, (label, value) in enumerate(figures):
            rows.append((f"{bench.name} ({seconds:.0f} s)" if i == 0 else "", label, value))
    print()
    print(table(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
