"""Floorwatch's Grafana dashboards, as code: ``python deploy/grafana/build_dashboards.py`` writes
``deploy/grafana/dashboards/*.json`` (Grafana provisions them; ``tests/deploy`` checks that the
files are what this script writes, and sends every expression to a real Prometheus).

Plain dictionaries in Grafana's dashboard JSON model; one function per dashboard. Metric names
and what they mean: docs/metrics.md ("Prometheus"). Every panel reads the data source
provisioned with uid ``floorwatch-prometheus``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards"
DS = {"type": "prometheus", "uid": "floorwatch-prometheus"}
SITE = 'site=~"$site"'
SQ = 'site=~"$site", queue=~"$queue"'
ST = 'site=~"$site", team=~"$team"'
SP = 'site=~"$site", project=~"$project"'

Panel = dict[str, Any]


# -- building blocks ---------------------------------------------------------------------------
def target(expr: str, legend: str = "", *, instant: bool = False, ref: str = "A") -> dict[str, Any]:
    t: dict[str, Any] = {"refId": ref, "datasource": DS, "expr": expr, "legendFormat": legend or "__auto"}
    if instant:
        t.update(instant=True, range=False, format="table")
    return t


def series(
    title: str,
    *targets: dict[str, Any],
    unit: str = "short",
    stack: bool = False,
    desc: str = "",
    max_: float | None = None,
) -> Panel:
    defaults: dict[str, Any] = {
        "unit": unit,
        "custom": {"fillOpacity": 20 if stack else 0, "stacking": {"mode": "normal" if stack else "none"}},
    }
    if max_ is not None:
        defaults.update(min=0, max=max_)
    return {
        "type": "timeseries",
        "title": title,
        "description": desc,
        "datasource": DS,
        "targets": _refs(targets),
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def stat(
    title: str,
    expr: str,
    *,
    unit: str = "short",
    desc: str = "",
    thresholds: list[tuple[float | None, str]] | None = None,
) -> Panel:
    steps = [{"value": v, "color": c} for v, c in (thresholds or [(None, "text")])]
    return {
        "type": "stat",
        "title": title,
        "description": desc,
        "datasource": DS,
        "targets": [target(expr)],
        "fieldConfig": {
            "defaults": {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps}},
            "overrides": [],
        },
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "area",
            "textMode": "auto",
        },
    }


def table(title: str, *targets: dict[str, Any], desc: str = "") -> Panel:
    return {
        "type": "table",
        "title": title,
        "description": desc,
        "datasource": DS,
        "targets": _refs(targets),
        "fieldConfig": {"defaults": {}, "overrides": []},
        "transformations": [
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": {"Time": True}}},
        ],
    }


def _refs(targets: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    return [{**t, "refId": chr(ord("A") + i)} for i, t in enumerate(targets)]


def variable(name: str, query: str, label: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "definition": query,
        "query": query,  # the classic string form, which every Grafana since 7 reads
        "refresh": 2,
        "sort": 1,
        "multi": True,
        "includeAll": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
    }


SITE_VAR = variable("site", "label_values(floorwatch_site_logged_in_agents, site)", "Site")
QUEUE_VAR = variable("queue", 'label_values(floorwatch_queue_calls_waiting{site=~"$site"}, queue)', "Queue")
TEAM_VAR = variable("team", 'label_values(floorwatch_team_logged_in_agents{site=~"$site"}, team)', "Team")
PROJECT_VAR = variable(
    "project", 'label_values(floorwatch_project_target_successes{site=~"$site"}, project)', "Project"
)

# Floorwatch's own alerts on the time series: a region while an alert of a rule fires.
ALERT_ANNOTATION = {
    "name": "Floorwatch alerts",
    "datasource": DS,
    "enable": True,
    "iconColor": "red",
    "expr": 'sum by (site, rule, severity) (floorwatch_alerts_active{state="firing", site=~"$site"})',
    "step": "15s",
    "titleFormat": "{{rule}} firing",
    "textFormat": "{{severity}} at {{site}}",
    "tagKeys": "rule,severity,site",
    "useValueForTime": False,
}


def dashboard(
    uid: str, title: str, panels: list[Panel], variables: list[dict[str, Any]], desc: str
) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "description": desc,
        "tags": ["floorwatch"],
        "editable": False,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "10s",
        "timezone": "browser",
        "time": {"from": "now-3h", "to": "now"},
        "graphTooltip": 1,
        "templating": {"list": variables},
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                },
                ALERT_ANNOTATION,
            ]
        },
        "links": [{"type": "dashboards", "tags": ["floorwatch"], "asDropdown": True, "title": "Floorwatch"}],
        "panels": _layout(panels),
    }


def _layout(panels: list[Panel]) -> list[Panel]:
    """Left to right, top to bottom: stats 4 wide, tables full width, other panels half width."""
    x = y = row_h = 0
    out = []
    for n, p in enumerate(panels, start=1):
        w, h = {"stat": (4, 4), "table": (24, 8)}.get(p["type"], (12, 8))
        if x + w > 24:
            x, y, row_h = 0, y + row_h, 0
        out.append({"id": n, "gridPos": {"x": x, "y": y, "w": w, "h": h}, **p})
        x, row_h = x + w, max(row_h, h)
    return out


# -- the dashboards ----------------------------------------------------------------------------
def floor_overview() -> dict[str, Any]:
    rag = [(None, "red"), (0.7, "orange"), (0.8, "green")]
    panels = [
        stat("Calls waiting", f"sum(floorwatch_site_calls_waiting{{{SITE}}})"),
        stat("Longest wait", f"max(floorwatch_site_longest_wait_seconds{{{SITE}}})", unit="s"),
        stat(
            "Service level",
            f"min(floorwatch_site_service_level_ratio{{{SITE}}})",
            unit="percentunit",
            thresholds=rag,
            desc="Answered within the threshold / (answered + abandoned - short abandons), "
            "over the sliding window",
        ),
        stat("Abandon rate", f"max(floorwatch_site_abandon_ratio{{{SITE}}})", unit="percentunit"),
        stat("Occupancy", f"avg(floorwatch_site_occupancy_ratio{{{SITE}}})", unit="percentunit"),
        stat("Alerts firing", f'sum(floorwatch_alerts_active{{state="firing", {SITE}}}) or vector(0)'),
        series(
            "Service level",
            target(f"floorwatch_site_service_level_ratio{{{SITE}}}", "{{site}}"),
            unit="percentunit",
            max_=1,
        ),
        series("Calls waiting", target(f"floorwatch_site_calls_waiting{{{SITE}}}", "{{site}}")),
        series(
            "Agents by state",
            target(f"sum by (state) (floorwatch_site_agents{{{SITE}}})", "{{state}}"),
            stack=True,
        ),
        series(
            "Occupancy",
            target(f"floorwatch_site_occupancy_ratio{{{SITE}}}", "{{site}}"),
            unit="percentunit",
            max_=1,
        ),
        series(
            "Calls per minute",
            target(f"sum(site_queue:floorwatch_queue_offered_calls:rate5m{{{SITE}}}) * 60", "offered"),
            target(f"sum(site_queue:floorwatch_queue_answered_calls:rate5m{{{SITE}}}) * 60", "answered"),
            target(f"sum(site_queue:floorwatch_queue_abandoned_calls:rate5m{{{SITE}}}) * 60", "abandoned"),
            desc="From counters: correct across restarts",
        ),
        series(
            "ASA and AHT",
            target(f"floorwatch_site_asa_seconds{{{SITE}}}", "ASA {{site}}"),
            target(f"floorwatch_site_aht_seconds{{{SITE}}}", "AHT {{site}}"),
            unit="s",
        ),
    ]
    return dashboard(
        "floorwatch-overview",
        "Floorwatch · Floor overview",
        panels,
        [SITE_VAR],
        "The wallboard's numbers over time, per site",
    )


def queues() -> dict[str, Any]:
    q = "{{site}} {{queue}}"
    panels = [
        series("Calls waiting", target(f"floorwatch_queue_calls_waiting{{{SQ}}}", q)),
        series("Longest wait", target(f"floorwatch_queue_longest_wait_seconds{{{SQ}}}", q), unit="s"),
        series(
            "Service level",
            target(f"floorwatch_queue_service_level_ratio{{{SQ}}}", q),
            unit="percentunit",
            max_=1,
        ),
        series("Abandon rate", target(f"floorwatch_queue_abandon_ratio{{{SQ}}}", q), unit="percentunit"),
        series("Average speed of answer", target(f"floorwatch_queue_asa_seconds{{{SQ}}}", q), unit="s"),
        series("Average handle time", target(f"floorwatch_queue_aht_seconds{{{SQ}}}", q), unit="s"),
        series(
            "Offered calls per minute",
            target(f"site_queue:floorwatch_queue_offered_calls:rate5m{{{SQ}}} * 60", q),
        ),
        series(
            "Agents serving the queue",
            target(f"sum by (state) (floorwatch_queue_agents{{{SQ}}})", "{{state}}"),
            stack=True,
        ),
        table(
            "Queues now (sliding window)",
            target(f"floorwatch_queue_window_offered_calls{{{SQ}}}", instant=True),
            target(f"floorwatch_queue_window_answered_calls{{{SQ}}}", instant=True),
            target(f"floorwatch_queue_window_abandoned_calls{{{SQ}}}", instant=True),
            target(f"floorwatch_queue_service_level_ratio{{{SQ}}}", instant=True),
        ),
    ]
    return dashboard(
        "floorwatch-queues",
        "Floorwatch · Queues",
        panels,
        [SITE_VAR, QUEUE_VAR],
        "Per queue: waiting, service level, abandons, speed of answer, handle time",
    )


def teams() -> dict[str, Any]:
    t = "{{site}} {{team}}"
    panels = [
        series(
            "Agents by state",
            target(f"sum by (state) (floorwatch_team_agents{{{ST}}})", "{{state}}"),
            stack=True,
        ),
        series(
            "Occupancy", target(f"floorwatch_team_occupancy_ratio{{{ST}}}", t), unit="percentunit", max_=1
        ),
        series(
            "Not ready by reason",
            target(f"sum by (reason) (floorwatch_team_not_ready_agents{{{ST}}})", "{{reason}}"),
            target(f'sum(floorwatch_team_agents{{state="not_ready", {ST}}})', "all not ready"),
        ),
        series("Agents logged in", target(f"floorwatch_team_logged_in_agents{{{ST}}}", t)),
        series("Average handle time", target(f"floorwatch_team_aht_seconds{{{ST}}}", t), unit="s"),
        table(
            "Agents (allow-listed: FLOORWATCH_METRICS_AGENTS)",
            target(f"floorwatch_agent_state{{{ST}}} == 1", instant=True),
            desc="Per-agent series exist only for the agents FLOORWATCH_METRICS_AGENTS lists (or * for all)",
        ),
    ]
    return dashboard(
        "floorwatch-teams",
        "Floorwatch · Teams and agents",
        panels,
        [SITE_VAR, TEAM_VAR],
        "Per team: agents by state, occupancy, not-ready reasons",
    )


def projects() -> dict[str, Any]:
    p = "{{site}} {{project}}"
    panels = [
        series(
            "Done against plan",
            target(f"floorwatch_project_done_successes{{{SP}}}", "done {{project}}"),
            target(f"floorwatch_project_planned_successes{{{SP}}}", "planned {{project}}"),
        ),
        series("Done / planned", target(f"floorwatch_project_plan_ratio{{{SP}}}", p), unit="percentunit"),
        series(
            "Projected finish / target",
            target(f"floorwatch_project_projected_finish_ratio{{{SP}}}", p),
            unit="percentunit",
        ),
        series(
            "Done / target", target(f"floorwatch_project_done_ratio{{{SP}}}", p), unit="percentunit", max_=1
        ),
        table(
            "Projects now",
            target(f"floorwatch_project_target_successes{{{SP}}}", instant=True),
            target(f"floorwatch_project_done_successes{{{SP}}}", instant=True),
            target(f"floorwatch_project_planned_successes{{{SP}}}", instant=True),
            target(f"floorwatch_project_status{{{SP}}} == 1", instant=True),
        ),
    ]
    return dashboard(
        "floorwatch-projects",
        "Floorwatch · Projects against plan",
        panels,
        [SITE_VAR, PROJECT_VAR],
        "Successes against the plan curve, projected finish",
    )


def alerts() -> dict[str, Any]:
    panels = [
        series(
            "Alerts firing by rule",
            target(f'sum by (rule) (floorwatch_alerts_active{{state="firing", {SITE}}})', "{{rule}}"),
            stack=True,
        ),
        series(
            "Alerts by severity and state",
            target(
                f"sum by (severity, state) (floorwatch_alerts_active{{{SITE}}})", "{{severity}} {{state}}"
            ),
        ),
        series(
            "Transitions per minute",
            target("sum by (state) (rate(floorwatch_alerts_transitions_total[5m])) * 60", "{{state}}"),
        ),
        table("Active alerts now", target(f"floorwatch_alerts_active{{{SITE}}}", instant=True)),
    ]
    return dashboard(
        "floorwatch-alerts",
        "Floorwatch · Alerts",
        panels,
        [SITE_VAR],
        "Floorwatch's own alerts (rules file), by rule, severity and state",
    )


def pipeline() -> dict[str, Any]:
    panels = [
        series(
            "Ingest records per second",
            target("floorwatch_ingest_records_consumed:rate5m", "consumed"),
            target("sum(rate(floorwatch_ingest_records_accepted_total[5m]))", "accepted"),
            target("floorwatch_ingest_records_rejected:rate5m", "rejected (DLQ)"),
            target("sum(rate(floorwatch_ingest_duplicates_total[5m]))", "duplicates"),
        ),
        series(
            "Floor engine",
            target("floorwatch_alerts_events:rate5m", "events applied/s"),
            target("sum(rate(floorwatch_floor_snapshots_total[5m]))", "snapshots published/s"),
        ),
        series(
            "Engine lag behind event time",
            target("floorwatch_alerts_event_lag_seconds", "{{site}}"),
            unit="s",
        ),
        series(
            "Events waiting for the engine", target("sum(floorwatch_alerts_consumer_lag_records)", "events")
        ),
        series(
            "Floor age (since last publication)",
            target(f"time() - floorwatch_floor_published_timestamp_seconds{{{SITE}}}", "{{site}}"),
            unit="s",
        ),
        series(
            "Data freshness per source",
            target(f"site_source:floorwatch_source_silence_seconds{{{SITE}}}", "{{site}} {{source}}"),
            unit="s",
            desc="Seconds since the source's last event reached the floor engine",
        ),
        series("WebSocket clients", target("sum(floorwatch_ws_clients)", "clients")),
        series(
            "WebSocket messages per second",
            target("sum by (type) (rate(floorwatch_ws_messages_sent_total[5m]))", "{{type}}"),
            target("sum by (reason) (rate(floorwatch_ws_dropped_total[5m]))", "dropped: {{reason}}"),
        ),
        series(
            "Services up",
            target('up{job=~"floorwatch.*"}', "{{job}}"),
            target("floorwatch_relay_target_up", "{{service}} (relayed)"),
            max_=1,
        ),
    ]
    return dashboard(
        "floorwatch-pipeline",
        "Floorwatch · Pipeline health",
        panels,
        [SITE_VAR],
        "Ingest, floor engine and API: throughput, dead letters, lag, freshness, clients",
    )


DASHBOARDS = {
    "floor-overview": floor_overview,
    "queues": queues,
    "teams-agents": teams,
    "projects": projects,
    "alerts": alerts,
    "pipeline": pipeline,
}


def render() -> dict[str, str]:
    """File name -> JSON text, exactly as written to ``dashboards/``."""
    return {
        f"{name}.json": json.dumps(build(), indent=2, ensure_ascii=False) + "\n"
        for name, build in DASHBOARDS.items()
    }


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for name, text in render().items():
        (OUT / name).write_text(text, encoding="utf-8")
        print(f"wrote {OUT / name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
