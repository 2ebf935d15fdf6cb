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
