"""Alert episodes per rule over a calm simulated day: how much the default rules flap.

A full open day (720 min, 08:00-20:00 Beijing) of the default simulated floor with no incidents
is fed straight into the engine (replay: event time only) with the default rules — or the rules
of ``--rules FILE`` — and the simulator's project plans, as ``tests/unit/alerts/
test_sim_warnings.py`` does. Per rule it prints the episodes that fired (``… -> firing``), the
episodes published at all (pending or firing, i.e. what reached a screen), and the firing time.
Published records only: an inhibited alert's episodes are not counted (``--no-inhibit`` drops the
inhibit rules, to see each rule on its own).

Run: ``python -m benchmarks.calm_day [--seeds 1,2,3] [--minutes 720] [--rules FILE] [--no-inhibit]``.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
from pathlib import Path

from floorwatch.sim import FloorSimulation, default_config
from services.alerts.core import Engine, RuleSet, Transition, default_rules
from services.alerts.core.rules.reader import load_rules
from tests.support.simfloor import START, sim_projects


def run_day(base: RuleSet, seed: int, minutes: float) -> list[Transition]:
    cfg = default_config()
    eng = Engine(RuleSet(base.rules, projects=sim_projects(cfg), inhibit=base.inhibit))
    end = START + dt.timedelta(minutes=minutes)
    out: list[Transition] = []
    for ev in FloorSimulation(cfg, seed=seed, start=START).events_until(end):
        out += eng.on_event(ev)
    out += eng.advance(end)
    return out


def tally(out: list[Transition]) -> dict[str, tuple[int, int, float]]:
    """rule -> (episodes fired, episodes published, minutes firing)."""
    fired: collections.Counter[str] = collections.Counter()
    shown: collections.Counter[str] = collections.Counter()
    firing_s: dict[str, float] = collections.defaultdict(float)
    since: dict[str, float] = {}
    for t in out:
        if t.previous == "inactive" and t.state in ("pending", "firing"):
            shown[t.rule] += 1
        if t.state == "firing" and t.previous != "firing":
            fired[t.rule] += 1
            since[t.fingerprint] = t.event_time
        elif t.state == "resolved" and t.fingerprint in since:
            firing_s[t.rule] += t.event_time - since.pop(t.fingerprint)
    return {r: (fired[r], shown[r], firing_s.get(r, 0.0) / 60) for r in sorted(set(fired) | set(shown))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--minutes", type=float, default=720)
    p.add_argument("--rules", type=Path, help="a rules file (default: the built-in rules)")
    p.add_argument("--no-inhibit", action="store_true", help="without the inhibit rules")
    args = p.parse_args()
    base = load_rules(args.rules.read_text(), name=str(args.rules)) if args.rules else default_rules()
    if args.no_inhibit:
        base = RuleSet(base.rules, projects=base.projects, source=base.source)
    seeds = [int(s) for s in args.seeds.split(",")]
    results = {seed: tally(run_day(base, seed, args.minutes)) for seed in seeds}
    rules = sorted({r for res in results.values() for r in res})
    head = "".join(f"  seed {s:<14}" for s in seeds)
    print(f"{'rule':<24}{head}\n{'':<24}" + "  fired/shown/min  " * len(seeds))
    for rule in rules:
        cells = "".join("  {:>4} {:>4} {:>7.1f}   ".format(*results[s].get(rule, (0, 0, 0.0))) for s in seeds)
        print(f"{rule:<24}{cells}")


if __name__ == "__main__":
    main()
