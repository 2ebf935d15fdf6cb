"""Floor KPIs: counter layout, per-scope aggregates and the formulas built on them.

Every aggregate (queue, team, site) owns an :class:`Agg`: a :class:`~.window.Window` of the
counters below plus the number of agents in each state. Team and site aggregates are *timed*:
they integrate "agents in state S" over event time into per-minute ``SEC_*`` buckets, so
occupancy needs no per-agent scan. Definitions (see ``docs/metrics.md``):

* service level = answered within ``sl_threshold_s`` / (answered + abandoned - short abandons) by
  default; the denominator follows the definitions' ``sl_formula`` (``definitions.py``)
* abandon rate = (abandoned - short abandons) / (answered + abandoned - short abandons)
* short abandon = abandoned after waiting less than ``short_abandon_s``; excluded from both ratios
* ASA = mean wait of answered calls; AHT = mean (talk + hold + wrap) of calls wrapped in the window
* occupancy = (talking + hold + wrap seconds) / (those + available seconds); not-ready time is out
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import msgspec

from .definitions import DEFAULT, Definitions, DefinitionSet
from .times import MINUTE, minute_of
from .window import Window

# agent states (index into Agg.counts and, offset by SEC_BASE, into the window)
AVAILABLE, NOT_READY, TALKING, HOLD, WRAP = range(5)
STATE_NAMES: Final = ("available", "not_ready", "talking", "hold", "wrap")
N_STATES: Final = 5

# window counters
OFFERED, ANSWERED, ABANDONED, SHORT_ABANDONED, ANSWERED_WITHIN, WAIT_SUM = range(6)
HANDLED, HANDLE_SUM, TALK_SUM, HOLD_SUM, WRAP_SUM = range(6, 11)
SEC_BASE: Final = 11  # SEC_BASE + state = seconds spent by agents in that state
WIDTH: Final = SEC_BASE + N_STATES


@dataclass(frozen=True, slots=True)
class FloorConfig:
    """Floor metric parameters; ``window_s`` must be a positive multiple of 60.

    ``definitions`` says how every figure counts (``definitions.py``); when not given, the default
    definitions with this config's ``sl_threshold_s`` and ``short_abandon_s``. Given, it wins and
    those two fields are set from its default. ``ledger_days``: business days of day / interval
    figures the floor keeps (``None`` = all, as ``floorwatch stats`` does).
    """

    window_s: int = 1800
    sl_threshold_s: float = 20.0
    short_abandon_s: float = 5.0
    recent_calls: int = 100_000  # per site: finished-call memory used to drop stale re-deliveries
    # per site: booked call legs remembered to drop their late leg events (re-sent, or after the
    # wrap-up): they come within minutes, and the memory goes into every snapshot (~100 B a leg)
    recent_legs: int = 20_000
    max_wait_s: float = 4 * 3600.0  # a call "waiting" longer was lost by the feed: forget it
    # open call legs per agent (a feed that loses call.ended would pile them up): past this many the
    # oldest is forgotten; and a leg still connected this long after it opened lost its end: forgotten
    max_legs: int = 8
    max_leg_s: float = 4 * 3600.0
    definitions: DefinitionSet | None = None
    ledger_days: int | None = 2

    def __post_init__(self) -> None:
        if self.definitions is None:
            default = DEFAULT
            if (self.sl_threshold_s, self.short_abandon_s) != (
                default.sl_threshold_s,
                default.short_abandon_s,
            ):
                default = Definitions(
                    sl_threshold_s=self.sl_threshold_s, short_abandon_s=self.short_abandon_s
                )
            object.__setattr__(self, "definitions", DefinitionSet(default=default))
        else:
            object.__setattr__(self, "sl_threshold_s", self.definitions.default.sl_threshold_s)
            object.__setattr__(self, "short_abandon_s", self.definitions.default.short_abandon_s)
        if self.ledger_days is not None and self.ledger_days < 1:
            raise ValueError(f"ledger_days must be >= 1 or None, got {self.ledger_days}")
        if self.window_s < MINUTE or self.window_s % MINUTE:
            raise ValueError(f"window_s must be a positive multiple of 60, got {self.window_s}")
        if self.sl_threshold_s < 0 or self.short_abandon_s < 0:
            raise ValueError("sl_threshold_s and short_abandon_s must be >= 0")
        if self.recent_calls < 2 or self.recent_legs < 2 or self.max_wait_s <= 0:
            raise ValueError("recent_calls and recent_legs must be >= 2 and max_wait_s > 0")
        if self.max_legs < 1 or self.max_leg_s <= 0:
            raise ValueError("max_legs must be >= 1 and max_leg_s > 0")

    @property
    def minutes(self) -> int:
        return self.window_s // MINUTE

    @property
    def defs(self) -> DefinitionSet:
        """The definitions in force (never None after construction)."""
        assert self.definitions is not None
        return self.definitions


class Agg(msgspec.Struct):
    """Window counters and agents-by-state of one scope; ``timed`` aggregates integrate state time."""

    win: Window
    timed: bool
    counts: list[int] = msgspec.field(default_factory=lambda: [0] * N_STATES)
    accrued_to: float | None = None

    @classmethod
    def new(cls, minutes: int, *, timed: bool) -> Agg:
        return cls(win=Window(minutes=minutes, width=WIDTH), timed=timed)

    def move(self, old: int | None, new: int | None, t: float) -> None:
        """One agent leaves state ``old`` and enters ``new`` (``None`` = not on the floor) at ``t``."""
        if self.timed:
            self.accrue(t)
        counts = self.counts
        if old is not None:
            counts[old] -= 1
        if new is not None:
            counts[new] += 1

    def accrue(self, t: float) -> None:
        """Book state seconds up to ``t``; time never runs backwards (earlier ``t`` is a no-op)."""
        start = self.accrued_to
        if start is not None and t <= start:
            return
        self.accrued_to = t
        counts = self.counts
        if start is None or not any(counts):
            return
        win = self.win
        start = max(start, float((minute_of(t) - win.minutes) * MINUTE))
        total = win.total
        # hot (every agent state change): the window's add_many, inlined, same float operations
        while start < t:
            m = minute_of(start)
            end = min(t, float((m + 1) * MINUTE))
            span = end - start
            bucket = win.row(m)
            if bucket is not None:
                for state, n in enumerate(counts):
                    if n:
                        amount = n * span
                        bucket[SEC_BASE + state] += amount
                        total[SEC_BASE + state] += amount
            start = end

    def state_seconds(self, now: float) -> list[float]:
        """Seconds per agent state in the window ending at ``now``, the open interval included."""
        secs = list(self.win.at(now)[SEC_BASE:])
        since = self.accrued_to
        if since is not None and now > since:
            dur = now - max(since, self.win.start(now))
            if dur > 0:
                for state, n in enumerate(self.counts):
                    secs[state] += n * dur
        return secs

    @property
    def logged_in(self) -> int:
        return sum(self.counts)


def service_level(v: Sequence[float], d: Definitions = DEFAULT) -> tuple[float | None, float]:
    """(answered within threshold / the denominator of ``d.sl_formula``, that denominator)."""
    denom = d.sl_denominator(v[OFFERED], v[ANSWERED], v[ABANDONED], v[SHORT_ABANDONED])
    return (v[ANSWERED_WITHIN] / denom if denom > 0 else None), denom


def abandon_rate(v: Sequence[float]) -> tuple[float | None, float]:
    denom = v[ANSWERED] + v[ABANDONED] - v[SHORT_ABANDONED]
    return ((v[ABANDONED] - v[SHORT_ABANDONED]) / denom if denom > 0 else None), denom


def asa(v: Sequence[float]) -> tuple[float | None, float]:
    n = v[ANSWERED]
    return (v[WAIT_SUM] / n if n > 0 else None), n


def aht(v: Sequence[float]) -> tuple[float | None, float]:
    n = v[HANDLED]
    return (v[HANDLE_SUM] / n if n > 0 else None), n


def occupancy(secs: Sequence[float]) -> tuple[float | None, float]:
    """(busy / (busy + available), that denominator in seconds) from :meth:`Agg.state_seconds`."""
    busy = secs[TALKING] + secs[HOLD] + secs[WRAP]
    denom = busy + secs[AVAILABLE]
    return (busy / denom if denom > 0 else None), denom
