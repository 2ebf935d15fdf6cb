"""Golden check for engine optimizations: the same event log must give the same transitions.

Records, for a few long simulated streams, every transition (``to_wire()``), a floor snapshot of
every site every ``--every`` events and the active alerts at the end, as JSON lines; ``check``
replays and compares line by line, printing the first difference. Record on the commit before a
change, check after it::

    python -m benchmarks.engine_golden record --dir /tmp/golden
    python -m benchmarks.engine_golden check --dir /tmp/golden

A change that adds a key on purpose (e.g. the transitions' ``message``, issue 15) checks with
``--ignore-key message``: that key is dropped at every depth of both sides before comparing, so
everything else must still be identical; then record again.

Streams: the default floor over two days with one of every incident, messy input (duplicates,
repeated facts under new ids), live ``advance`` calls, a snapshot/restore in the middle, the
default rules plus projects plus a wide set of threshold rules over every metric and scope kind;
and the benchmark's large floor (5,000 agents, 200 queues) as a replay.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import pathlib
import time
from collections.abc import Iterator

import msgspec

from floorwatch.sim import FloorSimulation, default_config, parse_incident
from services.alerts.core import Engine, Guard, RuleSet, ThresholdRule, default_rules
from shared.events import Event
from tests.support.simfloor import START, sim_projects

from .engine_throughput import floor_events

INCIDENTS = (
    "aht:sales@150x1.5+60",
    "surge:service@200x2.5+40",
    "lunch:changjiang@260+45",
    "park:cj003@100",
    "slow:kd-upgrade@60x0.5",
    "aht:service@900x1.6+90",
    "surge:sales@1000x3+30",
)

T = ThresholdRule
EXTRA = (
    T(name="x-waiting", metric="calls_waiting", op=">", value=1, clear=0, for_s=10),
    T(name="x-site-waiting", metric="calls_waiting", scope="site", op=">=", value=3, for_s=5),
    T(name="x-site-oldest", metric="longest_wait_s", scope="site", op=">", value=20, clear=10),
    T(name="x-oldest-sales", metric="longest_wait_s", op=">", value=8, matchers=(("queue", "sales"),)),
    T(name="x-offered", metric="offered", op=">", value=40, clear=30),
    T(name="x-answered", metric="answered", scope="site", op="<", value=20, for_s=60),
    T(name="x-abandoned", metric="abandoned", op=">", value=1),
    T(name="x-short", metric="short_abandoned", scope="site", op=">", value=0),
    T(name="x-sl", metric="service_level", op="<", value=0.95, clear=0.97, min_sample=5, for_s=20),
    T(name="x-ar", metric="abandon_rate", scope="site", op=">", value=0.02, min_sample=10),
    T(name="x-asa", metric="asa_s", op=">", value=6, clear=5, min_sample=5),
    T(name="x-aht-team", metric="aht_s", scope="team", op=">", value=330, clear=300, min_sample=5),
    T(name="x-handled", metric="handled", scope="team", op="<", value=3, for_s=30),
    T(name="x-logged", metric="logged_in", scope="team", op="<", value=5),
    T(name="x-avail", metric="agents_available", scope="site", op="<", value=3, for_s=15),
    T(name="x-nr", metric="agents_not_ready", scope="team", op=">=", value=3),
    T(name="x-talk", metric="agents_talking", op=">", value=12, clear=10),
    T(name="x-hold", metric="agents_hold", scope="site", op=">", value=2),
    T(name="x-wrap", metric="agents_wrap", scope="team", op=">", value=2, for_s=5),
    T(name="x-occ-team", metric="occupancy", scope="team", op=">", value=0.9, clear=0.85, for_s=60),
    T(name="x-occ-site", metric="occupancy", scope="site", op="<", value=0.8, min_sample=600),
    T(name="x-state", metric="state_s", scope="agent", op=">", value=900, for_s=30),
    T(name="x-wrap-s", metric="wrap_s", scope="agent", op=">", value=60),
    T(name="x-hold-s", metric="hold_s", scope="agent", op=">", value=45, clear=40),
    T(name="x-talk-s", metric="talking_s", scope="agent", op=">", value=600, for_s=10),
    T(name="x-nr-s", metric="not_ready_s", scope="agent", op=">", value=1000, matchers=(("agent", "cj003"),)),
    T(
        name="x-guarded",
        metric="agents_available",
        op="<=",
        value=1,
        for_s=5,
        when=(Guard("calls_waiting", ">", 0), Guard("longest_wait_s", ">", 5)),
    ),
)




def messy(events: list[Event]) -> Iterator[Event]:
    """Every 97th event re-delivered (same id) a bit later; every 89th repeated under a new id."""
    held: list[tuple[int, Event]] = []
    for i, ev in enumerate(events):
        yield ev
        if i % 97 == 0:
            held.append((i + 7, ev))
        if i % 89 == 0:
            yield msgspec.structs.replace(ev, id=ev.id + "-again")
        while held and held[0][0] <= i:
            yield held.pop(0)[1]


def lines_day() -> Iterator[bytes]:
    cfg = default_config(incidents=tuple(parse_incident(s) for s in INCIDENTS))
    base = default_rules()
    rules = RuleSet(base.rules + EXTRA, projects=sim_projects(cfg), inhibit=base.inhibit)
    events = FloorSimulation(cfg, seed=3, start=START).events_until(START + dt.timedelta(minutes=1440))
    eng = Engine(rules)
    yield from _drive(eng, rules, list(messy(events)), live=True, restore_at=len(events) // 2)


def lines_big(count: int) -> Iterator[bytes]:
    base = default_rules()
    rules = RuleSet(base.rules + EXTRA[:21], inhibit=base.inhibit)  # no per-agent thresholds: 5,000 agents
    events = floor_events(5000, 200, count, 120.0)
    yield from _drive(Engine(rules), rules, events, live=False, restore_at=None)


def _drive(
    eng: Engine, rules: RuleSet, events: list[Event], *, live: bool, restore_at: int | None
) -> Iterator[bytes]:
    enc = msgspec.json.Encoder()
    for i, ev in enumerate(events):
        if i == restore_at:
            eng = Engine.restore(eng.snapshot(), rules)
        for tr in eng.on_event(ev):
            yield enc.encode(tr.to_wire())
        if live and i % 25 == 24:
            for tr in eng.advance(ev.ts + dt.timedelta(seconds=1)):
                yield enc.encode(tr.to_wire())
        if i % 5000 == 4999:
            for site in sorted(eng.sites()):
                yield enc.encode({"floor": eng.floor_snapshot(site)})
    yield enc.encode({"active": eng.active_alerts()})


SCENARIOS = {"day": lines_day, "big": lambda: lines_big(100_000)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("mode", choices=("record", "check"))
    ap.add_argument("--dir", default="/tmp/golden")
    ap.add_argument("--only", choices=tuple(SCENARIOS), action="append")
    ap.add_argument("--ignore-key", action="append", default=[], help="drop this key at every depth (check)")
    args = ap.parse_args()
    root = pathlib.Path(args.dir)
    root.mkdir(parents=True, exist_ok=True)
    bad = 0
    for name in args.only or SCENARIOS:
        t0 = time.perf_counter()
        path = root / f"{name}.jsonl"
        got = list(SCENARIOS[name]())
        digest = hashlib.sha256(b"\n".join(got)).hexdigest()[:16]
        n_tr = sum(1 for line in got if line.startswith(b'{"id"'))
        took = time.perf_counter() - t0
        if args.mode == "record":
            path.write_bytes(b"\n".join(got))
            print(f"{name}: recorded {len(got)} lines ({n_tr} transitions), sha {digest}, {took:.1f} s")
            continue
        want = path.read_bytes().split(b"\n")
        if args.ignore_key:
            got, want = _without(got, set(args.ignore_key)), _without(want, set(args.ignore_key))
        if got == want:
            print(f"{name}: OK, {len(got)} lines ({n_tr} transitions) identical, sha {digest}, {took:.1f} s")
            continue
        bad += 1
        first = next(
            (i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), min(len(got), len(want))
        )
        print(f"{name}: DIFFERENT ({len(got)} lines vs {len(want)} recorded); first at line {first}:")
        print("  got: ", got[first][:600] if first < len(got) else "<end>")
        print("  want:", want[first][:600] if first < len(want) else "<end>")
    raise SystemExit(1 if bad else 0)


def _without(lines: list[bytes], keys: set[str]) -> list[bytes]:
    """``lines`` (JSON) with ``keys`` dropped at every depth, re-encoded the same way for both sides."""
    enc = msgspec.json.Encoder()

    def drop(x: object) -> object:
        if isinstance(x, dict):
            return {k: drop(v) for k, v in x.items() if k not in keys}
        if isinstance(x, list):
            return [drop(v) for v in x]
        return x

    return [enc.encode(drop(msgspec.json.decode(line))) if line else line for line in lines]


if __name__ == "__main__":
    main()
