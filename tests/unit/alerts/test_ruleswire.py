"""The rule set as published on the rules topic (docs/wire.md, *Rule set*)."""

from __future__ import annotations

import json

from services.alerts.core.rules.defaults import default_rules
from services.alerts.core.rules.reader import load_rules
from services.alerts.core.rules.wire import ruleset_doc

FILE = """
rules:
  - {name: backlog, metric: calls_waiting, op: ">", value: 10, clear: 5, for: 30s, severity: critical,
     match: {queue: sales}, labels: {team_lead: li}}
  - {name: sl, metric: service_level, op: "<", value: 0.8, min_sample: 20, keep_firing_for: 2m}
  - {name: lag, kind: progress_lag, behind: 0.2, match: {campaign: kd}}
  - {name: occ, kind: occupancy, scope: team, low: 0.4}
  - {name: away, kind: agent_state, not_ready: {lunch: 60m}, group: {by: team, min: 4}}
projects:
  - {name: kd, title: 宽带提速, target: 600, window: {start: "08:00", end: "20:00"}, queues: [sales]}
  - {name: xyk, target: 50, curve: [["12:00", 0.5], ["24:00", 1]], success: [sale], site: bj-01}
"""


def test_threshold_rule_has_entry_clear_and_a_description() -> None:
    doc = ruleset_doc(load_rules(FILE, name="r.yaml"))
    assert json.loads(json.dumps(doc)) == doc
    assert (doc["type"], doc["source"]) == ("ruleset", "r.yaml")
    backlog = doc["rules"][0]
    assert {k: backlog[k] for k in ("rule", "kind", "scope", "severity", "metric", "op", "entry", "clear",
                                    "for_s", "match", "labels", "projects")} == {
        "rule": "backlog", "kind": "threshold", "scope": "queue", "severity": "critical",
        "metric": "calls_waiting", "op": ">", "entry": 10, "clear": 5, "for_s": 30.0,
        "match": {"queue": "sales"}, "labels": {"team_lead": "li"}, "projects": []}
    assert backlog["keep_firing_for_s"] == 0
    assert backlog["description"] == "calls_waiting > 10 (clears at 5), for 30 s per queue"
    sl = doc["rules"][1]
    # clear defaults to entry
    assert (sl["entry"], sl["clear"], sl["min_sample"], sl["keep_firing_for_s"]) == (0.8, 0.8, 20, 120)
    assert sl["description"] == "service_level < 0.8, sample >= 20 per queue"


def test_kind_rules_carry_params_and_progress_rules_their_projects() -> None:
    doc = ruleset_doc(load_rules(FILE))
    lag, occ = doc["rules"][2], doc["rules"][3]
    assert (lag["kind"], lag["scope"], lag["entry"]) == ("progress_lag", "campaign", None)
    assert lag["projects"] == ["kd"]
    assert lag["params"]["behind"] == 0.2 and lag["description"].startswith("project behind its plan")
    assert (occ["params"]["low"], occ["params"]["high"]) == (0.4, 0.95)
    assert occ["group"] is None and "group" not in occ["params"]
    away = doc["rules"][4]
    assert {k: away["group"][k] for k in ("by", "min", "clear")} == {"by": "team", "min": 4, "clear": 3}
    assert [p["project"] for p in doc["projects"]] == ["kd", "xyk"]
    kd, xyk = doc["projects"]
    assert (kd["title"], kd["window"], kd["curve"], kd["success"], kd["queues"]) == (
        "宽带提速", {"start": "08:00", "end": "20:00"}, "linear", True, ["sales"])
    assert xyk["curve"] == [["12:00", 0.5], ["24:00", 1.0]]
    assert (xyk["success"], xyk["site"]) == (["sale"], "bj-01")


def test_version_is_a_content_hash() -> None:
    a, b = ruleset_doc(load_rules(FILE)), ruleset_doc(load_rules(FILE))
    assert a["version"] == b["version"]
    assert ruleset_doc(load_rules(FILE.replace("value: 10", "value: 11")))["version"] != a["version"]
    defaults = ruleset_doc(default_rules())
    assert defaults["source"] == "<defaults>" and len(defaults["rules"]) == len(default_rules().rules)
    assert defaults["inhibit"][0]["source"] == {"rule": "no-agents-available"}
