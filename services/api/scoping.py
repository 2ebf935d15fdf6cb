"""What a scope may see of a floor snapshot and of an alert. Pure functions over wire dicts.

Rules (each restricted dimension must be satisfied; ``None`` dimensions pass):

* floor: other sites are invisible; so is a site the *token* does not name (``named_sites``:
  the token's own ``sites``, not a subscription's) where nothing in the partial scope is present —
  its mere existence is outside the scope, so "not yours" looks exactly like "does not exist". An
  agent is kept when its team is in ``teams`` and it serves a queue in ``queues`` (its ``queues``
  list then cut to the queues in scope: which other queues it serves is not the caller's); a queue row
  is kept when it is in ``queues`` (and, for a team-scoped caller, served by a visible agent); a
  team row when it is in ``teams`` (and, for a queue-scoped caller, has a visible agent). When the
  scope is partial, ``totals`` is rebuilt from what is visible: sums and maxima exactly, ``abandon_rate``
  from the sums, the other averages/ratios copied when exactly one queue (team for
  ``occupancy``) is visible and ``null`` otherwise — never a figure that includes hidden data.
  A project (``projects``) is kept in a partial view only when it names queues and all of them
  are visible queue rows; a project with no queues is site-wide, hidden like site-wide alerts.
* alerts: the alert's site must be in scope; for a restricted dimension the alert must name a
  member (``scope.queue`` / ``scope.team``, or ``labels``), or be about an agent whose current
  team / queues (from the latest snapshot) are in scope. A project's alert (``scope.campaign``)
  is visible where its project is (above: all its queues visible). Site-wide alerts are hidden
  from queue- or team-scoped callers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from services.api.auth import Scope

AgentLookup = Callable[[str, str], dict[str, Any] | None]
FloorLookup = Callable[[str], dict[str, Any] | None]

_SUMS = ("calls_waiting", "offered", "answered", "abandoned")
_COPY_ONE_QUEUE = ("service_level", "asa_s", "aht_s")


_UNSET: Any = object()


def filter_floor(snapshot: dict[str, Any], scope: Scope,
                 named_sites: frozenset[str] | None = _UNSET) -> dict[str, Any] | None:
    """The part of ``snapshot`` that ``scope`` may see, or None when its site is out of scope.
    ``named_sites``: the sites the caller's token names (default: ``scope.sites``); pass the token's
    when ``scope`` is a subscription narrowed from it."""
    site = snapshot.get("site", "")
    if not scope.allows_site(site):
        return None
    if not scope.partial:
        return snapshot
    named = scope.sites if named_sites is _UNSET else named_sites
    agents = [a for a in snapshot.get("agents") or [] if agent_visible(a, scope)]
    if scope.queues is not None:
        agents = [{**a, "queues": [q for q in a.get("queues") or () if q in scope.queues]} for a in agents]
    served = {q for a in agents for q in a.get("queues") or ()}
    staffed = {a.get("team") for a in agents}
    queues = [q for q in snapshot.get("queues") or []
              if _in(scope.queues, q.get("queue")) and (scope.teams is None or q.get("queue") in served)]
    teams = [t for t in snapshot.get("teams") or []
             if _in(scope.teams, t.get("team")) and (scope.queues is None or t.get("team") in staffed)]
    if (named is None or site not in named) and not (queues or teams or agents):
        return None
    out = dict(snapshot)
    out.update(queues=queues, teams=teams, agents=agents, totals=_totals(queues, teams, agents))
    if "projects" in snapshot:
        shown = {q.get("queue") for q in queues}
        out["projects"] = [p for p in snapshot["projects"] or [] if project_visible(p, shown)]
    return out


def project_visible(project: dict[str, Any], visible_queues: set[Any]) -> bool:
    """In a partial view: the project names queues, and every one of them is visible."""
    named = project.get("queues") or []
    return bool(named) and all(q in visible_queues for q in named)


def visible_projects(snapshot: dict[str, Any] | None, scope: Scope) -> set[str]:
    """Names of the projects of ``snapshot`` that ``scope`` sees (as ``filter_floor`` keeps them)."""
    view = filter_floor(snapshot, scope) if snapshot is not None else None
    return {p.get("project") for p in (view or {}).get("projects") or []}


def agent_visible(agent: dict[str, Any], scope: Scope) -> bool:
    if not _in(scope.teams, agent.get("team")):
        return False
    return scope.queues is None or _meets(scope.queues, agent.get("queues"))


def alert_visible(alert: dict[str, Any], scope: Scope, agents: AgentLookup | None = None,
                  floors: FloorLookup | None = None) -> bool:
    where = alert.get("scope") or {}
    site = where.get("site", "")
    if not scope.allows_site(site):
        return False
    if not scope.partial:
        return True
    project = where.get("campaign")
    if project and floors is not None:
        return project in visible_projects(floors(site), scope)
    labels = alert.get("labels") or {}
    agent = agents(site, where["agent"]) if agents is not None and where.get("agent") else None
    if scope.queues is not None:
        queue = where.get("queue") or labels.get("queue")
        if queue:
            ok = queue in scope.queues
        else:
            ok = agent is not None and _meets(scope.queues, agent.get("queues"))
        if not ok:
            return False
    if scope.teams is not None:
        team = where.get("team") or labels.get("team") or (agent or {}).get("team")
        if team not in scope.teams:
            return False
    return True


def _in(allowed: frozenset[str] | None, value: Any) -> bool:
    return allowed is None or value in allowed


def _meets(allowed: frozenset[str], values: Iterable[str] | None) -> bool:
    return any(v in allowed for v in values or ())


def _totals(queues: list[dict[str, Any]], teams: list[dict[str, Any]],
            agents: list[dict[str, Any]]) -> dict[str, Any]:
    totals: dict[str, Any] = {k: sum(q.get(k) or 0 for q in queues) for k in _SUMS}
    waits = [q["longest_wait_s"] for q in queues if q.get("longest_wait_s") is not None]
    totals["longest_wait_s"] = max(waits) if waits else None
    offered = totals["offered"]
    totals["abandon_rate"] = totals["abandoned"] / offered if offered else None
    for key in _COPY_ONE_QUEUE:
        totals[key] = queues[0].get(key) if len(queues) == 1 else None
    totals["occupancy"] = teams[0].get("occupancy") if len(teams) == 1 else None
    totals["agents"] = dict(Counter(a.get("state", "unknown") for a in agents))
    return totals
