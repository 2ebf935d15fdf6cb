"""``FloorSnapshot``: the JSON-ready view of one site, exactly as ``docs/wire.md`` describes.

Pure read of a :class:`~.state.SiteFloor` at ``now``. Agent-state counts always list all five
states (zeros included) so consumers see stable keys. Queues, teams and agents are sorted by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import kpis
from .definitions import Definitions
from .kpis import STATE_NAMES, Agg, FloorConfig
from .ledger import L_WIDTH, SITE_ROW, figures, slot
from .state import SiteFloor
from .times import rfc3339

_SINCE: dict[tuple[float, int], str] = {}  # (epoch seconds, UTC offset) -> its RFC 3339 text
_SINCE_MAX = 100_000


def _since(t: float, off: int) -> str:
    """``rfc3339(t, off)``, remembered: an agent's ``since`` stays the same from one snapshot to the
    next until the agent changes state, and a site's snapshot lists every agent (at 5,000 agents,
    formatting them all anew was ~1.6 us each, twice a second). Forgotten all at once when full."""
    key = (t, off)
    text = _SINCE.get(key)
    if text is None:
        if len(_SINCE) >= _SINCE_MAX:
            _SINCE.clear()
        text = _SINCE[key] = rfc3339(t, off)
    return text


def _states(agg: Agg) -> dict[str, int]:
    return dict(zip(STATE_NAMES, agg.counts, strict=True))


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def _parts(v: Sequence[float]) -> dict[str, Any]:
    """The AHT components: mean talk, hold and wrap-up of the handled calls."""
    n = v[kpis.HANDLED]
    return {
        "talk_s": _round(v[kpis.TALK_SUM] / n, 1) if n else None,
        "hold_s": _round(v[kpis.HOLD_SUM] / n, 1) if n else None,
        "wrap_s": _round(v[kpis.WRAP_SUM] / n, 1) if n else None,
    }


def _calls(v: Sequence[float], d: Definitions) -> dict[str, Any]:
    return {
        "offered": int(v[kpis.OFFERED]),
        "answered": int(v[kpis.ANSWERED]),
        "abandoned": int(v[kpis.ABANDONED]),
        "short_abandoned": int(v[kpis.SHORT_ABANDONED]),
        "answered_within_sl": int(v[kpis.ANSWERED_WITHIN]),
        "abandon_rate": _round(kpis.abandon_rate(v)[0]),
        "service_level": _round(kpis.service_level(v, d)[0]),
        "asa_s": _round(kpis.asa(v)[0], 1),
        "aht_s": _round(kpis.aht(v)[0], 1),
        **_parts(v),
        "handled": int(v[kpis.HANDLED]),
    }


def _day(s: SiteFloor, d: Definitions, day: str, queue: str) -> dict[str, Any]:
    """The figures of business day ``day`` so far (``ledger.py``), for ``queue`` ("" = the site)."""
    row = s.ledger.days.get(day, {}).get(queue)
    return {"day": day, **figures(row if row is not None else [0.0] * L_WIDTH, d)}


def floor_snapshot(s: SiteFloor, cfg: FloorConfig, now: float) -> dict[str, Any]:
    """The ``FloorSnapshot`` dict of site ``s`` at event time ``now``."""
    oldest = s.oldest_waiting()
    defs = cfg.defs
    site_defs = defs.for_site(s.site)
    today, _ = slot(now, site_defs, s.tz)
    totals: dict[str, Any] = {
        "calls_waiting": s.calls_waiting(),
        "longest_wait_s": round(max(0.0, now - oldest), 1) if oldest is not None else 0.0,
        **_calls(s.total.win.at(now), site_defs),
        "occupancy": _round(kpis.occupancy(s.total.state_seconds(now))[0]),
        "logged_in": s.total.logged_in,
        "agents": _states(s.total),
        "day": _day(s, site_defs, today, SITE_ROW),
    }
    queues = []
    for name in sorted(s.queues):
        q = s.queues[name]
        q_defs = defs.for_queue(s.site, name)
        queues.append(
            {
                "queue": name,
                "calls_waiting": len(q.waiting),
                "longest_wait_s": round(max(0.0, now - q.oldest), 1) if q.oldest is not None else 0.0,
                **_calls(q.agg.win.at(now), q_defs),
                "logged_in": q.agg.logged_in,
                "agents": _states(q.agg),
                "day": _day(s, q_defs, today, name),
            }
        )
    teams = []
    for name in sorted(s.teams):
        t = s.teams[name]
        tv = t.win.at(now)
        teams.append(
            {
                "team": name,
                "logged_in": t.logged_in,
                "occupancy": _round(kpis.occupancy(t.state_seconds(now))[0]),
                "aht_s": _round(kpis.aht(tv)[0], 1),
                **_parts(tv),
                "agents": _states(t),
            }
        )
    agents = [
        {
            "agent": a.agent,
            "team": a.team,
            "state": STATE_NAMES[a.state],
            "reason": a.reason if a.state == kpis.NOT_READY else None,
            "since": _since(a.since, s.tz),
            "queues": list(a.queues),
            "call": None if a.leg is None else a.leg.call,
        }
        for a in sorted(s.agents.values(), key=lambda a: a.agent)
    ]
    return {
        "site": s.site,
        "as_of": rfc3339(now, s.tz),
        "seq": s.seq,
        "late_facts": s.late,
        "window_s": cfg.window_s,
        "sl_threshold_s": site_defs.sl_threshold_s,
        "short_abandon_s": site_defs.short_abandon_s,
        "definitions": site_defs.as_dict(),
        "totals": totals,
        "queues": queues,
        "teams": teams,
        "agents": agents,
    }
