"""Cost of a site's clock jump in the floor engine, before and after the horizon (issue 9).

A floor of ``--agents`` agents on ``--queues`` queues (the simulator, past the morning ramp, with
the default rules: agents logged in and calls waiting, so every second is a grid point), then one
event of the same site dated ``jump`` later. Measured in process, per jump size:

* **before**: the engine without a horizon (``horizon_s`` larger than any jump): the grid steps
  through the whole gap, as every engine did before the horizon;
* **after**: the engine as shipped (``horizon_s`` = ``--horizon``, default 3600): a jump beyond the
  horizon lands on the last whole minute before the target and steps the rest.

Grid points evaluated are counted exactly (a subclass counts ``_grid_point`` calls) and wall time
measured (best of ``--repeat``), both engines restored from the same snapshot. A "before" jump
longer than ``--max-before-s`` is not run: its points are bounded below by one per minute of the
gap (the coarsest the grid ever steps) and its time estimated as that many points at the cost per
point of the longest measured "before" run (marked ``est``, a lower bound).

    python -m benchmarks.clock_jumps [--agents 500 --queues 20 --horizon 3600]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import time
from typing import Any

import msgspec

from services.alerts.core import Engine, default_rules
from shared.events import AgentLogin, Event

from .engine_throughput import floor_events

JUMPS = (
    ("10 min", dt.timedelta(minutes=10)),
    ("1 h", dt.timedelta(hours=1)),
    ("6 h", dt.timedelta(hours=6)),
    ("1 day", dt.timedelta(days=1)),
    ("to 2099", None),
)
NO_HORIZON = 10**12


class Counting(Engine):
    points = 0

    def _grid_point(self, site: str, g: int, out: list[Any]) -> None:
        self.points += 1
        super()._grid_point(site, g, out)


def jump_event(last: Event, delta: dt.timedelta | None) -> Event:
    when = dt.datetime(2099, 1, 1, tzinfo=dt.UTC) if delta is None else last.ts + delta
    return AgentLogin(v=1, id="jump", source="bench-jump", ts=when, site=last.site, agent="jumper")


def run(snapshot: bytes, horizon: int, ev: Event) -> tuple[int, float, int]:
    eng = Counting.restore(snapshot, default_rules(), horizon_s=horizon)
    assert isinstance(eng, Counting)
    gc.collect()
    t0 = time.perf_counter()
    eng.on_event(ev)
    return eng.points, time.perf_counter() - t0, eng.jumps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--agents", type=int, default=500)
    ap.add_argument("--queues", type=int, default=20)
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--horizon", type=int, default=3600)
    ap.add_argument("--max-before-s", type=float, default=2 * 86400, help="run 'before' for gaps up to this")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    events = floor_events(args.agents, args.queues, args.events, 120.0)
    eng = Engine(default_rules())
    for ev in events:
        eng.on_event(ev)
    snapshot = eng.snapshot()
    s = eng.floor.sites[events[-1].site]
    print(
        f"floor: {args.agents} agents, {args.queues} queues, {len(events):,} events applied; "
        f"{s.total.logged_in} logged in, {len(s.waiting_in)} queues with calls waiting; "
        f"horizon {args.horizon} s"
    )
    per_point = None
    head = f"{'before: points':>15} {'time':>15} | {'after: points':>14} {'time':>9} {'landed':>6}"
    print(f"{'jump':>8} | {head}")
    for name, delta in JUMPS:
        ev = jump_event(events[-1], delta)
        gap = ev.ts.timestamp() - msgspec.json.decode(snapshot)["grid"][ev.site]
        after = [run(snapshot, args.horizon, ev) for _ in range(args.repeat)]
        a_points, landed, a_took = after[0][0], after[0][2], min(r[1] for r in after)
        if gap <= args.max_before_s:
            runs = [run(snapshot, NO_HORIZON, ev) for _ in range(args.repeat)]
            b_points, b_took = runs[0][0], min(r[1] for r in runs)
            per_point = b_took / b_points
            before = f"{b_points:>15,} {b_took:9.3f} s    "
        else:
            assert per_point is not None
            b_points = int(gap // 60)
            est = b_points * per_point
            shown = f"{est / 3600:9.1f} h est" if est < 86400 * 3 else f"{est / 86400:9.1f} d est"
            before = f">= {b_points:>12,} >= {shown}"
        print(f"{name:>8} | {before} | {a_points:>14,} {a_took:7.3f} s {landed:>6}")


if __name__ == "__main__":
    main()
