"""``floorwatch rules backtest``: which alerts a rule set would have raised over past events.

The replay runs the same engine as production on event time only (no wall clock), so the
result is exactly what a live run of those events would have published (the engine's
determinism contract). The CLI reads the events with ingest's adapters, so any recorded format
works.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from services.alerts.core import Engine
from services.alerts.core.rules.ruleset import RuleSet
from shared.events import Event


@dataclass
class BacktestResult:
    transitions: list[dict[str, Any]] = field(default_factory=list)
    events: int = 0
    unreadable: int = 0
    duplicates: int = 0

    def counts(self) -> dict[tuple[str, str], int]:
        return dict(collections.Counter((t["rule"], t["state"]) for t in self.transitions))


def backtest(events: Iterable[Event], rules: RuleSet) -> BacktestResult:
    engine = Engine(rules)
    result = BacktestResult()
    for ev in sorted(events, key=lambda e: e.ts):
        result.events += 1
        result.transitions.extend(t.to_wire() for t in engine.on_event(ev))
    result.duplicates = engine.duplicates
    return result
