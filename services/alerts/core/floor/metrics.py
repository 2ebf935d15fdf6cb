"""The metric catalogue: every live metric a rule may watch, per scope kind, and how to read it.

A reading is ``(value, sample)``: ``value`` is ``None`` when undefined (no data, scope gone);
``sample`` is the amount of evidence behind it, compared with a rule's ``min_sample``: calls in
the denominator for ``service_level`` / ``abandon_rate``, answered calls for ``asa_s``, wrapped
calls for ``aht_s``, staffed seconds for ``occupancy``, 1 for the others.

``timing`` says when a value can change without an event touching the scope — it tells the
engine when to re-evaluate: ``event`` (only on events), ``window`` (also when a minute bucket
leaves the window), ``rising`` (grows with time: waits, time in state), ``continuous`` (occupancy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from . import kpis
from .kpis import Agg
from .state import SiteFloor
from .touches import (
    C_ABANDONED,
    C_ANSWERED,
    C_HANDLED,
    C_LOGGED,
    C_OFFERED,
    C_STATE,
    F_AGENT,
    F_AGENTS,
    F_OCC,
    F_WAIT,
    F_WINDOW,
)

Timing = Literal["event", "window", "rising", "continuous"]
Reading = tuple[float | None, float]
Reader = Callable[[SiteFloor, str, float], Reading]
SCOPE_KINDS: Final = ("queue", "team", "site", "agent", "campaign", "source")
SCOPE_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "queue": ("site", "queue"),
    "team": ("site", "team"),
    "site": ("site",),
    "agent": ("site", "agent"),
    "campaign": ("site", "campaign"),  # projects (progress_lag)
    "source": ("site", "source"),  # event sources (freshness)
}
_NONE: Final[Reading] = (None, 0.0)


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    family: int
    timing: Timing
    readers: dict[str, Reader]  # scope kind -> reader
    doc: str
    counters: int = 0  # the finer C_* touch bits of what it reads (0: the family bit is the finest)


def _agg(s: SiteFloor, kind: str, name: str) -> Agg | None:
    if kind == "queue":
        q = s.queues.get(name)
        return None if q is None else q.agg
    if kind == "team":
        return s.teams.get(name)
    return s.total


def _windowed(kind: str, fn: Callable[[Sequence[float]], Reading]) -> Reader:
    def read(s: SiteFloor, name: str, now: float) -> Reading:
        agg = _agg(s, kind, name)
        return _NONE if agg is None else fn(agg.win.at(now))

    return read


def _counter(idx: int) -> Callable[[Sequence[float]], Reading]:
    return lambda v: (v[idx], 1.0)


def _agents(kind: str, state: int | None) -> Reader:
    def read(s: SiteFloor, name: str, now: float) -> Reading:
        agg = _agg(s, kind, name)
        if agg is None:
            return _NONE
        return float(agg.logged_in if state is None else agg.counts[state]), 1.0

    return read


def _occupancy(kind: str) -> Reader:
    def read(s: SiteFloor, name: str, now: float) -> Reading:
        agg = _agg(s, kind, name)
        return _NONE if agg is None else kpis.occupancy(agg.state_seconds(now))

    return read


def _calls_waiting(s: SiteFloor, name: str, now: float) -> Reading:
    q = s.queues.get(name)
    return _NONE if q is None else (float(len(q.waiting)), 1.0)


def _longest_wait(s: SiteFloor, name: str, now: float) -> Reading:
    q = s.queues.get(name)
    if q is None:
        return _NONE
    return (max(0.0, now - q.oldest) if q.oldest is not None else 0.0), 1.0


def _site_longest_wait(s: SiteFloor, name: str, now: float) -> Reading:
    oldest = s.oldest_waiting()
    return (max(0.0, now - oldest) if oldest is not None else 0.0), 1.0


def _site_waiting(s: SiteFloor, name: str, now: float) -> Reading:
    return float(s.calls_waiting()), 1.0


def _agent_time(state: int | None) -> Reader:
    def read(s: SiteFloor, name: str, now: float) -> Reading:
        a = s.agents.get(name)
        if a is None:
            return _NONE
        if state is not None and a.state != state:
            return 0.0, 1.0
        return max(0.0, now - a.since), 1.0

    return read


def _catalogue() -> dict[str, Metric]:
    out: dict[str, Metric] = {}

    def add(
        name: str, family: int, timing: Timing, readers: dict[str, Reader], doc: str, counters: int = 0
    ) -> None:
        out[name] = Metric(name, family, timing, readers, doc, counters)

    add(
        "calls_waiting",
        F_WAIT,
        "event",
        {"queue": _calls_waiting, "site": _site_waiting},
        "calls queued and not yet answered or abandoned",
    )
    add(
        "longest_wait_s",
        F_WAIT,
        "rising",
        {"queue": _longest_wait, "site": _site_longest_wait},
        "seconds the oldest waiting call has waited (0 when none waits)",
    )
    call_kinds = ("queue", "site")
    for name, idx, counters, doc in (
        ("offered", kpis.OFFERED, C_OFFERED, "calls offered"),
        ("answered", kpis.ANSWERED, C_ANSWERED, "answered"),
        ("abandoned", kpis.ABANDONED, C_ABANDONED, "abandoned, short ones included"),
        ("short_abandoned", kpis.SHORT_ABANDONED, C_ABANDONED, "abandoned within short_abandon_s"),
    ):
        readers = {k: _windowed(k, _counter(idx)) for k in call_kinds}
        add(name, F_WINDOW, "window", readers, doc + " in window", counters)
    both = C_ANSWERED | C_ABANDONED
    for name, fn, counters, doc in (
        ("service_level", kpis.service_level, both, "answered within threshold / non-short offered"),
        ("abandon_rate", kpis.abandon_rate, both, "non-short abandons / non-short answered+abandoned"),
        ("asa_s", kpis.asa, C_ANSWERED, "mean wait of answered calls"),
    ):
        readers = {k: _windowed(k, fn) for k in call_kinds}
        add(name, F_WINDOW, "window", readers, doc + " in window", counters)
    agg_kinds = ("queue", "team", "site")
    add(
        "aht_s",
        F_WINDOW,
        "window",
        {k: _windowed(k, kpis.aht) for k in agg_kinds},
        "mean talk + hold + wrap of calls wrapped in window",
        C_HANDLED,
    )
    add(
        "handled",
        F_WINDOW,
        "window",
        {k: _windowed(k, _counter(kpis.HANDLED)) for k in agg_kinds},
        "calls whose wrap-up completed in window",
        C_HANDLED,
    )
    add(
        "logged_in",
        F_AGENTS,
        "event",
        {k: _agents(k, None) for k in agg_kinds},
        "agents logged in (for a queue: serving it)",
        C_LOGGED,
    )
    for state, label in enumerate(kpis.STATE_NAMES):
        add(
            f"agents_{label}",
            F_AGENTS,
            "event",
            {k: _agents(k, state) for k in agg_kinds},
            f"agents in state {label}",
            C_STATE[state],
        )
    add(
        "occupancy",
        F_OCC,
        "continuous",
        {k: _occupancy(k) for k in ("team", "site")},
        "busy seconds / (busy + available seconds) in window",
    )
    add("state_s", F_AGENT, "rising", {"agent": _agent_time(None)}, "seconds in the agent's current state")
    for state, label in enumerate(kpis.STATE_NAMES):
        if state != kpis.AVAILABLE:
            add(
                f"{label}_s",
                F_AGENT,
                "rising",
                {"agent": _agent_time(state)},
                f"seconds in {label} so far (0 when in another state)",
            )
    return out


METRICS: Final[dict[str, Metric]] = _catalogue()


def inputs(metrics: Iterable[str]) -> int | None:
    """The touch bits that must be set for ``metrics`` to read differently than at their previous
    evaluation, or None when they may also change with time alone (``rising``, ``continuous``).
    (``window`` metrics also change at minute boundaries, where the engine evaluates them all.)"""
    mask = 0
    for name in metrics:
        m = METRICS[name]
        if m.timing not in ("event", "window"):
            return None
        mask |= m.counters or m.family
    return mask


def read(s: SiteFloor, kind: str, name: str, metric: str, now: float) -> Reading:
    """Value and sample of ``metric`` for scope ``(kind, name)`` of site ``s`` at ``now``."""
    return METRICS[metric].readers[kind](s, name, now)
