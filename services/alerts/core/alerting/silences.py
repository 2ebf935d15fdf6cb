"""Silences, as Alertmanager's: equality matchers over an alert's labels and an end time.

Alerts keep being evaluated and published, with ``silenced_until`` set, so receivers decide what
to mute. A silence covering a group alert covers the alerts grouped into it while they are
(``grouping.py``): an alert is matched with its own labels and with its group alert's. The
silences themselves are kept, and persisted, by the alert records (``records.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import msgspec

from ..detectors.registry import Rule
from ..lifecycle import AlertState
from .labels import alert_labels


class Silence(msgspec.Struct, frozen=True):
    id: str
    matchers: dict[str, str]
    until: float
    created_at: float
    by: str = ""
    comment: str = ""

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.matchers.items())


def content_id(matchers: Mapping[str, str], until: float, at: float, by: str, comment: str, salt: int) -> str:
    """The id of a silence nobody named: a hash of its content (``salt`` tells equal ones apart)."""
    text = repr((sorted(matchers.items()), until, at, by, comment, salt))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def silenced_until(silences: Sequence[Silence], labels: Mapping[str, str], at: float) -> float | None:
    """When the last silence matching ``labels`` at ``at`` ends (None: not silenced)."""
    ends = [s.until for s in silences if s.until > at and s.matches(labels)]
    return max(ends, default=None)


def label_sets(rule: Rule, st: AlertState, groups: Mapping[str, dict[str, str]]) -> list[dict[str, str]]:
    """The labels silences are matched against: the alert's, and those of the group alert it is
    grouped into (``groups``: firing group alert fingerprint -> its scope)."""
    own = alert_labels(rule, st)
    scope = groups.get(st.grouped_into) if st.grouped_into is not None else None
    if scope is None:
        return [own]
    group = {k: v for k, v in own.items() if k not in st.scope() and k != "escalated"}
    group["severity"] = rule.severity
    return [own, {**group, **scope}]
