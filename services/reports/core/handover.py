"""The shift handover document: the shift's KPIs against targets, its alerts (raised,
acknowledged — who, when, note — and still open), projects behind plan with what each needs per
hour to recover, follow-ups due in the next shift, and the outgoing supervisor's note. Pure: the
shell gathers the inputs (roll-up sums, stored alert transitions, the live floor's projects,
follow-ups, the stored note)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .definitions import Definitions
from .reports import call_figures

# KPI targets a shift is held to (stated here; a site without others uses these)
TARGETS: Mapping[str, tuple[str, float]] = {
    "service_level": (">=", 0.8),
    "abandon_rate": ("<=", 0.05),
    "asa_s": ("<=", 20.0),
}


def kpis(counters: Mapping[str, float], defs: Definitions) -> list[dict[str, Any]]:
    f = call_figures(counters, defs)
    out = []
    for name in ("offered", "answered", "abandoned", "service_level", "abandon_rate", "asa_s", "aht_s",
                 "handled", "successes"):
        row: dict[str, Any] = {"kpi": name, "value": f[name]}
        if name in TARGETS:
            op, target = TARGETS[name]
            row["target"], row["op"] = target, op
            v = f[name]
            row["met"] = None if v is None else (v >= target if op == ">=" else v <= target)
        out.append(row)
    return out


def shift_alerts(transitions: Iterable[Mapping[str, Any]], start: dt.datetime,
                 end: dt.datetime) -> dict[str, list[dict[str, Any]]]:
    """``transitions``: wire alert transitions of the site up to ``end``, oldest first."""
    latest: dict[str, Mapping[str, Any]] = {}
    raised: dict[str, Mapping[str, Any]] = {}
    acked: dict[str, Mapping[str, Any]] = {}
    for t in transitions:
        at = dt.datetime.fromisoformat(t.get("event_time") or t["updated_at"])
        if at >= end:
            continue
        fp = t["fingerprint"]
        latest[fp] = t
        if at >= start:
            if t.get("state") == "firing" and t.get("previous") != "firing":
                raised.setdefault(fp, t)
            ack = t.get("ack")
            if ack and start <= dt.datetime.fromisoformat(ack["at"]) < end:
                acked[fp] = t

    def brief(t: Mapping[str, Any]) -> dict[str, Any]:
        return {"fingerprint": t["fingerprint"], "rule": t.get("rule"), "severity": t.get("severity"),
                "state": t.get("state"), "scope": t.get("scope"), "summary": t.get("summary"),
                "message": t.get("message"),  # the summary per language (docs/wire.md)
                "started_at": t.get("started_at"), "ack": t.get("ack")}

    return {
        "raised": [brief(t) for t in raised.values()],
        "acknowledged": [brief(t) for t in acked.values()],
        "open": [brief(t) for t in latest.values() if t.get("state") in ("pending", "firing")],
    }


def behind_plan(projects: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Projects of the live floor behind plan, with the successes per hour needed to recover."""
    out = []
    for p in projects:
        if p.get("status") != "behind":
            continue
        out.append({"project": p.get("project"), "title": p.get("title"), "done": p.get("done"),
                    "planned": p.get("planned"), "target": p.get("target"),
                    "needed_per_h": p.get("needed_per_h"), "rate_per_h": p.get("rate_per_h")})
    return out


def handover(*, site: str, shift: str, day: dt.date, start: dt.datetime, end: dt.datetime,
             kpi_rows: list[dict[str, Any]], alerts: dict[str, list[dict[str, Any]]],
             projects: list[dict[str, Any]], follow_ups: list[dict[str, Any]],
             note: Mapping[str, Any] | None, next_shift: str,
             next_bounds: tuple[dt.datetime, dt.datetime]) -> dict[str, Any]:
    return {
        "site": site, "shift": shift, "day": day.isoformat(), "start": start.isoformat(),
        "end": end.isoformat(), "kpis": kpi_rows, "alerts": alerts, "projects_behind": projects,
        "follow_ups_next_shift": {"shift": next_shift, "start": next_bounds[0].isoformat(),
                                  "end": next_bounds[1].isoformat(), "items": follow_ups},
        "note": dict(note) if note else None,
    }
