"""``agent_efficiency`` after a long gap: an agent first seen in an old event, then changing state.

The open interval is booked into 5-minute buckets; only the buckets the window can still hold
are written, so one event costs at most the window's buckets however old the agent's last state
(a 1980 timestamp is a legal event), and the figures are those of the full walk.
"""

from __future__ import annotations

from services.alerts.core import Engine, RuleSet
from services.alerts.core.detectors.agent_efficiency import BUCKET_S, READY_S, AgentEfficiencyRule, AgentTrack

from .feed import Feed, epoch

YEAR_S = 365 * 86400.0
RULE = AgentEfficiencyRule(name="eff", window=3600.0)


def _walked(since: float, upto: float) -> dict[int, float]:
    """Ready seconds per bucket of the full, unbounded walk from ``since`` to ``upto``."""
    out: dict[int, float] = {}
    start = since
    while start < upto:
        end = min(upto, (int(start // BUCKET_S) + 1) * BUCKET_S)
        out[int(start // BUCKET_S)] = out.get(int(start // BUCKET_S), 0.0) + end - start
        start = end
    return out


def _track(eng: Engine, agent: str) -> AgentTrack:
    track = eng._tracks["bj-01"].tracks["eff"]
    return track.agents[agent]  # type: ignore[attr-defined, no-any-return]


def test_a_gap_is_booked_only_as_far_back_as_the_window_and_matches_the_full_walk() -> None:
    eng, feed = Engine(RuleSet((RULE,))), Feed()
    eng.on_event(feed("login", 0, agent="a1"))
    # "old": ready since a year ago (one event); "recent": ready since 40 min ago (inside the window)
    eng.on_event(feed("state", -YEAR_S, agent="old", state="available"))
    eng.on_event(feed("state", -2400.0 - 17, agent="recent", state="available"))
    now = 7 * 60 + 13.0  # mid-bucket
    for agent in ("old", "recent"):
        eng.on_event(feed("state", now, agent=agent, state="not_ready", reason="meeting"))

    limit = int(RULE.window // BUCKET_S) + 1  # the window's buckets plus the one it starts in
    old = {k: row[READY_S] for k, row in _track(eng, "old").buckets.items()}
    assert len(old) <= limit  # the full walk would be ~105,000 buckets
    oldest = int(epoch(now) // BUCKET_S) - int(RULE.window // BUCKET_S)
    full = _walked(epoch(-YEAR_S), epoch(now))
    assert old == {k: v for k, v in full.items() if k >= oldest}  # every bucket the window reads, exact

    recent = {k: row[READY_S] for k, row in _track(eng, "recent").buckets.items()}
    assert recent == _walked(epoch(-2400.0 - 17), epoch(now))  # inside the window: the full walk
    # a second change, a year on: bounded again
    eng.on_event(feed("state", now + YEAR_S, agent="old", state="available"))
    eng.on_event(feed("state", now + YEAR_S + 60, agent="old", state="not_ready", reason="meeting"))
    assert len(_track(eng, "old").buckets) <= 2 * limit
