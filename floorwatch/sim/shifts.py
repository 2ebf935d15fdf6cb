"""One agent's working day: login, breaks, lunch, training, logout.

A plan is a time-sorted list of :class:`PlanItem`; the model plays it one item at a time, so
the scheduler holds at most one pending item per agent however large the floor. Pure; the
randomness comes from the caller's ``random.Random``.
"""

from __future__ import annotations

import random
from typing import Literal, NamedTuple

from floorwatch.sim.config import BreakPolicy, TeamConfig

Kind = Literal["login", "not_ready", "logout"]


class PlanItem(NamedTuple):
    at_s: float  # seconds since the generator's start
    kind: Kind
    reason: str | None = None
    duration_s: float | None = None


def day_plan(
    team: TeamConfig, policy: BreakPolicy, day_start_s: float, day_s: float, rng: random.Random
) -> list[PlanItem]:
    """The plan of one agent of ``team`` for the day opening at ``day_start_s``.

    Login and logout are jittered by ``login_jitter_min`` but stay inside the day, so one day's
    logout never comes after the next day's login. Shifts of 4 h and more get a break, of 6 h and
    more a lunch and a second break; some agents get a training session.
    """
    j = policy.login_jitter_min
    start = min(max(team.shift[0] + rng.uniform(-j, j), 0.0), team.shift[1] - 30)
    end = max(min(team.shift[1] + rng.uniform(-j, j), day_s / 60), start + 30)
    length = end - start
    wanted: list[tuple[float, str, float]] = []
    if length >= 240:
        wanted.append((start + 0.25 * length + _jit(rng, policy), "break", policy.break_min))
    if length >= 360:
        lunch = team.lunch_at if team.lunch_at is not None else start + 0.5 * length
        wanted.append((lunch + _jit(rng, policy) / 2, "lunch", policy.lunch_min))
        wanted.append((start + 0.8 * length + _jit(rng, policy), "break", policy.break_min))
    if length >= 120 and rng.random() < policy.training_p:
        wanted.append((rng.uniform(start + 30, end - 60), "training", policy.training_min))
    items = [PlanItem(day_start_s + start * 60, "login")]
    for minute, reason, minutes in wanted:
        minute = min(max(minute, start + 10), end - minutes - 10)
        items.append(PlanItem(day_start_s + minute * 60, "not_ready", reason, minutes * 60))
    items.append(PlanItem(day_start_s + end * 60, "logout"))
    items.sort(key=lambda item: item.at_s)
    return [item._replace(at_s=round(item.at_s, 3)) for item in items]


def _jit(rng: random.Random, policy: BreakPolicy) -> float:
    return rng.uniform(-policy.jitter_min, policy.jitter_min)
