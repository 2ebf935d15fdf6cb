"""Real alert transitions of every default rule, firing and resolved, from the engine.

Two simulated days on the default floor with incidents that make each default rule fire and
resolve (a surge, AHT jumps, a team lunch, parked agents, a slowed project, ten minutes without
events); inhibitions are left out so that no resolution is hidden behind another alert. Used by
the language tests (issue 15): what a supervisor reads is what the engine really emits.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from floorwatch.sim import FloorSimulation, default_config, parse_incident
from services.alerts.core import Engine, RuleSet, default_rules
from tests.support.simfloor import START, sim_projects

RUNS = (
    ("aht:sales@150x1.6+60", "surge:sales@40x8+30", "lunch:changjiang@260+45", "park:cj003@100",
     "slow:kd-upgrade@60x0.5", "aht:service@400x2.5+120", "park:cj004@110", "park:cj005@115"),
    ("surge:sales@40x8+15", "aht:service@400x2.5+120", "park:cj003@100", "park:cj004@110",
     "park:cj005@115"),
)
SILENT = (300, 310)  # minutes without any event: the source goes silent


def _run(incidents: tuple[str, ...]) -> list[dict[str, Any]]:
    cfg = default_config(incidents=tuple(parse_incident(s) for s in incidents))
    rules = RuleSet(default_rules().rules, projects=sim_projects(cfg))
    cut0, cut1 = (START + dt.timedelta(minutes=m) for m in SILENT)
    events = [
        e
        for e in FloorSimulation(cfg, seed=3, start=START).events_until(START + dt.timedelta(minutes=900))
        if not cut0 <= e.ts < cut1
    ]
    eng = Engine(rules)
    out: list[dict[str, Any]] = []
    for i, ev in enumerate(events):
        out += [tr.to_wire() for tr in eng.on_event(ev)]
        if i % 25 == 24:
            out += [tr.to_wire() for tr in eng.advance(ev.ts + dt.timedelta(seconds=1))]
    return out


@functools.cache
def default_rule_alerts() -> dict[tuple[str, str, str], dict[str, Any]]:
    """One transition per (default rule, state, message key): firing ones and resolutions of
    alerts that had fired (a rule's alerts may say different things, e.g. per metric)."""
    got: dict[tuple[str, str, str], dict[str, Any]] = {}
    for incidents in RUNS:
        for w in _run(incidents):
            if w["state"] == "firing" or (w["state"] == "resolved" and w["previous"] == "firing"):
                got.setdefault((w["rule"], w["state"], w["message"]["key"]), w)
    return got
