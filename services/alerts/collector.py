"""The live floor as Prometheus metrics, read at scrape time (a custom collector over
:class:`~services.alerts.export.FloorExport`).

Levels are gauges read from the last published ``FloorSnapshot`` of each site — the very figures
the wallboard shows — and counts that must survive restarts for ``rate()`` / ``increase()`` are
counters kept by the shell. Names, units and labels: ``docs/metrics.md`` ("Prometheus"). A figure
that is undefined in the snapshot (``null``, e.g. service level before any call) has no sample.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from services.alerts.export import OTHER, FloorExport

STATES = ("available", "not_ready", "talking", "hold", "wrap")
REASONS_PER_SITE = 20  # not-ready reasons with series of their own per site; the rest are "_other"

# snapshot field -> (metric suffix, help); shared by the site totals and the queues
_CALL_GAUGES: tuple[tuple[str, str, str], ...] = (
    ("calls_waiting", "calls_waiting", "Calls waiting now"),
    ("longest_wait_s", "longest_wait_seconds", "Wait of the oldest call waiting now (0 when none)"),
    (
        "service_level",
        "service_level_ratio",
        "Service level over the window (answered within the "
        "threshold / (answered + abandoned - short abandons))",
    ),
    ("abandon_rate", "abandon_ratio", "Abandon rate over the window (short abandons excluded)"),
    ("asa_s", "asa_seconds", "Average speed of answer over the window"),
    ("aht_s", "aht_seconds", "Average handle time (talk + hold + wrap-up) over the window"),
    ("talk_s", "talk_seconds", "Average talk time of handled calls over the window"),
    ("hold_s", "hold_seconds", "Average hold time of handled calls over the window"),
    ("wrap_s", "wrap_seconds", "Average wrap-up time of handled calls over the window"),
    ("offered", "window_offered_calls", "Calls offered in the window"),
    ("answered", "window_answered_calls", "Calls answered in the window"),
    ("abandoned", "window_abandoned_calls", "Calls abandoned in the window (short abandons included)"),
    ("short_abandoned", "window_short_abandoned_calls", "Calls abandoned within the short-abandon time"),
    ("answered_within_sl", "window_answered_within_sl_calls", "Calls answered within the SL threshold"),
    ("handled", "window_handled_calls", "Calls whose wrap-up completed in the window"),
    ("logged_in", "logged_in_agents", "Agents logged in (for a queue: serving it)"),
)
_TEAM_GAUGES: tuple[tuple[str, str, str], ...] = (
    ("logged_in", "logged_in_agents", "Agents of the team logged in"),
    ("occupancy", "occupancy_ratio", "Busy / (busy + available) agent time over the window"),
    ("aht_s", "aht_seconds", "Average handle time of the team's calls over the window"),
    ("talk_s", "talk_seconds", "Average talk time of the team's calls over the window"),
    ("hold_s", "hold_seconds", "Average hold time of the team's calls over the window"),
    ("wrap_s", "wrap_seconds", "Average wrap-up time of the team's calls over the window"),
)
_PROJECT_GAUGES: tuple[tuple[str, str, str], ...] = (
    ("target", "target_successes", "The project's target for its day"),
    ("done", "done_successes", "Successes so far on the project's day"),
    ("planned", "planned_successes", "Successes the plan expects by now"),
    ("attempts", "attempts", "Wrap-ups with a verdict so far on the project's day"),
    ("done_fraction", "done_ratio", "Done / target"),
    ("planned_fraction", "planned_ratio", "The plan curve's cumulative fraction now"),
    ("vs_plan", "plan_ratio", "Done / planned by now (1 = on plan)"),
    ("projected_total", "projected_successes", "Successes by the window's end at today's rate"),
)
PROJECT_STATUSES = ("not_started", "ahead", "behind", "met", "missed")


def _gauge(name: str, doc: str, labels: Sequence[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class FloorCollector(Collector):
    def __init__(self, export: FloorExport) -> None:
        self._export = export

    def collect(self) -> Iterator[Metric]:
        x = self._export
        dropped = Counter[str]()
        # the sites the export keeps (the first max_values seen, export.py); the others' floors
        # are left out of the scrape and counted, as queues and teams past the limit are
        kept = set(x._sites)
        every = sorted(dict(x.floors).items())
        floors = [(site, snap) for site, snap in every if site in kept]
        dropped["site"] += len(every) - len(floors)
        published = dict(x.published)
        yield from self._floor_info(floors, published)
        yield from self._totals(floors)
        yield from self._queues(floors, dropped)
        yield from self._teams(floors, dropped)
        yield from self._agents(floors)
        yield from self._projects(floors)
        yield from self._counters(floors)
        yield from self._alerts()
        yield from self._sources()
        capped = _gauge(
            "floorwatch_metrics_dropped_names",
            "Names left out of the last scrape by the cardinality limits (per kind)",
            ["kind"],
        )
        for kind, n in sorted(dropped.items()):
            capped.add_metric([kind], n)
        yield capped
        over = CounterMetricFamily(
            "floorwatch_metrics_other_names",
            "Events whose site, queue or source was counted under _other by the cardinality limits",
        )
        over.add_metric([], x.overflowed)
        yield over

    def _floor_info(
        self, floors: list[tuple[str, Mapping[str, Any]]], published: dict[str, float]
    ) -> Iterator[Metric]:
        window = _gauge(
            "floorwatch_floor_window_seconds", "Length of the sliding window of the counts", ["site"]
        )
        sl = _gauge("floorwatch_floor_sl_threshold_seconds", "Service-level threshold", ["site"])
        as_of = _gauge(
            "floorwatch_floor_as_of_timestamp_seconds", "Event time of the last published snapshot", ["site"]
        )
        pub = _gauge(
            "floorwatch_floor_published_timestamp_seconds",
            "Wall time the last snapshot was published (at least every 5 s per site)",
            ["site"],
        )
        late = CounterMetricFamily(
            "floorwatch_floor_late_facts",
            "Facts older than the window when they arrived (out of the window, still in their day)",
            labels=["site"],
        )
        for site, snap in floors:
            if (n := _number(snap.get("late_facts"))) is not None:
                late.add_metric([site], n)
            window.add_metric([site], float(snap.get("window_s", 0)))
            sl.add_metric([site], float(snap.get("sl_threshold_s", 0)))
            as_of_s = _iso_epoch(snap.get("as_of"))
            if as_of_s is not None:
                as_of.add_metric([site], as_of_s)
            if site in published:
                pub.add_metric([site], published[site])
        yield from (window, sl, as_of, pub, late)

    def _totals(self, floors: list[tuple[str, Mapping[str, Any]]]) -> Iterator[Metric]:
        fams = [(f, _gauge(f"floorwatch_site_{n}", h, ["site"])) for f, n, h in _CALL_GAUGES]
        occ = _gauge(
            "floorwatch_site_occupancy_ratio",
            "Busy / (busy + available) agent time over the window",
            ["site"],
        )
        agents = _gauge("floorwatch_site_agents", "Agents by state now", ["site", "state"])
        for site, snap in floors:
            totals = snap.get("totals") or {}
            _fill(fams, totals, [site])
            if (v := _number(totals.get("occupancy"))) is not None:
                occ.add_metric([site], v)
            _states(agents, totals, [site])
        yield from (f for _, f in fams)
        yield from (occ, agents)

    def _queues(self, floors: list[tuple[str, Mapping[str, Any]]], dropped: Counter[str]) -> Iterator[Metric]:
        fams = [(f, _gauge(f"floorwatch_queue_{n}", h, ["site", "queue"])) for f, n, h in _CALL_GAUGES]
        agents = _gauge(
            "floorwatch_queue_agents", "Agents serving the queue, by state now", ["site", "queue", "state"]
        )
        for site, snap in floors:
            queues = list(snap.get("queues") or [])
            keep = queues[: self._export.limits.max_values]
            dropped["queue"] += len(queues) - len(keep)
            for q in keep:
                labels = [site, str(q["queue"])]
                _fill(fams, q, labels)
                _states(agents, q, labels)
        yield from (f for _, f in fams)
        yield agents

    def _teams(self, floors: list[tuple[str, Mapping[str, Any]]], dropped: Counter[str]) -> Iterator[Metric]:
        fams = [(f, _gauge(f"floorwatch_team_{n}", h, ["site", "team"])) for f, n, h in _TEAM_GAUGES]
        agents = _gauge(
            "floorwatch_team_agents", "Agents of the team by state now", ["site", "team", "state"]
        )
        reasons = _gauge(
            "floorwatch_team_not_ready_agents",
            "Agents of the team not ready now, by reason (none: no reason given)",
            ["site", "team", "reason"],
        )
        limit = self._export.limits.max_values
        for site, snap in floors:
            teams = list(snap.get("teams") or [])
            keep = teams[:limit]
            dropped["team"] += len(teams) - len(keep)
            kept = {str(t["team"]) for t in keep}
            for t in keep:
                labels = [site, str(t["team"])]
                _fill(fams, t, labels)
                _states(agents, t, labels)
            for (team, reason), n in sorted(_not_ready(snap.get("agents") or [], kept).items()):
                reasons.add_metric([site, team, reason], n)
        yield from (f for _, f in fams)
        yield from (agents, reasons)

    def _agents(self, floors: list[tuple[str, Mapping[str, Any]]]) -> Iterator[Metric]:
        limits = self._export.limits
        state = _gauge(
            "floorwatch_agent_state",
            "1 for the agent's current state (allow-listed agents only)",
            ["site", "team", "agent", "state"],
        )
        since = _gauge(
            "floorwatch_agent_state_started_timestamp_seconds",
            "Event time the agent's current state began (allow-listed agents only)",
            ["site", "team", "agent"],
        )
        if limits.all_agents or limits.agents:
            for site, snap in floors:
                for a in snap.get("agents") or []:
                    agent = str(a["agent"])
                    if not limits.agent_allowed(agent):
                        continue
                    team = str(a.get("team") or "")
                    state.add_metric([site, team, agent, str(a["state"])], 1.0)
                    started = _iso_epoch(a.get("since"))
                    if started is not None:
                        since.add_metric([site, team, agent], started)
        yield from (state, since)

    def _projects(self, floors: list[tuple[str, Mapping[str, Any]]]) -> Iterator[Metric]:
        fams = [(f, _gauge(f"floorwatch_project_{n}", h, ["site", "project"])) for f, n, h in _PROJECT_GAUGES]
        finish = _gauge(
            "floorwatch_project_projected_finish_ratio",
            "Projected successes by the window's end / target (1 = the target is met on time)",
            ["site", "project"],
        )
        status = _gauge(
            "floorwatch_project_status", "1 for the project's status now", ["site", "project", "status"]
        )
        for site, snap in floors:
            for p in snap.get("projects") or []:
                labels = [site, str(p["project"])]
                _fill(fams, p, labels)
                total, target = _number(p.get("projected_total")), _number(p.get("target"))
                if total is not None and target:
                    finish.add_metric(labels, total / target)
                status.add_metric([*labels, str(p.get("status"))], 1.0)
        yield from (f for _, f in fams)
        yield from (finish, status)

    def _counters(self, floors: list[tuple[str, Mapping[str, Any]]]) -> Iterator[Metric]:
        """Counts since this process started; 0 for queues on the floor not counted yet, so that
        ``rate()`` and ``increase()`` see the series from its start."""
        fams = {
            kind: CounterMetricFamily(f"floorwatch_queue_{kind}_calls", doc, labels=["site", "queue"])
            for kind, doc in (
                ("offered", "call.queued events applied to the floor (a call entering a queue)"),
                ("answered", "call.answered events applied to the floor"),
                ("abandoned", "call.abandoned events applied to the floor"),
            )
        }
        counts = dict(self._export.calls)
        queues = self._export._queues
        for site, snap in floors:
            kept = set(queues.get(site, ()))  # the queues counted under their own name (export.py)
            for q in snap.get("queues") or []:
                if str(q["queue"]) in kept:
                    for kind in fams:
                        counts.setdefault((site, str(q["queue"]), kind), 0)
        for (site, queue, kind), n in sorted(counts.items()):
            fams[kind].add_metric([site, queue], n)
        yield from fams.values()

    def _alerts(self) -> Iterator[Metric]:
        active = _gauge(
            "floorwatch_alerts_active",
            "Floorwatch alerts active now, by rule, severity and state (pending, firing)",
            ["site", "rule", "severity", "state"],
        )
        for a in self._export.alerts:
            active.add_metric([a.site, a.rule, a.severity, a.state], a.count)
        yield active

    def _sources(self) -> Iterator[Metric]:
        events = CounterMetricFamily(
            "floorwatch_source_events", "Events applied to the floor, by source", labels=["site", "source"]
        )
        newest = _gauge(
            "floorwatch_source_last_event_timestamp_seconds",
            "Newest event time seen from the source",
            ["site", "source"],
        )
        received = _gauge(
            "floorwatch_source_last_received_timestamp_seconds",
            "Wall time the source's last event was applied",
            ["site", "source"],
        )
        for (site, source), seen in sorted(list(self._export.sources.items())):
            events.add_metric([site, source], seen.events)
            newest.add_metric([site, source], seen.newest_event)
            received.add_metric([site, source], seen.received)
        yield from (events, newest, received)


def _fill(fams: list[tuple[str, GaugeMetricFamily]], row: Mapping[str, Any], labels: list[str]) -> None:
    for field, fam in fams:
        v = _number(row.get(field))
        if v is not None:
            fam.add_metric(labels, v)


def _states(fam: GaugeMetricFamily, row: Mapping[str, Any], labels: list[str]) -> None:
    counts = row.get("agents") or {}
    for s in STATES:
        fam.add_metric([*labels, s], float(counts.get(s, 0)))


def _not_ready(agents: Sequence[Mapping[str, Any]], teams: set[str]) -> Counter[tuple[str, str]]:
    """(team, reason) -> agents not ready; reasons beyond the site's most common
    ``REASONS_PER_SITE`` are merged into ``_other``, agents of teams not exported are left out."""
    raw = Counter[tuple[str, str]]()
    for a in agents:
        if a.get("state") == "not_ready":
            team = str(a.get("team") or "")
            if team in teams:
                raw[(team, str(a.get("reason") or "none"))] += 1
    by_reason = Counter[str]()
    for (_, reason), n in raw.items():
        by_reason[reason] += n
    top = {r for r, _ in sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))[:REASONS_PER_SITE]}
    out = Counter[tuple[str, str]]()
    for (team, reason), n in raw.items():
        out[(team, reason if reason in top else OTHER)] += n
    return out


def _iso_epoch(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None
