"""Engine snapshots: what one holds, and how its alerts come back on restore.

``Engine.snapshot()`` encodes an :class:`EngineState` (msgspec JSON); ``Engine.restore(data,
rules)`` decodes it and rebuilds what is derived from it: the alerts' state machines
(:func:`machines`), the evaluation plan, the publishing and grouping indexes. The field names are
the snapshot format: a renamed field no longer restores older snapshots (``book`` holds the alert
records, ``stats`` the detector tracks, as they were first named).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import msgspec

from ..alerting.grouping import group_machine, is_group
from ..alerting.records import AlertRecords
from ..detectors.registry import Rule
from ..detectors.tracks import SiteTracks
from ..floor.recent import RecentKeys
from ..floor.reducer import Floor
from ..lifecycle import AlertState, Key, ThresholdAlert


class EngineState(msgspec.Struct):
    """Everything :meth:`Engine.snapshot` persists (rules are configuration, passed to restore)."""

    floor: Floor
    alerts: list[AlertState]
    book: AlertRecords
    dedup: RecentKeys
    grid: dict[str, int]
    duplicates: int
    lateness: float
    version: int = 1
    stats: dict[str, SiteTracks] = msgspec.field(default_factory=dict)  # detector tracks per site
    wakes: dict[str, dict[str, float]] = msgspec.field(default_factory=dict)  # site -> wake key -> time
    groups: dict[str, str] = msgspec.field(default_factory=dict)  # alerting/grouping.py: member -> team


def encode(state: EngineState) -> bytes:
    return msgspec.json.encode(state)


def decode(data: bytes) -> EngineState:
    return msgspec.json.decode(data, type=EngineState)


def machines(
    alerts: list[AlertState], rules: Mapping[str, Rule]
) -> Iterator[tuple[Key, ThresholdAlert, bool]]:
    """``(key, machine, is a group alert)`` of every restored alert whose rule is in ``rules``
    with the same scope kind, or whose rule groups it; others are dropped without a record."""
    for st in alerts:
        rule = rules.get(st.rule)
        if rule is None or (rule.scope != st.kind and not is_group(rule, st)):
            continue
        key = (st.site, st.rule, st.kind, st.name)
        if is_group(rule, st):  # as alerting/grouping.py builds it: no `for`, no hold of the agent rule
            yield key, group_machine(st), True
        else:
            yield key, rule.build(st), False
