"""The common shape of the detector kinds (every rule kind beyond ``threshold``): :class:`Detector`.

A detector is configuration (a frozen dataclass validated on construction, raising
``ValueError`` listing every problem) that the engine drives in this order, per site:

1. ``observe(ctx, ev, t, handled, touches)`` for every applied event, *after* the floor applied it
   (only for kinds with ``observes``): update the rule's own track in ``ctx.tracks`` and add
   ``touches`` bits for the scopes whose assessment may have changed.
2. ``assess(ctx, name, now, firing)`` whenever a scope may have changed: on touches matching
   ``family``, on every minute boundary (multiple of ``period_s``) for ``per_minute`` kinds (over
   ``names(ctx)``), and at the wake-up time ``wake(ctx, name, now)`` returned after each
   assessment (``wakes`` kinds): the event time at which the condition may start or stop holding
   with no new event.
3. ``explain(ctx, name, now, a, state)`` only when a transition is published: summary + details.

Everything a kind keeps between calls lives in its track (a :class:`DetectorTrack` of the type
the kind names in ``track``, in ``ctx.tracks[rule name]``), so ``Engine.snapshot`` persists it.
``ctx.cache`` holds derived values for one evaluation instant only (e.g. a team's medians), never
persisted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import msgspec

from shared.events import Event

from ..floor.projects import Project
from ..floor.state import HandledCall, SiteFloor
from ..floor.touches import Touches
from ..lifecycle import AlertState, ThresholdAlert
from .options import Duration, Grouping, basic_problems


class Assessment(NamedTuple):
    """The condition (for the alert's current state), the value and the threshold it met."""

    cond: bool
    value: float | None
    threshold: float | None


NOTHING = Assessment(False, None, None)


class Explanation(NamedTuple):
    """What a transition shows: the English ``summary``, the ``details`` and the ``message``
    (``{key, params}``) each screen renders in its reader's language (shared/i18n)."""

    summary: str
    details: dict[str, Any]
    message: dict[str, Any] | None = None


def message(key: str, **params: Any) -> dict[str, Any]:
    """A transition's ``message``: a catalogue key (shared/i18n/locales) and the facts it names."""
    return {"key": key, "params": params}


class DetectorTrack(msgspec.Struct):
    """Base of the detectors' per-site state; each kind's track is a subclass with its own tag
    (``tracks.py`` persists the tagged union of them all)."""


@dataclass(slots=True)
class Ctx:
    """What a detector may read of one site: the floor, the tracks, the projects, a cache."""

    floor: SiteFloor
    tracks: dict[str, DetectorTrack]  # rule name -> its track (``tracks.SiteTracks.tracks``)
    projects: Mapping[str, Project]
    cache: dict[Any, Any] = field(default_factory=dict)
    cache_at: float = math.nan
    members: dict[str | None, list[str]] = field(default_factory=dict)
    members_at: int = -1  # ``floor.roster`` when ``members`` was built

    def team_members(self) -> dict[str | None, list[str]]:
        """Team -> its agents on the floor, in the floor's order (rebuilt when the roster changed)."""
        if self.members_at != self.floor.roster:
            members: dict[str | None, list[str]] = {}
            for name, a in self.floor.agents.items():
                members.setdefault(a.team, []).append(name)
            self.members, self.members_at = members, self.floor.roster
        return self.members

    def cached_at(self, now: float) -> dict[Any, Any]:
        """The cache for evaluation instant ``now`` (emptied when the instant changes)."""
        if now != self.cache_at:
            self.cache.clear()
            self.cache_at = now
        return self.cache


@dataclass(frozen=True, slots=True, kw_only=True)
class Detector:
    """Base of the detector kinds; subclasses set the class variables and the methods below.
    ``registry.py`` lists every kind; the rules file, the wire form and snapshots derive from it."""

    kind: ClassVar[str] = ""  # the rules file's ``kind:``
    about: ClassVar[str] = ""  # what it watches, in a few words (the rule set's wire form)
    track: ClassVar[type[DetectorTrack] | None] = None  # its per-site state, if it keeps any
    scope_kinds: ClassVar[tuple[str, ...]] = ()
    family: ClassVar[int] = 0
    per_minute: ClassVar[bool] = False
    period_s: ClassVar[int] = 60  # per_minute kinds: evaluated at grid points that are multiples of this
    wakes: ClassVar[bool] = False
    observes: ClassVar[bool] = False

    name: str
    scope: str = ""
    severity: str = "warning"
    for_s: Duration = 0.0
    keep_firing_for: Duration = 0.0  # resolve hold (lifecycle.py)
    matchers: tuple[tuple[str, str], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    escalate_after: Duration | None = None  # alerting/escalation.py
    group: Grouping | None = None  # many agents' alerts -> one team alert (alerting/grouping.py)

    def __post_init__(self) -> None:
        if not self.scope:
            object.__setattr__(self, "scope", self.scope_kinds[0])
        problems = self.problems()
        if problems:
            raise ValueError(f"rule {self.name!r}: " + "; ".join(msg for _, msg in problems))

    def problems(self) -> list[tuple[str, str]]:
        """Every problem as ``(yaml key, message)``; empty when the rule is valid."""
        out = basic_problems(self.name, self.severity, self.scope, self.matchers)
        if self.scope not in self.scope_kinds:
            out.append(
                ("scope", f"kind {self.kind} works per {', '.join(self.scope_kinds)}, not {self.scope!r}")
            )
        if not (math.isfinite(self.for_s) and self.for_s >= 0):
            out.append(("for", "for must be a finite number >= 0"))
        if not (math.isfinite(self.keep_firing_for) and self.keep_firing_for >= 0):
            out.append(("keep_firing_for", "keep_firing_for must be a finite number >= 0"))
        if self.group is not None:
            out += self.group.problems(self.scope)
        return out + self.own_problems()

    def own_problems(self) -> list[tuple[str, str]]:
        return []

    def matches(self, scope: Mapping[str, str]) -> bool:
        return all(scope.get(k) == v for k, v in self.matchers)

    def build(self, state: AlertState) -> ThresholdAlert:
        return ThresholdAlert(self.for_s, state, self.keep_firing_for)

    # -- the detector ---------------------------------------------------------------------------

    def new_track(self) -> DetectorTrack | None:
        """A fresh, empty track of this kind (None when it keeps none)."""
        return None if self.track is None else self.track()

    def observe(
        self, ctx: Ctx, ev: Event, t: float, handled: list[HandledCall], touches: Touches
    ) -> None:  # pragma: no cover - only kinds with observes = True are called
        raise NotImplementedError

    def names(self, ctx: Ctx) -> Iterable[str]:
        return ()

    def assess(self, ctx: Ctx, name: str, now: float, firing: bool) -> Assessment:
        raise NotImplementedError

    def wake(self, ctx: Ctx, name: str, now: float) -> float | None:
        return None

    def idle(self, ctx: Ctx, name: str) -> bool:
        """Optional cheap test, for kinds evaluated on most events: True only when ``assess`` is
        false and ``wake`` None for the scope now, so that evaluating a scope with no alert would
        do nothing. The engine calls it only for kinds that override it."""
        return False

    def explain(self, ctx: Ctx, name: str, now: float, a: Assessment, state: str) -> Explanation:
        raise NotImplementedError


def positive(out: list[tuple[str, str]], key: str, value: float, *, zero: bool = False) -> None:
    """Append a problem unless ``value`` is finite and > 0 (``>= 0`` with ``zero``)."""
    ok = math.isfinite(value) and (value >= 0 if zero else value > 0)
    if not ok:
        out.append((key, f"{key} must be a finite number {'>=' if zero else '>'} 0"))


def pct(x: float) -> str:
    """Signed percent text: ``+42%`` / ``−58%`` (a true minus sign, as on a wallboard)."""
    p = round(x * 100)
    return f"+{p}%" if p >= 0 else f"\u2212{-p}%"
