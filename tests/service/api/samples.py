"""Wire documents (docs/wire.md) for the API tests."""

from __future__ import annotations

from typing import Any

T0 = "2026-11-28T09:15:00+08:00"


def queue_row(queue: str, waiting: int = 0, **kw: Any) -> dict[str, Any]:
    row = {"queue": queue, "calls_waiting": waiting, "longest_wait_s": 10.0 * waiting, "offered": 100,
           "answered": 90, "abandoned": 5, "abandon_rate": 0.05, "service_level": 0.8, "asa_s": 12.0,
           "aht_s": 290.0, "agents": {"available": 1, "talking": 1}}
    row.update(kw)
    return row


def agent_row(agent: str, team: str, queues: list[str], state: str = "available",
              reason: str | None = None) -> dict[str, Any]:
    return {"agent": agent, "team": team, "state": state, "reason": reason, "since": T0,
            "queues": queues, "call": None}


def floor(site: str = "bj-01", *, as_of: str = T0, seq: int = 1, sales_waiting: int = 3,
          support_waiting: int = 7) -> dict[str, Any]:
    """Two queues (sales, support), two teams (t-sales, t-support), three agents."""
    return {
        "site": site, "as_of": as_of, "seq": seq, "window_s": 1800, "sl_threshold_s": 20,
        "totals": {"calls_waiting": sales_waiting + support_waiting, "longest_wait_s": 70.0,
                   "offered": 200, "answered": 180, "abandoned": 10, "abandon_rate": 0.05,
                   "service_level": 0.8, "asa_s": 12.0, "aht_s": 290.0, "occupancy": 0.8,
                   "agents": {"available": 2, "talking": 1}},
        "queues": [queue_row("sales", sales_waiting, aht_s=301.5),
                   queue_row("support", support_waiting, aht_s=415.0)],
        "teams": [{"team": "t-sales", "logged_in": 2, "occupancy": 0.7, "agents": {"available": 2}},
                  {"team": "t-support", "logged_in": 1, "occupancy": 0.9, "agents": {"talking": 1}}],
        "agents": [agent_row("a1", "t-sales", ["sales"]),
                   agent_row("a2", "t-sales", ["sales"], "not_ready", "break"),
                   agent_row("a3", "t-support", ["support"], "talking")],
    }


def alert(fingerprint: str, *, site: str = "bj-01", queue: str | None = "sales", state: str = "firing",
          n: int = 1, severity: str = "warning", rule: str = "calls-waiting",
          agent: str | None = None, summary: str = "calls waiting 12 > 10") -> dict[str, Any]:
    scope: dict[str, Any] = {"site": site}
    if queue is not None:
        scope["queue"] = queue
    if agent is not None:
        scope["agent"] = agent
    return {"id": fingerprint, "fingerprint": fingerprint, "rule": rule, "kind": "threshold",
            "severity": severity, "state": state, "previous": "pending", "scope": scope,
            "summary": summary, "value": 12.0, "threshold": 10.0, "started_at": T0, "updated_at": T0,
            "event_time": T0, "ack": None, "silenced_until": None, "labels": {}, "details": {},
            "transition_id": f"{fingerprint}:{n}"}


def project(name: str, queues: list[str], *, done: float = 40, planned: float = 50, target: float = 200,
            title: str | None = None) -> dict[str, Any]:
    """A ``projects[]`` entry of a floor snapshot (docs/wire.md): window 09:00-17:00, linear plan."""
    return {"project": name, "title": title or name, "queues": queues, "campaigns": [name], "target": target,
            "window": {"start": "2026-11-28T09:00+08:00", "end": "2026-11-28T17:00+08:00"},
            "status": "behind" if done < planned else "ahead", "done": done, "attempts": 3 * done,
            "planned": planned, "planned_fraction": round(planned / target, 4),
            "done_fraction": round(done / target, 4), "vs_plan": round(done / planned, 4),
            "behind": planned - done, "rate_per_h": 20.0, "needed_per_h": 26.67, "extra_per_h": 6.67,
            "projected_total": 160.0, "projected_finish": "2026-11-28T19:00+08:00",
            "curve": [["2026-11-28T09:00+08:00", 0.0], ["2026-11-28T17:00+08:00", 1.0]]}


def floor_with_projects(site: str = "bj-01", **kw: Any) -> dict[str, Any]:
    """``floor(...)`` plus three projects: one on sales, one on sales + support, one site-wide."""
    return floor(site, **kw) | {"projects": [project("kd-upgrade", ["sales"], title="宽带提速"),
                                             project("mixed", ["sales", "support"], done=60),
                                             project("site-wide", [])]}


def threshold_rule(name: str, metric: str, op: str, entry: float, clear: float, *,
                   severity: str = "warning", match: dict[str, str] | None = None) -> dict[str, Any]:
    return {"rule": name, "kind": "threshold", "scope": "queue", "severity": severity, "for_s": 0.0,
            "match": match or {}, "labels": {"owner": "ops"}, "escalate_after_s": None,
            "description": f"{metric} {op} {entry:g} per queue", "metric": metric, "op": op,
            "entry": entry, "clear": clear, "min_sample": 0.0, "when": [], "params": {}, "projects": []}


def ruleset(published_at: str = T0, *, waiting: float = 5) -> dict[str, Any]:
    """A rule set as the alerts service publishes it (docs/wire.md, *Rule set*)."""
    lag = {"rule": "progress-lag", "kind": "progress_lag", "scope": "campaign", "severity": "warning",
           "for_s": 300.0, "match": {}, "labels": {}, "escalate_after_s": None,
           "description": "project behind its plan, for 300 s per campaign", "metric": None, "op": None,
           "entry": None, "clear": None, "min_sample": None, "when": [], "params": {"behind": 0.15},
           "projects": ["kd-upgrade", "mixed", "site-wide"]}
    names = ("kd-upgrade", "mixed", "site-wide")
    rules = [threshold_rule("calls-waiting", "calls_waiting", ">", waiting, 1),
             threshold_rule("longest-wait", "longest_wait_s", ">", 90, 60, severity="critical"),
             threshold_rule("support-backlog", "calls_waiting", ">", 20, 10, match={"queue": "support"}),
             lag]
    return {"type": "ruleset", "version": f"v-{waiting}", "source": "rules.yaml",
            "published_at": published_at, "rules": rules,
            "projects": [{"project": p, "title": p, "queues": []} for p in names],
            "inhibit": [{"source": {"rule": "calls-waiting"}, "target": {"rule": "longest-wait"},
                         "equal": []}]}
