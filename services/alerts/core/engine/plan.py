"""The evaluation plan of a rule set: which rules the engine evaluates on what, derived once.

Threshold rules by what their metrics depend on (``floor/metrics.py`` timings): ``per_minute``
(window and continuous metrics: every minute boundary), ``rising`` (waits, time in state: every
grid second while something waits or an agent is logged in), ``continuous`` (occupancy: every
grid second while agents are logged in); ``inputs`` holds the touch bits of those that read only
event and window metrics, so that a scope without an alert is skipped until an input changes.
Detector kinds by their class variables: ``detectors_per_minute`` (grid points that are
multiples of ``period_s``), ``observers`` (every applied event). ``touched(kind, mask)`` lists,
once per combination, the rules a touch of that scope kind and mask may concern.
"""

from __future__ import annotations

from collections.abc import Callable

from ..detectors.base import Detector
from ..detectors.registry import Rule
from ..detectors.threshold import OPS, ThresholdRule
from ..floor.metrics import Reader, inputs
from ..rules.ruleset import RuleSet

# rule, inputs changed, skippable when unchanged (detectors: has an idle test), threshold rules:
# metric reader, op, entry threshold
TouchEntry = tuple[Rule, bool, bool, Reader | None, Callable[[float, float], bool], float]


class Plan:
    """See the module docstring; built by the engine for every rule set it runs."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules: dict[str, Rule] = {r.name: r for r in rules.rules}
        self.projects = {p.name: p for p in rules.projects}
        plain = [r for r in rules.rules if isinstance(r, ThresholdRule)]
        kinds = [r for r in rules.rules if isinstance(r, Detector)]
        self.by_scope: dict[str, list[Rule]] = {}
        for r in rules.rules:
            self.by_scope.setdefault(r.scope, []).append(r)
        self.per_minute = [r for r in plain if r.timings & {"window", "continuous"}]
        self.rising = [r for r in plain if "rising" in r.timings]
        self.rising_calls = any(r.scope != "agent" for r in self.rising)
        self.rising_agents = any(r.scope == "agent" for r in self.rising)
        self.continuous = [r for r in plain if "continuous" in r.timings]
        self.detectors_per_minute = [r for r in kinds if r.per_minute]
        self.observers = [r for r in kinds if r.observes]
        # (kind, touch mask) -> [(rule, whether what it reads changed)] for the rules of that family
        self.touch_rules: dict[tuple[str, int], list[TouchEntry]] = {}
        # threshold rules that read only event/window metrics: the touch bits of their inputs
        self.inputs: dict[str, int] = {}
        for r in plain:
            mask = inputs([r.metric, *(g.metric for g in r.when)])
            if mask is not None:
                self.inputs[r.name] = mask

    def touched(self, kind: str, mask: int) -> list[TouchEntry]:
        """The rules of scope ``kind`` that a touch with bits ``mask`` may concern (cached)."""
        rules = self.touch_rules.get((kind, mask))
        if rules is None:
            rules = self.touch_rules[kind, mask] = [
                self._entry(r, kind, mask) for r in self.by_scope.get(kind, ()) if r.family & mask
            ]
        return rules

    def _entry(self, r: Rule, kind: str, mask: int) -> TouchEntry:
        if not isinstance(r, ThresholdRule):  # detectors: skippable = has an idle test
            return r, True, type(r).idle is not Detector.idle, None, OPS[">"], 0.0
        inputs = self.inputs.get(r.name)
        return (
            r,
            inputs is None or bool(inputs & mask),
            inputs is not None,
            r.readers[kind][0],
            OPS[r.op],
            r.value,
        )
