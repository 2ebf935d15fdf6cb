"""Operator actions on active alerts; each returns the state-unchanged records it caused.

* ``acknowledge``: the alert's record, then, for a group alert, one per member grouped into it
  and not acknowledged yet (``grouping.py``: a member joining later is not acknowledged).
* ``covered_by``: one record per active alert a silence covers, directly or through the group
  alert it is grouped into (``silences.py``), after the silence was added or removed.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..detectors.registry import Rule
from ..lifecycle import Key, ThresholdAlert
from .grouping import Grouper
from .records import AlertRecords
from .silences import Silence
from .transition import Transition


def acknowledge(
    book: AlertRecords,
    rules: Mapping[str, Rule],
    alerts: Mapping[Key, ThresholdAlert],
    groups: Grouper,
    key: Key,
    *,
    by: str,
    at: float,
    note: str,
    tz: int,
) -> list[Transition]:
    st = alerts[key].st
    out = [book.ack(rules[st.rule], st, by=by, at=at, note=note, tz=tz)]
    for member in groups.members_of(st.fingerprint, alerts):
        if member.ack is None:
            out.append(book.ack(rules[member.rule], member, by=by, at=at, note=note, tz=tz))
    return out


def covered_by(
    book: AlertRecords,
    rules: Mapping[str, Rule],
    alerts: Mapping[Key, ThresholdAlert],
    sil: Silence,
    at: float,
    tz: Mapping[str, int],
) -> list[Transition]:
    out = []
    for m in alerts.values():
        st = m.st
        tr = book.touched_by(sil, rules[st.rule], st, at, tz[st.site])
        if tr is not None:
            out.append(tr)
    return out
