"""The seven reports as pure functions of summed roll-up counters (and, for three of them, of the
stored outcome, follow-up and span rows). The shell sums the counters per group in SQL; every
ratio is computed here, once, from sums — never averaged from averages.

Each function returns plain dict rows (JSON-ready: dates as ``YYYY-MM-DD``, instants RFC 3339).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .definitions import Definitions, DefinitionSet

Counters = Mapping[str, float]
Group = tuple[dict[str, Any], Counters]  # (dimension values, summed counters)

REPORTS = ("project-progress", "project-daily", "failure-reasons", "follow-ups", "agent-progress",
           "agent-log", "staff-performance")


def _div(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(x, nd)


def call_figures(c: Counters, defs: Definitions) -> dict[str, Any]:
    """The ``floorwatch stats`` figures of one group of counters."""
    handled = c.get("handled", 0.0)
    talk, hold, wrap = c.get("talk_sum", 0.0), c.get("hold_sum", 0.0), c.get("wrap_sum", 0.0)
    offered, answered = c.get("offered", 0.0), c.get("answered", 0.0)
    abandoned, short = c.get("abandoned", 0.0), c.get("short_abandoned", 0.0)
    within = c.get("answered_in_sl", 0.0)
    return {
        "offered": int(offered),
        "answered": int(answered),
        "abandoned": int(abandoned),
        "short_abandoned": int(short),
        "exited": int(c.get("exited", 0.0)),
        "unqueued": int(c.get("unqueued", 0.0)),
        "answered_in_sl": int(within),
        "service_level": _r(defs.service_level(within, offered, answered, abandoned, short), 4),
        "abandon_rate": _r(_div(abandoned - short, answered + abandoned - short), 4),
        "asa_s": _r(_div(c.get("wait_sum", 0.0), answered), 1),
        "handled": int(handled),
        "handled_untimed": int(c.get("handled_untimed", 0.0)),
        "talk_s": _r(_div(talk, handled), 1),
        "hold_s": _r(_div(hold, handled), 1),
        "wrap_s": _r(_div(wrap, handled), 1),
        "aht_s": _r(_div(defs.handle_s(talk, hold, wrap), handled), 1),
        "outcomes": int(c.get("outcomes", 0.0)),
        "successes": int(c.get("successes", 0.0)),
        "success_rate": _r(_div(c.get("successes", 0.0), c.get("outcomes", 0.0)), 4),
    }


def agent_figures(c: Counters) -> dict[str, Any]:
    busy = c.get("talking_s", 0.0) + c.get("holding_s", 0.0) + c.get("wrapping_s", 0.0)
    login = c.get("logged_in_s", 0.0)
    calls = c.get("handled", 0.0) + c.get("handled_untimed", 0.0)
    return {
        "logged_in_s": round(login, 1),
        "available_s": round(c.get("available_s", 0.0), 1),
        "not_ready_s": round(c.get("not_ready_s", 0.0), 1),
        "busy_s": round(busy, 1),
        "occupancy": _r(_div(busy, busy + c.get("available_s", 0.0)), 4),
        "calls": int(calls),
        "calls_per_hour": _r(_div(calls, login / 3600.0), 2),
    }


def project_daily(groups: Iterable[Group], defs: DefinitionSet) -> list[dict[str, Any]]:
    """Rows per (site, queue, project, day or interval_start), ``floorwatch stats`` field names;
    each row's ratios under its queue's definitions (the site's on a site-total row)."""
    return [{**dims, **call_figures(c, defs.for_queue(dims["site"], dims.get("queue")))}
            for dims, c in groups]


def staff_performance(groups: Sequence[Group], reasons: Mapping[tuple[str, str, str], Mapping[str, float]],
                      defs: DefinitionSet, costs: Mapping[str, float] | None = None,
                      ) -> list[dict[str, Any]]:
    """Per agent and per team (``level``), ranked within the level by successes, then calls per hour.

    ``groups`` dims: ``site``, ``team``, ``agent``; ``reasons``: (site, team, agent) -> reason ->
    not-ready seconds; ``costs``: site -> cost of one logged-in hour (cost indicators only where
    configured)."""
    teams: dict[tuple[str, str], dict[str, float]] = {}
    team_reasons: dict[tuple[str, str], dict[str, float]] = {}
    rows: list[dict[str, Any]] = []
    for dims, c in groups:
        site, team, agent = dims["site"], dims["team"], dims["agent"]
        tsum = teams.setdefault((site, team), defaultdict(float))
        for k, v in c.items():
            tsum[k] += v
        nr = dict(reasons.get((site, team, agent), {}))
        tr = team_reasons.setdefault((site, team), defaultdict(float))
        for k, v in nr.items():
            tr[k] += v
        rows.append(_perf_row("agent", site, team, agent, c, nr, defs, costs))
    for (site, team), c in teams.items():
        rows.append(_perf_row("team", site, team, None, c, dict(team_reasons[(site, team)]), defs, costs))
    for level in ("agent", "team"):
        ranked = sorted((r for r in rows if r["level"] == level),
                        key=lambda r: (-(r["successes"]), -(r["calls_per_hour"] or 0.0), r["team"],
                                       r["agent"] or ""))
        for i, r in enumerate(ranked, 1):
            r["rank"] = i
    rows.sort(key=lambda r: (r["level"] != "agent", r["rank"]))
    return rows


def _perf_row(level: str, site: str, team: str, agent: str | None, c: Counters, nr: dict[str, float],
              defs: DefinitionSet, costs: Mapping[str, float] | None) -> dict[str, Any]:
    f = call_figures(c, defs.for_site(site))
    a = agent_figures(c)
    row: dict[str, Any] = {"level": level, "site": site, "team": team, "agent": agent, **a,
                           "handled": f["handled"], "talk_s": f["talk_s"], "hold_s": f["hold_s"],
                           "wrap_s": f["wrap_s"], "aht_s": f["aht_s"], "outcomes": f["outcomes"],
                           "successes": f["successes"], "success_rate": f["success_rate"],
                           "not_ready_by_reason": {k or "-": round(v, 1) for k, v in sorted(nr.items())}}
    rate = (costs or {}).get(site)
    if rate is not None:
        cost = rate * c.get("logged_in_s", 0.0) / 3600.0
        row["cost"] = round(cost, 2)
        row["cost_per_contact"] = _r(_div(cost, a["calls"]), 2)
        row["cost_per_success"] = _r(_div(cost, f["successes"]), 2)
    return row


def project_progress(groups: Iterable[Group], targets: Mapping[str, float], last_day: dt.date,
                     end_day: dt.date | None = None) -> list[dict[str, Any]]:
    """Per project and business day: target (the project's daily target), completed (successes),
    contacts (handled), success rate, cumulative against the cumulative plan; then one
    ``day: null`` total row per project with the projection to ``end_day`` (default ``last_day``)
    at the average daily completion so far.

    ``groups`` dims: ``project``, ``day`` (``YYYY-MM-DD``)."""
    by_project: dict[str, list[tuple[str, Counters]]] = defaultdict(list)
    for dims, c in groups:
        by_project[dims["project"]].append((dims["day"], c))
    rows: list[dict[str, Any]] = []
    for project in sorted(by_project):
        target = targets.get(project)
        cum = cum_plan = 0.0
        days = sorted(by_project[project])
        for day, c in days:
            done = c.get("successes", 0.0)
            contacts = c.get("handled", 0.0) + c.get("handled_untimed", 0.0)
            cum += done
            cum_plan += target or 0.0
            rows.append({
                "project": project, "day": day, "target": target, "completed": int(done),
                "contacts": int(contacts), "outcomes": int(c.get("outcomes", 0.0)),
                "success_rate": _r(_div(done, c.get("outcomes", 0.0)), 4),
                "conversion": _r(_div(done, contacts), 4),
                "against_plan": _r(_div(done, target or 0.0), 4),
                "cumulative": int(cum), "cumulative_plan": cum_plan if target else None,
            })
        first = dt.date.fromisoformat(days[0][0])
        elapsed = (last_day - first).days + 1
        horizon = ((end_day or last_day) - first).days + 1
        per_day = cum / elapsed if elapsed > 0 else 0.0
        plan_total = (target or 0.0) * horizon
        rows.append({
            "project": project, "day": None, "target": plan_total if target else None,
            "completed": int(cum), "days": elapsed, "per_day": round(per_day, 2),
            "projected": round(per_day * horizon, 1),
            "projected_against_plan": _r(_div(per_day * horizon, plan_total), 4),
            "needed_per_day": (_r(max(0.0, plan_total - cum) / (horizon - elapsed), 2)
                               if target and horizon > elapsed else None),
        })
    return rows


def agent_progress(groups: Iterable[Group], targets: Mapping[str, float],
                   n_days: int) -> list[dict[str, Any]]:
    """Per agent and project: contacts, successes, conversion, against the agent's share of the
    project target (target x days / agents who worked the project in the range).

    ``groups`` dims: ``site``, ``project``, ``team``, ``agent``."""
    items = list(groups)
    per_project: dict[str, int] = defaultdict(int)
    for dims, _ in items:
        per_project[dims["project"]] += 1
    rows = []
    for dims, c in items:
        target = targets.get(dims["project"])
        share = target * n_days / per_project[dims["project"]] if target else None
        done = c.get("successes", 0.0)
        contacts = c.get("handled", 0.0) + c.get("handled_untimed", 0.0)
        rows.append({**dims, "contacts": int(contacts), "successes": int(done),
                     "conversion": _r(_div(done, contacts), 4),
                     "target_share": _r(share, 2), "against_target": _r(_div(done, share or 0.0), 4)})
    rows.sort(key=lambda r: (r["project"], -r["successes"], r["agent"]))
    return rows


def failure_reasons(rows: Iterable[tuple[dict[str, Any], int]]) -> list[dict[str, Any]]:
    """Failed outcomes per dims, code and reason, each with its share of that day's failures in
    the same dims, and the change of that share against the previous day with failures in the
    same dims (``shift``, a difference of shares; null on the first such day).

    ``rows``: (dims incl. ``day``, ``code`` and ``reason``, count)."""
    items = [(d, n, tuple(v for k, v in sorted(d.items()) if k not in ("day", "reason", "code")))
             for d, n in rows]
    totals: dict[tuple[Any, ...], int] = defaultdict(int)
    for d, n, sk in items:
        totals[(sk, d["day"])] += n
    days_of: dict[tuple[Any, ...], list[str]] = defaultdict(list)
    for sk, day in totals:
        days_of[sk].append(day)
    for days in days_of.values():
        days.sort()
    share = {(sk, d["code"], d["reason"], d["day"]): n / totals[(sk, d["day"])] for d, n, sk in items}
    out = []
    for d, n, sk in items:
        s = share[(sk, d["code"], d["reason"], d["day"])]
        days = days_of[sk]
        i = days.index(d["day"])
        shift = None if i == 0 else s - share.get((sk, d["code"], d["reason"], days[i - 1]), 0.0)
        out.append({**d, "failures": n, "share": round(s, 4), "shift": _r(shift, 4)})
    out.sort(key=lambda r: (r["day"], *[str(r.get(k)) for k in ("site", "project", "queue", "team", "agent")],
                            -r["failures"], r["code"], r["reason"]))
    return out


def follow_ups(items: Iterable[Mapping[str, Any]], now: dt.datetime) -> list[dict[str, Any]]:
    """Open follow-ups, overdue first (most overdue first), then by due time."""
    rows = []
    for f in items:
        due: dt.datetime = f["due_at"]
        rows.append({**f, "due_at": due.isoformat(), "opened_at": f["opened_at"].isoformat(),
                     "overdue": due <= now, "overdue_s": round(max(0.0, (now - due).total_seconds()), 1)})
    rows.sort(key=lambda r: (not r["overdue"], r["due_at"]))
    return rows


def agent_log(spans: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The agent's state timeline: consecutive spans, with durations; gaps are logged-out time."""
    rows = []
    for s in sorted(spans, key=lambda s: (s["agent"], s["start"])):
        rows.append({**s, "start": s["start"].isoformat(), "end": s["end"].isoformat(),
                     "duration_s": round((s["end"] - s["start"]).total_seconds(), 1)})
    return rows
