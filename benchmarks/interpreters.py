"""The same engine under different CPython builds: which interpreter the venv should be made from.

``engine_throughput``'s floor (one site, 5,000 agents, 200 queues; ``--events`` events from two
hours into the day) is generated once and handed to one child process per ``--python``, in turn,
``--pairs`` times (the order alternates, so a slow spell of the machine falls on both). Each child
imports this checkout and the packages of the venv running this script (``PYTHONPATH``: such an
interpreter must be a CPython of the same minor version, so the binary wheels load) or, when the
interpreter given is a venv's (another minor version, say), that venv's own packages; it freezes
and disables the garbage collector, and times ``Floor.apply`` alone and ``Engine.on_event`` with
all default rules, two rounds each, by its own CPU time (``time.process_time``): what another
process on the other core takes from it shows less than on the wall clock. Figures: events per
CPU second (best of the child's rounds), and per pair the ratio to the first ``--python``.

Run: ``python -m benchmarks.interpreters --python ~/.pyenv/versions/3.11.7/bin/python3.11
--python /usr/bin/python3.11`` (docs/benchmarks.md, *Which CPython*); another minor version from a
venv of its own: ``python3.13 -m venv /tmp/v313 && /tmp/v313/bin/pip install -e .``, then
``--python .venv/bin/python --python /tmp/v313/bin/python``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def worker(events_file: str) -> None:
    """In the child: time the two paths over the pickled events; print one JSON line."""
    from services.alerts.core import Engine, FloorConfig, default_rules
    from services.alerts.core.floor.reducer import Floor

    with open(events_file, "rb") as f:
        events = pickle.load(f)
    gc.collect()
    gc.freeze()
    gc.disable()
    best = {"apply": 0.0, "engine": 0.0}
    for _ in range(2):
        for path, feed in (("apply", Floor(config=FloorConfig()).apply),
                           ("engine", Engine(default_rules()).on_event)):
            t0 = time.process_time()
            for ev in events:
                feed(ev)
            best[path] = max(best[path], len(events) / (time.process_time() - t0))
    print(json.dumps({"version": platform.python_version(), **best}))


def in_a_venv(python: str) -> bool:
    """Whether ``python`` is a virtual environment's interpreter (it then has packages of its own)."""
    out = subprocess.run([python, "-c", "import sys; print(sys.prefix != sys.base_prefix)"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip() == "True"


def run_child(python: str, events_file: str) -> dict[str, float]:
    paths = [str(ROOT)]
    if not in_a_venv(python):
        paths.append(sysconfig.get_paths()["purelib"])  # this venv's packages, for an interpreter outside it
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    out = subprocess.run(
        [python, "-m", "benchmarks.interpreters", "--worker", events_file],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{python} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--python", action="append", default=[], help="an interpreter (give two or more)")
    ap.add_argument("--pairs", type=int, default=8, help="rounds over every interpreter")
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker)
        return
    pythons = args.python or [sys.executable]
    from benchmarks.engine_throughput import floor_events

    with tempfile.TemporaryDirectory() as tmp:
        events_file = str(Path(tmp) / "events.pickle")
        with open(events_file, "wb") as f:
            pickle.dump(floor_events(5000, 200, args.events, 120.0), f)
        print(f"{args.events:,} events, one site of 5,000 agents; load average {os.getloadavg()[0]:.2f}; "
              f"{os.cpu_count()} cores")
        got: dict[str, list[dict[str, float]]] = {p: [] for p in pythons}
        for i in range(args.pairs):
            order = pythons if i % 2 == 0 else pythons[::-1]
            for p in order:
                got[p].append(run_child(p, events_file))
            print(f"  pair {i + 1}: " + "  ".join(
                f"{p} apply {got[p][-1]['apply']:,.0f} engine {got[p][-1]['engine']:,.0f}" for p in pythons
            ), flush=True)
    first = got[pythons[0]]
    for p in pythons:
        rows = got[p]
        line = (f"{p} (Python {rows[0]['version']}): Floor.apply {min(r['apply'] for r in rows):,.0f} .. "
                f"{max(r['apply'] for r in rows):,.0f}, engine {min(r['engine'] for r in rows):,.0f} .. "
                f"{max(r['engine'] for r in rows):,.0f} events per CPU second")
        if p != pythons[0]:
            ratios = {k: sorted(r[k] / b[k] for r, b in zip(rows, first, strict=True))
                      for k in ("apply", "engine")}
            line += "; per pair against the first: " + ", ".join(
                f"{k} x{v[0]:.2f}..{v[-1]:.2f} (median x{statistics.median(v):.2f})"
                for k, v in ratios.items()
            )
        print(line)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
