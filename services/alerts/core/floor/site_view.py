"""``FloorSnapshot``: the JSON-ready view of one site, exactly as ``docs/wire.md`` describes.

Pure read of a :class:`~.state.SiteFloor` at ``now``. Agent-state counts always list all five
states (zeros included) so consumers see stable keys. Queues, teams and agents are sorted by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import kpis
from .kpis import STATE_NAMES, Agg, FloorConfig
from .state import SiteFloor
from .times import rfc3339


def _states(agg: Agg) -> dict[str, int]:
    return dict(zip(STATE_NAMES, agg.counts, strict=True))


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def _calls(v: Sequence[float]) -> dict[str, Any]:
    return {
        "offered": int(v[kpis.OFFERED]),
        "answered": int(v[kpis.ANSWERED]),
        "abandoned": int(v[kpis.ABANDONED]),
        "short_abandoned": int(v[kpis.SHORT_ABANDONED]),
        "answered_within_sl": int(v[kpis.ANSWERED_WITHIN]),
        "abandon_rate": _round(kpis.abandon_rate(v)[0]),
        "service_level": _round(kpis.service_level(v)[0]),
        "asa_s": _round(kpis.asa(v)[0], 1),
        "aht_s": _round(kpis.aht(v)[0], 1),
        "handled": int(v[kpis.HANDLED]),
    }


def floor_snapshot(s: SiteFloor, cfg: FloorConfig, now: float) -> dict[str, Any]:
    """The ``FloorSnapshot`` dict of site ``s`` at event time ``now``."""
    oldest = s.oldest_waiting()
    totals: dict[str, Any] = {
        "calls_waiting": s.calls_waiting(),
        "longest_wait_s": round(max(0.0, now - oldest), 1) if oldest is not None else 0.0,
        **_calls(s.total.win.at(now)),
        "occupancy": _round(kpis.occupancy(s.total.state_seconds(now))[0]),
        "logged_in": s.total.logged_in,
        "agents": _states(s.total),
    }
    queues = []
    for name in sorted(s.queues):
        q = s.queues[name]
        queues.append(
            {
                "queue": name,
                "calls_waiting": len(q.waiting),
                "longest_wait_s": round(max(0.0, now - q.oldest), 1) if q.oldest is not None else 0.0,
                **_calls(q.agg.win.at(now)),
                "logged_in": q.agg.logged_in,
                "agents": _states(q.agg),
            }
        )
    teams = []
    for name in sorted(s.teams):
        t = s.teams[name]
        teams.append(
            {
                "team": name,
                "logged_in": t.logged_in,
                "occupancy": _round(kpis.occupancy(t.state_seconds(now))[0]),
                "aht_s": _round(kpis.aht(t.win.at(now))[0], 1),
                "agents": _states(t),
            }
        )
    agents = [
        {
            "agent": a.agent,
            "team": a.team,
            "state": STATE_NAMES[a.state],
            "reason": a.reason if a.state == kpis.NOT_READY else None,
            "since": rfc3339(a.since, s.tz),
            "queues": list(a.queues),
            "call": None if a.leg is None else a.leg.call,
        }
        for a in sorted(s.agents.values(), key=lambda a: a.agent)
    ]
    return {
        "site": s.site,
        "as_of": rfc3339(now, s.tz),
        "seq": s.seq,
        "window_s": cfg.window_s,
        "sl_threshold_s": cfg.sl_threshold_s,
        "short_abandon_s": cfg.short_abandon_s,
        "totals": totals,
        "queues": queues,
        "teams": teams,
        "agents": agents,
    }
