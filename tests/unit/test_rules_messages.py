# ruff: noqa: E501 - a table of messages, each on one line as the command prints it
"""Every message ``floorwatch rules check`` prints for a broken rules file, pinned with its line.

The table was collected from the hand-written reader before the rules file was described with
pydantic (``rules/reader/specs.py``); the schema-based reader must print the same messages on
the same lines. Wording changes are listed in ``docs/rules.md`` ("Changes to error messages").
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from floorwatch import cli
from services.alerts.core import RulesError, load_rules

# Changed on purpose (docs/rules.md, "Changes to error messages"): a threshold rule's known keys are
# listed in the order of the rule's fields (was: kind, escalate_after, group, name, metric, scope,
# op, value, clear, for, severity, match, when, min_sample, summary, resolved_summary,
# keep_firing_for, labels); a detector rule's ``match`` is named ``match``, not ``matchers``; a
# kind rule's name of the wrong type is reported once, not twice.
THRESHOLD_KEYS = "kind, name, metric, op, value, scope, clear, for, severity, match, when, min_sample, summary, labels, escalate_after, group, keep_firing_for, resolved_summary, message"

# (case, rules file text, every (line, message) the loader reports)
CASES: list[tuple[str, str, list[tuple[int, str]]]] = [
    (
        "yaml-syntax",
        "rules:\n  - name: [\n",
        [(3, "YAML syntax error: expected the node content, but found '<stream end>'")],
    ),
    (
        "yaml-indent",
        "rules:\n  - name: a\n   metric: b\n",
        [(3, "YAML syntax error: expected <block end>, but found '<block mapping start>'")],
    ),
    (
        "empty",
        "",
        [(1, "the file is empty; expected a mapping with a `rules:` list")],
    ),
    (
        "comment-only",
        "# nothing\n",
        [(1, "the file is empty; expected a mapping with a `rules:` list")],
    ),
    (
        "root-list",
        "- 1\n",
        [(1, "the rules file must be a mapping")],
    ),
    (
        "root-scalar",
        "hello\n",
        [(1, "the rules file must be a mapping")],
    ),
    (
        "rules-not-list",
        "rules: {a: 1}\n",
        [(1, "'rules' must be a list of rules")],
    ),
    (
        "rules-null",
        "rules:\n",
        [(1, "'rules' must be a list of rules")],
    ),
    (
        "missing-rules",
        "projects: []\n",
        [(1, "missing top-level key 'rules'")],
    ),
    (
        "unknown-top",
        "rules: []\nother: 1\nalso: 2\n",
        [
            (2, "unknown top-level key 'other'; known: rules, projects, inhibit, definitions, notifications"),
            (3, "unknown top-level key 'also'; known: rules, projects, inhibit, definitions, notifications"),
        ],
    ),
    (
        "top-dup",
        "rules: []\nrules: []\n",
        [(2, "the rules file: duplicate key 'rules' (first on line 1)")],
    ),
    (
        "top-nonstr-key",
        "rules: []\n1: x\n",
        [(2, "the rules file: keys must be strings")],
    ),
    (
        "projects-not-list",
        "rules: []\nprojects: {a: 1}\n",
        [(2, "'projects' must be a list")],
    ),
    (
        "inhibit-not-list",
        "rules: []\ninhibit: 5\n",
        [(2, "'inhibit' must be a list")],
    ),
    (
        "rule-not-mapping",
        "rules:\n  - just a string\n",
        [(2, "a rule must be a mapping")],
    ),
    (
        "rule-list",
        "rules:\n  - [1, 2]\n",
        [(2, "a rule must be a mapping")],
    ),
    (
        "rule-unknown-key",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, colour: red}\n",
        [
            (
                2,
                "unknown key 'colour'; known: " + THRESHOLD_KEYS,
            )
        ],
    ),
    (  # the code's field names are not YAML keys
        "rule-field-name-not-key",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, for_s: 30}\n",
        [(2, "unknown key 'for_s'; known: " + THRESHOLD_KEYS)],
    ),
    (
        "kind-field-name-not-key",
        "rules:\n  - {name: a, kind: aht_spike, matchers: {queue: x}}\n",
        [
            (
                2,
                "unknown key 'matchers' for kind aht_spike; known: kind, name, scope, severity, for, keep_firing_for, match, labels, escalate_after, group, recent, half_life, min_sample, baseline_min, rise, fall, z, direction, top",
            )
        ],
    ),
    (
        "rule-missing-all",
        "rules:\n  - summary: x\n    severity: info\n",
        [
            (2, "rule is missing required key 'metric'"),
            (2, "rule is missing required key 'name'"),
            (2, "rule is missing required key 'op'"),
            (2, "rule is missing required key 'value'"),
        ],
    ),
    (
        "rule-missing-name",
        "rules:\n  - metric: calls_waiting\n    op: '>'\n    value: 1\n",
        [(2, "rule is missing required key 'name'")],
    ),
    (
        "rule-dup-key",
        "rules:\n  - {name: a, name: b, metric: calls_waiting, op: '>', value: 1}\n",
        [(2, "a rule: duplicate key 'name' (first on line 2)")],
    ),
    (
        "rule-nonstr-key",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, 3: x}\n",
        [(2, "a rule: keys must be strings")],
    ),
    (
        "name-int",
        "rules:\n  - {name: 5, metric: calls_waiting, op: '>', value: 1}\n",
        [(2, "expected a string, got int 5")],
    ),
    (
        "name-list",
        "rules:\n  - {name: [a], metric: calls_waiting, op: '>', value: 1}\n",
        [(2, "expected a string, got a list")],
    ),
    (
        "name-null",
        "rules:\n  - {name: null, metric: calls_waiting, op: '>', value: 1}\n",
        [(2, "expected a string, got NoneType None")],
    ),
    (
        "name-bad",
        "rules:\n  - {name: 'bad name!', metric: calls_waiting, op: '>', value: 1}\n",
        [(2, "bad rule name 'bad name!': use letters, digits, - _ . : (max 64)")],
    ),
    (
        "name-sexagesimal",
        "rules:\n  - {name: 10:30, metric: calls_waiting, op: '>', value: 1}\n",
        [(2, "expected a string, got int 630")],
    ),
    (
        "metric-int",
        "rules:\n  - {name: a, metric: 3, op: '>', value: 1}\n",
        [(2, "expected a string, got int 3")],
    ),
    (
        "metric-unknown",
        "rules:\n  - {name: a, metric: nope, op: '>', value: 1}\n",
        [
            (
                2,
                "unknown metric 'nope'; known: abandon_rate, abandoned, agents_available, agents_hold, agents_not_ready, agents_talking, agents_wrap, aht_s, answered, asa_s, calls_waiting, handled, hold_s, logged_in, longest_wait_s, not_ready_s, occupancy, offered, service_level, short_abandoned, state_s, talking_s, wrap_s",
            )
        ],
    ),
    (
        "metric-scope",
        "rules:\n  - {name: a, metric: calls_waiting, scope: team, op: '>', value: 1}\n",
        [(2, "metric 'calls_waiting' is not available per team; it is per queue, site")],
    ),
    (
        "scope-unknown",
        "rules:\n  - {name: a, metric: calls_waiting, scope: planet, op: '>', value: 1}\n",
        [(2, "unknown scope 'planet'; known: queue, team, site, agent, campaign, source")],
    ),
    (
        "scope-int",
        "rules:\n  - {name: a, metric: calls_waiting, scope: 1, op: '>', value: 1}\n",
        [(2, "expected a string, got int 1")],
    ),
    (
        "op-bad",
        "rules:\n  - {name: a, metric: calls_waiting, op: '==', value: 1}\n",
        [(2, "bad op '=='; use one of > >= < <=")],
    ),
    (
        "op-mapping",
        "rules:\n  - {name: a, metric: calls_waiting, op: {x: 1}, value: 1}\n",
        [(2, "expected a string, got a mapping")],
    ),
    (
        "value-str",
        "rules:\n  - {name: a, metric: calls_waiting, op: '>', value: ten}\n",
        [(2, "expected a number, got str 'ten'")],
    ),
    (
        "value-bool",
        "rules:\n  - {name: a, metric: calls_waiting, op: '>', value: true}\n",
        [(2, "expected a number, got bool True")],
    ),
    (
        "value-null",
        "rules:\n  - {name: a, metric: calls_waiting, op: '>', value: null}\n",
        [(2, "expected a number, got NoneType None")],
    ),
    (
        "value-list",
        "rules:\n  - {name: a, metric: calls_waiting, op: '>', value: [1]}\n",
        [(2, "expected a number, got a list")],
    ),
    (
        "value-date",
        "rules:\n  - {name: a, metric: calls_waiting, op: '>', value: 2024-01-01}\n",
        [(2, "expected a number, got date datetime.date(2024, 1, 1)")],
    ),
    (
        "value-inf",
        "rules:\n  - {name: a, metric: calls_waiting, op: '>', value: .inf}\n",
        [(2, "value must be a finite number")],
    ),
    (
        "value-nan",
        "rules:\n  - {name: a, metric: calls_waiting, op: '>', value: .nan}\n",
        [(2, "value must be a finite number")],
    ),
    (
        "clear-side-gt",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, clear: 2}\n",
        [(2, "clear 2 is on the firing side of value 1 (for op > it must not be above it)")],
    ),
    (
        "clear-side-lt",
        "rules:\n  - {name: a, metric: calls_waiting, op: '<', value: 5, clear: 3}\n",
        [(2, "clear 3 is on the firing side of value 5 (for op < it must not be below it)")],
    ),
    (
        "clear-str",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, clear: x}\n",
        [(2, "expected a number, got str 'x'")],
    ),
    (
        "clear-inf",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, clear: -.inf}\n",
        [(2, "clear must be a finite number")],
    ),
    (
        "for-bad",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, for: 5x}\n",
        [(2, "bad duration '5x': use seconds or e.g. 30s, 5m, 1h, 1m30s")],
    ),
    (
        "for-negative",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, for: -3}\n",
        [(2, "duration must be >= 0, got -3")],
    ),
    (
        "for-negative-str",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, for: '-5s'}\n",
        [(2, "bad duration '-5s': use seconds or e.g. 30s, 5m, 1h, 1m30s")],
    ),
    (
        "for-list",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, for: [1]}\n",
        [(2, "expected a duration, got a list")],
    ),
    (
        "for-mapping",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, for: {a: 1}}\n",
        [(2, "expected a duration, got a mapping")],
    ),
    (
        "for-null",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, for: null}\n",
        [(2, "expected a duration, got NoneType")],
    ),
    (
        "for-bool",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, for: true}\n",
        [(2, "expected a duration, got True")],
    ),
    (
        "for-inf",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, for: .inf}\n",
        [(2, "duration must be >= 0, got inf")],
    ),
    (
        "for-empty-str",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, for: ''}\n",
        [(2, "bad duration '': use seconds or e.g. 30s, 5m, 1h, 1m30s")],
    ),
    (
        "keep-firing-bad",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, keep_firing_for: soon}\n",
        [(2, "bad duration 'soon': use seconds or e.g. 30s, 5m, 1h, 1m30s")],
    ),
    (
        "min-sample-negative",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, min_sample: -1}\n",
        [(2, "min_sample must be >= 0")],
    ),
    (
        "min-sample-str",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, min_sample: lots}\n",
        [(2, "expected a number, got str 'lots'")],
    ),
    (
        "min-sample-inf",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, min_sample: .inf}\n",
        [(2, "min_sample must be a finite number")],
    ),
    (
        "severity-bad",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, severity: fatal}\n",
        [(2, "unknown severity 'fatal'; known: info, warning, critical")],
    ),
    (
        "severity-int",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, severity: 3}\n",
        [(2, "expected a string, got int 3")],
    ),
    (
        "summary-placeholder",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, summary: '{bogus}'}\n",
        [
            (
                2,
                "bad summary template (KeyError('bogus')); placeholders: rule, metric, op, value, threshold, clear, severity, reason, site, queue, team, agent",
            )
        ],
    ),
    (
        "summary-format",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, summary: '{value:zz}'}\n",
        [
            (
                2,
                "bad summary template (ValueError(\"Unknown format code 'z' for object of type 'float'\")); placeholders: rule, metric, op, value, threshold, clear, severity, reason, site, queue, team, agent",
            )
        ],
    ),
    (
        "summary-int",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, summary: 5}\n",
        [(2, "a summary is a string or a mapping of languages {zh: ..., en: ...}, not int 5")],
    ),
    (
        "summary-unknown-language",
        "rules:\n  - name: t\n    metric: calls_waiting\n    op: '>'\n    value: 1\n"
        "    summary: {zh: '{queue} 排队', fr: '{queue} attente'}\n",
        [(6, "unknown language 'fr' in a summary; known: zh, en")],
    ),
    (
        "summary-language-not-text",
        "rules:\n  - name: t\n    metric: calls_waiting\n    op: '>'\n    value: 1\n    summary: {zh: [1]}\n",
        [(6, "the zh summary must be a string, not a list")],
    ),
    (
        "summary-language-bad-template",
        "rules:\n  - name: t\n    metric: calls_waiting\n    op: '>'\n    value: 1\n"
        "    summary: {en: '{queue} waiting', zh: '{队列} 排队'}\n",
        [
            (
                6,
                "bad summary (zh) template (KeyError('队列')); placeholders: rule, metric, op, value, threshold, "
                "clear, severity, reason, site, queue, team, agent",
            )
        ],
    ),
    (
        "message-unknown",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, message: calls}\n",
        [(2, "unknown message 'calls'; known: calls-waiting, longest-wait, service-level, abandon-rate, "
             "no-agents-available")],
    ),
    (
        "resolved-summary-bad",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, resolved_summary: '{nope}'}\n",
        [
            (
                2,
                "bad resolved_summary template (KeyError('nope')); placeholders: rule, metric, op, value, threshold, clear, severity, reason, site, queue, team, agent",
            )
        ],
    ),
    (
        "match-scope",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, match: {agent: x}}\n",
        [(2, "cannot match on 'agent' for scope queue; allowed: site, queue")],
    ),
    (
        "match-not-mapping",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, match: [queue]}\n",
        [(2, "match must be a mapping")],
    ),
    (
        "match-value-int",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, match: {queue: 5}}\n",
        [(2, "expected a string, got int 5")],
    ),
    (
        "match-dup",
        "rules:\n  - name: t\n    metric: calls_waiting\n    op: '>'\n    value: 1\n    match: {queue: a, queue: b}\n",
        [(6, "match: duplicate key 'queue' (first on line 6)")],
    ),
    (
        "labels-not-mapping",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, labels: x}\n",
        [(2, "labels must be a mapping")],
    ),
    (
        "labels-value-list",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, labels: {a: [1]}}\n",
        [(2, "expected a string, got a list")],
    ),
    (
        "labels-nonstr-key",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, labels: {1: a}}\n",
        [(2, "labels: keys must be strings")],
    ),
    (
        "when-not-list",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, when: {metric: x}}\n",
        [(2, "when must be a list of {metric, op, value} mappings")],
    ),
    (
        "when-item-scalar",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, when: [x]}\n",
        [(2, "when item must be a mapping")],
    ),
    (
        "when-item-missing",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, when: [{metric: x, op: '>'}]}\n",
        [(2, "when item is missing value")],
    ),
    (
        "when-item-missing-two",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, when: [{metric: logged_in}]}\n",
        [(2, "when item is missing op, value")],
    ),
    (
        "when-item-unknown-key",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, when: [{metric: logged_in, op: '>', value: 1, scope: x}]}\n",
        [(2, "unknown key 'scope' in when item; known: metric, op, value")],
    ),
    (
        "when-item-value-str",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, when: [{metric: logged_in, op: '>', value: x}]}\n",
        [(2, "expected a number, got str 'x'")],
    ),
    (
        "when-item-metric-int",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, when: [{metric: 1, op: '>', value: 1}]}\n",
        [(2, "expected a string, got int 1")],
    ),
    (
        "when-metric-unknown",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, when: [{metric: nope, op: '>', value: 1}]}\n",
        [
            (
                2,
                "unknown metric 'nope'; known: abandon_rate, abandoned, agents_available, agents_hold, agents_not_ready, agents_talking, agents_wrap, aht_s, answered, asa_s, calls_waiting, handled, hold_s, logged_in, longest_wait_s, not_ready_s, occupancy, offered, service_level, short_abandoned, state_s, talking_s, wrap_s",
            )
        ],
    ),
    (
        "when-metric-scope",
        "rules:\n  - {name: a, metric: occupancy, scope: team, op: '<', value: 1, when: [{metric: calls_waiting, op: '>', value: 1}]}\n",
        [(2, "metric 'calls_waiting' is not available per team; it is per queue, site")],
    ),
    (
        "when-op-bad",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, when: [{metric: logged_in, op: '=', value: 1}]}\n",
        [(2, "bad op '='; use one of > >= < <=")],
    ),
    (
        "when-item-dup",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, when: [{metric: logged_in, metric: x, op: '>', value: 1}]}\n",
        [(2, "when item: duplicate key 'metric' (first on line 2)")],
    ),
    (
        "escalate-bad",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, escalate_after: never}\n",
        [(2, "bad duration 'never': use seconds or e.g. 30s, 5m, 1h, 1m30s")],
    ),
    (
        "escalate-negative",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, escalate_after: -1}\n",
        [(2, "duration must be >= 0, got -1")],
    ),
    (
        "dup-rule-name",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1}\n  - {name: t, metric: calls_waiting, op: '>', value: 1}\n  - {name: t, metric: calls_waiting, op: '>', value: 1}\n",
        [
            (3, "duplicate rule name 't' (first defined on line 2)"),
            (4, "duplicate rule name 't' (first defined on line 2)"),
        ],
    ),
    (
        "dup-rule-name-invalid-second",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1}\n  - {name: t, metric: calls_waiting, op: '>', value: 1, colour: red}\n",
        [
            (3, "duplicate rule name 't' (first defined on line 2)"),
            (
                3,
                "unknown key 'colour'; known: " + THRESHOLD_KEYS,
            ),
        ],
    ),
    (
        "group-threshold-scope",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1, group: {by: team}}\n",
        [(2, "group works on rules of scope agent, not queue")],
    ),
    (
        "group-not-mapping",
        "rules:\n  - {name: a, metric: calls_waiting, scope: agent, op: '>', value: 1, group: team}\n",
        [
            (2, "group must be a mapping"),
            (2, "metric 'calls_waiting' is not available per agent; it is per queue, site"),
        ],
    ),
    (
        "group-unknown-key",
        "rules:\n  - {name: a, kind: agent_state, wrap: 2m, group: {by: team, size: 3}}\n",
        [(2, "unknown key 'size' in group; known: by, min, clear, summary, message")],
    ),
    (
        "group-by-bad",
        "rules:\n  - {name: a, kind: agent_state, wrap: 2m, group: {by: planet}}\n",
        [(2, "group by 'planet': use team or site")],
    ),
    (
        "group-min-small",
        "rules:\n  - {name: a, kind: agent_state, wrap: 2m, group: {min: 1}}\n",
        [(2, "group min must be a whole number >= 2")],
    ),
    (
        "group-min-float",
        "rules:\n  - {name: a, kind: agent_state, wrap: 2m, group: {min: 2.5}}\n",
        [(2, "group min must be a whole number >= 2")],
    ),
    (
        "group-min-str",
        "rules:\n  - {name: a, kind: agent_state, wrap: 2m, group: {min: many}}\n",
        [(2, "expected a number, got str 'many'")],
    ),
    (
        "group-clear-big",
        "rules:\n  - {name: a, kind: agent_state, wrap: 2m, group: {min: 3, clear: 5}}\n",
        [(2, "group clear must be a whole number from 1 to min")],
    ),
    (
        "group-summary-bad",
        "rules:\n  - {name: a, kind: agent_state, wrap: 2m, group: {summary: '{nope}'}}\n",
        [(2, "bad group summary (KeyError('nope')); placeholders: count, min, rule, site, team")],
    ),
    (
        "group-summary-int",
        "rules:\n  - {name: a, kind: agent_state, wrap: 2m, group: {summary: 3}}\n",
        [(2, "expected a string, got int 3")],
    ),
    (
        "group-two-problems",
        "rules:\n  - {name: a, kind: agent_state, wrap: 2m, group: {by: planet, min: 1}}\n",
        [(2, "group by 'planet': use team or site; group min must be a whole number >= 2")],
    ),
    (
        "group-kind-scope",
        "rules:\n  - {name: a, kind: occupancy, group: {by: team}}\n",
        [(2, "group works on rules of scope agent, not team")],
    ),
    (
        "group-dup-key",
        "rules:\n  - name: a\n    kind: agent_state\n    wrap: 2m\n    group: {min: 3, min: 4}\n",
        [(5, "group: duplicate key 'min' (first on line 5)")],
    ),
    (
        "kind-unknown",
        "rules:\n  - {name: a, kind: magic}\n",
        [
            (
                2,
                "unknown kind 'magic'; known: threshold, aht_spike, occupancy, seats, agent_efficiency, agent_state, progress_lag, freshness",
            )
        ],
    ),
    (
        "kind-int",
        "rules:\n  - {name: a, kind: 5}\n",
        [(2, "expected a string, got int 5")],
    ),
    (
        "kind-list",
        "rules:\n  - {name: a, kind: [aht_spike]}\n",
        [(2, "expected a string, got a list")],
    ),
    (
        "kind-threshold-explicit-bad",
        "rules:\n  - {name: a, kind: threshold, metric: nope, op: '>', value: 1}\n",
        [
            (
                2,
                "unknown metric 'nope'; known: abandon_rate, abandoned, agents_available, agents_hold, agents_not_ready, agents_talking, agents_wrap, aht_s, answered, asa_s, calls_waiting, handled, hold_s, logged_in, longest_wait_s, not_ready_s, occupancy, offered, service_level, short_abandoned, state_s, talking_s, wrap_s",
            )
        ],
    ),
    (
        "kind-unknown-key",
        "rules:\n  - {name: a, kind: aht_spike, colour: red}\n",
        [
            (
                2,
                "unknown key 'colour' for kind aht_spike; known: kind, name, scope, severity, for, keep_firing_for, match, labels, escalate_after, group, recent, half_life, min_sample, baseline_min, rise, fall, z, direction, top",
            )
        ],
    ),
    (
        "kind-missing-name",
        "rules:\n  - kind: aht_spike\n    rise: 0.5\n",
        [(2, "rule is missing required key 'name'")],
    ),
    (
        "kind-name-int",
        "rules:\n  - {name: 5, kind: aht_spike}\n",
        [(2, "expected a string, got int 5")],
    ),
    (
        "kind-name-bad",
        "rules:\n  - {name: 'a b', kind: aht_spike}\n",
        [(2, "bad rule name 'a b': use letters, digits, - _ . : (max 64)")],
    ),
    (
        "kind-scope",
        "rules:\n  - {name: a, kind: aht_spike, scope: agent}\n",
        [(2, "kind aht_spike works per queue, team, site, not 'agent'")],
    ),
    (
        "kind-scope-int",
        "rules:\n  - {name: a, kind: aht_spike, scope: 4}\n",
        [(2, "expected a string, got int 4")],
    ),
    (
        "kind-severity",
        "rules:\n  - {name: a, kind: aht_spike, severity: fatal}\n",
        [(2, "unknown severity 'fatal'; known: info, warning, critical")],
    ),
    (
        "kind-for-bad",
        "rules:\n  - {name: a, kind: aht_spike, for: soon}\n",
        [(2, "bad duration 'soon': use seconds or e.g. 30s, 5m, 1h, 1m30s")],
    ),
    (
        "kind-keep-firing-negative",
        "rules:\n  - {name: a, kind: aht_spike, keep_firing_for: -5}\n",
        [(2, "duration must be >= 0, got -5")],
    ),
    (
        "kind-match-scope",
        "rules:\n  - {name: a, kind: aht_spike, match: {agent: x}}\n",
        [(2, "cannot match on 'agent' for scope queue; allowed: site, queue")],
    ),
    (
        "kind-match-not-mapping",
        "rules:\n  - {name: a, kind: aht_spike, match: sales}\n",
        [(2, "match must be a mapping")],
    ),
    (
        "kind-labels-value",
        "rules:\n  - {name: a, kind: aht_spike, labels: {a: {b: c}}}\n",
        [(2, "expected a string, got a mapping")],
    ),
    (
        "kind-escalate-bad",
        "rules:\n  - {name: a, kind: aht_spike, escalate_after: x}\n",
        [(2, "bad duration 'x': use seconds or e.g. 30s, 5m, 1h, 1m30s")],
    ),
    (
        "aht-recent-bad",
        "rules:\n  - {name: a, kind: aht_spike, recent: soon}\n",
        [(2, "bad duration 'soon': use seconds or e.g. 30s, 5m, 1h, 1m30s")],
    ),
    (
        "aht-recent-zero",
        "rules:\n  - {name: a, kind: aht_spike, recent: 0}\n",
        [(2, "recent must be a finite number > 0")],
    ),
    (
        "aht-recent-minutes",
        "rules:\n  - {name: a, kind: aht_spike, recent: 90s}\n",
        [(2, "recent must be a whole number of minutes")],
    ),
    (
        "aht-rise-negative",
        "rules:\n  - {name: a, kind: aht_spike, rise: -0.1}\n",
        [(2, "rise must be a finite number > 0")],
    ),
    (
        "aht-rise-str",
        "rules:\n  - {name: a, kind: aht_spike, rise: lots}\n",
        [(2, "expected a number, got str 'lots'")],
    ),
    (
        "aht-fall-one",
        "rules:\n  - {name: a, kind: aht_spike, fall: 1}\n",
        [(2, "fall must be below 1 (a fraction of the baseline)")],
    ),
    (
        "aht-direction",
        "rules:\n  - {name: a, kind: aht_spike, direction: sideways}\n",
        [(2, "direction must be up, down or both, not 'sideways'")],
    ),
    (
        "aht-direction-int",
        "rules:\n  - {name: a, kind: aht_spike, direction: 1}\n",
        [(2, "expected a string, got int 1")],
    ),
    (
        "aht-top-str",
        "rules:\n  - {name: a, kind: aht_spike, top: x}\n",
        [(2, "expected a number, got str 'x'")],
    ),
    (
        "aht-z-inf",
        "rules:\n  - {name: a, kind: aht_spike, z: .inf}\n",
        [(2, "z must be a finite number > 0")],
    ),
    (
        "aht-half-life-list",
        "rules:\n  - {name: a, kind: aht_spike, half_life: [1]}\n",
        [(2, "expected a duration, got a list")],
    ),
    (
        "occ-low-high",
        "rules:\n  - {name: a, kind: occupancy, low: 0.9, high: 0.5}\n",
        [(2, "need 0 <= low < high <= 1, got low 0.9, high 0.5")],
    ),
    (
        "occ-margin-negative",
        "rules:\n  - {name: a, kind: occupancy, margin: -1}\n",
        [(2, "margin must be a finite number >= 0")],
    ),
    (
        "occ-min-sample-str",
        "rules:\n  - {name: a, kind: occupancy, min_sample: x}\n",
        [(2, "expected a number, got str 'x'")],
    ),
    (
        "seats-share",
        "rules:\n  - {name: a, kind: seats, min_ready_share: 2}\n",
        [(2, "min_ready_share must be within 0..1")],
    ),
    (
        "seats-planned-negative",
        "rules:\n  - {name: a, kind: seats, planned: {a: -1}}\n",
        [(2, "planned must be a finite number >= 0")],
    ),
    (
        "seats-planned-scalar-negative",
        "rules:\n  - {name: a, kind: seats, planned: -2}\n",
        [(2, "planned must be a finite number >= 0")],
    ),
    (
        "seats-planned-str",
        "rules:\n  - {name: a, kind: seats, planned: {a: x}}\n",
        [(2, "expected a number, got str 'x'")],
    ),
    (
        "seats-planned-list",
        "rules:\n  - {name: a, kind: seats, planned: [1, 2]}\n",
        [(2, "planned must be a mapping")],
    ),
    (
        "seats-planned-dup",
        "rules:\n  - name: a\n    kind: seats\n    planned: {a: 1, a: 2}\n",
        [(4, "planned: duplicate key 'a' (first on line 4)")],
    ),
    (
        "seats-tolerance",
        "rules:\n  - {name: a, kind: seats, tolerance: -1}\n",
        [(2, "tolerance must be a finite number >= 0")],
    ),
    (
        "seats-logged-in",
        "rules:\n  - {name: a, kind: seats, min_logged_in: -1}\n",
        [(2, "min_logged_in must be a finite number >= 0")],
    ),
    (
        "eff-metric",
        "rules:\n  - {name: a, kind: agent_efficiency, metrics: [speed]}\n",
        [(2, "unknown metric 'speed'; known: calls_per_hour, aht_s, not_ready_share, success_rate")],
    ),
    (
        "eff-metric-scalar",
        "rules:\n  - {name: a, kind: agent_efficiency, metrics: speed}\n",
        [(2, "unknown metric 'speed'; known: calls_per_hour, aht_s, not_ready_share, success_rate")],
    ),
    (
        "eff-metrics-mapping",
        "rules:\n  - {name: a, kind: agent_efficiency, metrics: {a: 1}}\n",
        [(2, "metrics must be a list of strings")],
    ),
    (
        "eff-metrics-item-int",
        "rules:\n  - {name: a, kind: agent_efficiency, metrics: [1]}\n",
        [(2, "expected a string, got int 1")],
    ),
    (
        "eff-peers",
        "rules:\n  - {name: a, kind: agent_efficiency, peers: queue}\n",
        [(2, "peers must be team or site, not 'queue'")],
    ),
    (
        "eff-direction",
        "rules:\n  - {name: a, kind: agent_efficiency, direction: above}\n",
        [(2, "direction must be below or both, not 'above'")],
    ),
    (
        "eff-window",
        "rules:\n  - {name: a, kind: agent_efficiency, window: 7m}\n",
        [(2, "window must be a multiple of 300 s")],
    ),
    (
        "eff-window-zero",
        "rules:\n  - {name: a, kind: agent_efficiency, window: 0}\n",
        [(2, "window must be a finite number > 0")],
    ),
    (
        "eff-min-ready",
        "rules:\n  - {name: a, kind: agent_efficiency, min_ready: x}\n",
        [(2, "bad duration 'x': use seconds or e.g. 30s, 5m, 1h, 1m30s")],
    ),
    (
        "eff-excused",
        "rules:\n  - {name: a, kind: agent_efficiency, excused: {a: 1}}\n",
        [(2, "excused must be a list of strings")],
    ),
    (
        "eff-z",
        "rules:\n  - {name: a, kind: agent_efficiency, z: 0}\n",
        [(2, "z must be a finite number > 0")],
    ),
    (
        "state-nothing",
        "rules:\n  - {name: a, kind: agent_state}\n",
        [(2, "agent_state needs not_ready limits and/or wrap")],
    ),
    (
        "state-not-ready-bad",
        "rules:\n  - {name: a, kind: agent_state, not_ready: {break: soon}}\n",
        [(2, "bad duration 'soon': use seconds or e.g. 30s, 5m, 1h, 1m30s")],
    ),
    (
        "state-not-ready-zero",
        "rules:\n  - {name: a, kind: agent_state, not_ready: {break: 0}}\n",
        [(2, "not_ready must be a finite number > 0")],
    ),
    (
        "state-not-ready-list",
        "rules:\n  - {name: a, kind: agent_state, not_ready: [1]}\n",
        [(2, "not_ready must be a mapping")],
    ),
    (
        "state-not-ready-scalar-bad",
        "rules:\n  - {name: a, kind: agent_state, not_ready: x}\n",
        [(2, "bad duration 'x': use seconds or e.g. 30s, 5m, 1h, 1m30s")],
    ),
    (
        "state-wrap-zero",
        "rules:\n  - {name: a, kind: agent_state, wrap: 0}\n",
        [(2, "wrap must be a finite number > 0")],
    ),
    (
        "state-wrap-null",
        "rules:\n  - {name: a, kind: agent_state, wrap: null}\n",
        [(2, "expected a duration, got NoneType")],
    ),
    (
        "lag-behind",
        "rules:\n  - {name: a, kind: progress_lag, behind: 1.5}\n",
        [(2, "behind is a fraction of the plan, below 1")],
    ),
    (
        "lag-behind-negative",
        "rules:\n  - {name: a, kind: progress_lag, behind: -1}\n",
        [(2, "behind must be a finite number >= 0")],
    ),
    (
        "lag-z",
        "rules:\n  - {name: a, kind: progress_lag, z: -1}\n",
        [(2, "z must be a finite number >= 0")],
    ),
    (
        "lag-min-elapsed",
        "rules:\n  - {name: a, kind: progress_lag, min_elapsed: x}\n",
        [(2, "bad duration 'x': use seconds or e.g. 30s, 5m, 1h, 1m30s")],
    ),
    (
        "fresh-silent",
        "rules:\n  - {name: a, kind: freshness, silent: 0}\n",
        [(2, "silent must be a finite number > 0")],
    ),
    (
        "fresh-max-lag",
        "rules:\n  - {name: a, kind: freshness, max_lag: 0}\n",
        [(2, "max_lag must be a finite number > 0")],
    ),
    (
        "fresh-require-open",
        "rules:\n  - {name: a, kind: freshness, require_open: maybe}\n",
        [(2, "expected true or false, got str 'maybe'")],
    ),
    (
        "fresh-require-open-int",
        "rules:\n  - {name: a, kind: freshness, require_open: 1}\n",
        [(2, "expected true or false, got int 1")],
    ),
    (
        "dup-kind-name",
        "rules:\n  - {name: a, kind: aht_spike}\n  - {name: a, kind: occupancy}\n",
        [(3, "duplicate rule name 'a' (first defined on line 2)")],
    ),
    (
        "dup-mixed-name",
        "rules:\n  - {name: t, metric: calls_waiting, op: '>', value: 1}\n  - {name: t, kind: freshness}\n",
        [(3, "duplicate rule name 't' (first defined on line 2)")],
    ),
    (
        "project-not-mapping",
        "rules: []\nprojects: [x]\n",
        [(2, "a project must be a mapping")],
    ),
    (
        "project-unknown-key",
        "rules: []\nprojects: [{name: p, target: 1, colour: red}]\n",
        [
            (
                2,
                "unknown key 'colour' in a project; known: name, title, target, window, tz, utc_offset, curve, success, campaigns, queues, site",
            )
        ],
    ),
    (
        "project-missing",
        "rules: []\nprojects:\n  - title: x\n",
        [(3, "project is missing required key 'name'"), (3, "project is missing required key 'target'")],
    ),
    (
        "project-name-int",
        "rules: []\nprojects: [{name: 5, target: 1}]\n",
        [(2, "expected a string, got int 5")],
    ),
    (
        "project-target-str",
        "rules: []\nprojects: [{name: p, target: many}]\n",
        [(2, "expected a number, got str 'many'")],
    ),
    (
        "project-target-zero",
        "rules: []\nprojects: [{name: p, target: 0}]\n",
        [(2, "target must be a number > 0")],
    ),
    (
        "project-title-int",
        "rules: []\nprojects: [{name: p, target: 1, title: 5}]\n",
        [(2, "expected a string, got int 5")],
    ),
    (
        "project-tz-bad",
        "rules: []\nprojects: [{name: p, target: 1, tz: Mars/Base}]\n",
        [(2, "unknown time zone 'Mars/Base' (use an IANA name, e.g. Asia/Shanghai)")],
    ),
    (
        "project-tz-int",
        "rules: []\nprojects: [{name: p, target: 1, tz: 8}]\n",
        [(2, "expected a string, got int 8")],
    ),
    (
        "project-site-list",
        "rules: []\nprojects: [{name: p, target: 1, site: [a]}]\n",
        [(2, "expected a string, got a list")],
    ),
    (
        "project-offset-bad",
        "rules: []\nprojects: [{name: p, target: 1, utc_offset: '+8'}]\n",
        [(2, "bad utc_offset '+8': use +HH:MM, e.g. +08:00")],
    ),
    (
        "project-offset-int",
        "rules: []\nprojects: [{name: p, target: 1, utc_offset: 8}]\n",
        [(2, "bad utc_offset '8': use +HH:MM, e.g. +08:00")],
    ),
    (
        "project-window-not-mapping",
        "rules: []\nprojects: [{name: p, target: 1, window: '08:00-20:00'}]\n",
        [(2, "window must be a mapping")],
    ),
    (
        "project-window-keys",
        "rules: []\nprojects: [{name: p, target: 1, window: {start: '08:00'}}]\n",
        [(2, "window needs exactly start and end (HH:MM)")],
    ),
    (
        "project-window-time-bad",
        "rules: []\nprojects: [{name: p, target: 1, window: {start: '8h', end: '20:00'}}]\n",
        [(2, "bad time of day '8h': use HH:MM, e.g. 08:30")],
    ),
    (
        "project-window-time-range",
        "rules: []\nprojects: [{name: p, target: 1, window: {start: '08:00', end: '25:00'}}]\n",
        [(2, "bad time of day '25:00': use HH:MM between 00:00 and 24:00")],
    ),
    (
        "project-window-time-list",
        "rules: []\nprojects: [{name: p, target: 1, window: {start: [8], end: '20:00'}}]\n",
        [(2, "expected a time of day HH:MM")],
    ),
    (
        "project-window-order",
        "rules: []\nprojects: [{name: p, target: 1, window: {start: '20:00', end: '08:00'}}]\n",
        [(2, "window must be start < end within one day (00:00-24:00)")],
    ),
    (
        "project-window-unquoted",
        "rules: []\nprojects: [{name: p, target: 1, window: {start: 20:00, end: 8:00}}]\n",
        [(2, "window must be start < end within one day (00:00-24:00)")],
    ),
    (
        "project-window-int",
        "rules: []\nprojects: [{name: p, target: 1, window: {start: 800, end: '20:00'}}]\n",
        [(2, "bad time of day '800': use HH:MM, e.g. 08:30")],
    ),
    (
        "project-curve-point",
        "rules: []\nprojects: [{name: p, target: 1, curve: [['12:00']]}]\n",
        [(2, 'a curve point is ["HH:MM", cumulative fraction]')],
    ),
    (
        "project-curve-point-time",
        "rules: []\nprojects: [{name: p, target: 1, curve: [['noon', 0.5]]}]\n",
        [(2, "bad time of day 'noon': use HH:MM, e.g. 08:30")],
    ),
    (
        "project-curve-point-frac",
        "rules: []\nprojects: [{name: p, target: 1, curve: [['12:00', half]]}]\n",
        [(2, "expected a number, got str 'half'")],
    ),
    (
        "project-curve-order",
        "rules: []\nprojects: [{name: p, target: 1, curve: [['12:00', 0.5], ['10:00', 1]]}]\n",
        [(2, "curve points must be in time order with non-decreasing fractions, ending > 0")],
    ),
    (
        "project-curve-scalar",
        "rules: []\nprojects: [{name: p, target: 1, curve: steep}]\n",
        [(2, "curve must be a mapping")],
    ),
    (
        "project-curve-mapping-other",
        "rules: []\nprojects: [{name: p, target: 1, curve: {daily: [1]}}]\n",
        [(2, 'curve is linear, {hourly: [weights]} or [["HH:MM", fraction], ...]')],
    ),
    (
        "project-hourly-bad",
        "rules: []\nprojects: [{name: p, target: 1, curve: {hourly: [1, -1]}}]\n",
        [(2, "hourly must be a list of weights >= 0, one per hour from the window start")],
    ),
    (
        "project-hourly-empty",
        "rules: []\nprojects: [{name: p, target: 1, curve: {hourly: []}}]\n",
        [(2, "hourly must be a list of weights >= 0, one per hour from the window start")],
    ),
    (
        "project-hourly-scalar",  # the hand-written reader crashed on this one
        "rules: []\nprojects: [{name: p, target: 1, curve: {hourly: 3}}]\n",
        [(2, "hourly must be a list of weights >= 0, one per hour from the window start")],
    ),
    (
        "project-success-bad",
        "rules: []\nprojects: [{name: p, target: 1, success: {a: 1}}]\n",
        [(2, "success must be a list of strings")],
    ),
    (
        "project-success-false",
        "rules: []\nprojects: [{name: p, target: 1, success: false}]\n",
        [(2, "expected a string, got bool False")],
    ),
    (
        "project-success-item-int",
        "rules: []\nprojects: [{name: p, target: 1, success: [1]}]\n",
        [(2, "expected a string, got int 1")],
    ),
    (
        "project-campaigns-bad",
        "rules: []\nprojects: [{name: p, target: 1, campaigns: {a: 1}}]\n",
        [(2, "campaigns must be a list of strings")],
    ),
    (
        "project-queues-item",
        "rules: []\nprojects: [{name: p, target: 1, queues: [[a]]}]\n",
        [(2, "expected a string, got a list")],
    ),
    (
        "project-dup",
        "rules: []\nprojects:\n  - {name: p, target: 1}\n  - {name: p, target: 2}\n",
        [(4, "duplicate project name 'p' (first on line 3)")],
    ),
    (
        "project-dup-key",
        "rules: []\nprojects:\n  - {name: p, target: 1, target: 2}\n",
        [(3, "a project: duplicate key 'target' (first on line 3)")],
    ),
    (
        "inhibit-not-mapping",
        "rules: []\ninhibit: [x]\n",
        [(2, "an inhibit rule must be a mapping")],
    ),
    (
        "inhibit-unknown-key",
        "rules: []\ninhibit: [{source: {rule: a}, target: {rule: b}, when: x}]\n",
        [(2, "unknown key 'when' in an inhibit rule; known: source, target, equal")],
    ),
    (
        "inhibit-missing",
        "rules: []\ninhibit:\n  - equal: [site]\n",
        [
            (3, "inhibit rule is missing 'source' (label matchers, e.g. {rule: no-agents-available})"),
            (3, "inhibit rule is missing 'target' (label matchers, e.g. {rule: no-agents-available})"),
        ],
    ),
    (
        "inhibit-source-scalar",
        "rules: []\ninhibit: [{source: a, target: {rule: b}}]\n",
        [(2, "source must be a mapping")],
    ),
    (
        "inhibit-target-value",
        "rules: []\ninhibit: [{source: {rule: a}, target: {rule: [b]}}]\n",
        [(2, "expected a string, got a list")],
    ),
    (
        "inhibit-equal-mapping",
        "rules: []\ninhibit: [{source: {rule: a}, target: {rule: b}, equal: {a: 1}}]\n",
        [(2, "equal must be a list of strings")],
    ),
    (
        "inhibit-equal-item",
        "rules: []\ninhibit: [{source: {rule: a}, target: {rule: b}, equal: [1]}]\n",
        [(2, "expected a string, got int 1")],
    ),
    (
        "many",
        'rules:\n  - name: a\n    metric: calls_waiting\n    op: ">"\n    value: 10\n    clear: 12\n    for: 5x\n    colour: red\n  - name: a\n    metric: nope\n    op: "=="\n    value: ten\n  - name: b\n    metric: calls_waiting\n    scope: team\n    op: ">"\n    value: 1\n    severity: fatal\n    match: {agent: x}\n  - metric: calls_waiting\n    op: ">"\n    value: 1\n  - just a string\n  - name: c\n    kind: aht_spike\n    recent: 0\n    direction: up-ish\n  - {name: d, kind: nope}\nprojects:\n  - {name: p, target: -1, tz: Nowhere/Land}\n  - {name: p, target: 1}\ninhibit:\n  - {source: x}\nother: 1\n',
        [
            (6, "clear 12 is on the firing side of value 10 (for op > it must not be above it)"),
            (7, "bad duration '5x': use seconds or e.g. 30s, 5m, 1h, 1m30s"),
            (
                8,
                "unknown key 'colour'; known: " + THRESHOLD_KEYS,
            ),
            (9, "duplicate rule name 'a' (first defined on line 2)"),
            (
                10,
                "unknown metric 'nope'; known: abandon_rate, abandoned, agents_available, agents_hold, agents_not_ready, agents_talking, agents_wrap, aht_s, answered, asa_s, calls_waiting, handled, hold_s, logged_in, longest_wait_s, not_ready_s, occupancy, offered, service_level, short_abandoned, state_s, talking_s, wrap_s",
            ),
            (11, "bad op '=='; use one of > >= < <="),
            (12, "expected a number, got str 'ten'"),
            (14, "metric 'calls_waiting' is not available per team; it is per queue, site"),
            (18, "unknown severity 'fatal'; known: info, warning, critical"),
            (19, "cannot match on 'agent' for scope team; allowed: site, team"),
            (20, "rule is missing required key 'name'"),
            (23, "a rule must be a mapping"),
            (26, "recent must be a finite number > 0"),
            (27, "direction must be up, down or both, not 'up-ish'"),
            (
                28,
                "unknown kind 'nope'; known: threshold, aht_spike, occupancy, seats, agent_efficiency, agent_state, progress_lag, freshness",
            ),
            (30, "target must be a number > 0"),
            (30, "unknown time zone 'Nowhere/Land' (use an IANA name, e.g. Asia/Shanghai)"),
            (33, "inhibit rule is missing 'target' (label matchers, e.g. {rule: no-agents-available})"),
            (33, "source must be a mapping"),
            (34, "unknown top-level key 'other'; known: rules, projects, inhibit, definitions, notifications"),
        ],
    ),
]


# Refused with a reason where the hand-written reader crashed or said nothing.
HOSTILE: list[tuple[str, str, list[tuple[int, str]]]] = [
    ("recursive-alias", "rules: &a [*a]\n", [(1, "a recursive alias (*name inside &name) is not supported")]),
    (
        "bad-tagged-float",
        "rules:\n  - {name: a, metric: calls_waiting, op: '>', value: !!float abc}\n",
        [
            (
                2,
                "YAML error: cannot read 'abc' as tag:yaml.org,2002:float: could not convert string to float: 'abc'",
            )
        ],
    ),
    (
        "deep",
        "rules: " + "[" * 3000 + "]" * 3000 + "\n",
        [(1, "YAML error: nested more than 64 levels deep")],
    ),
    (  # the hand-written reader cut 2.5 to 2 without a word
        "aht-top-fraction",
        "rules:\n  - {name: a, kind: aht_spike, top: 2.5}\n",
        [(2, "top must be a whole number >= 0")],
    ),
    (
        "merge-scalar",
        "rules:\n  - {<<: 5, name: d}\n",
        [(2, "YAML error: << merges a mapping or a list of mappings")],
    ),
    (
        "merge-unknown-key",
        "rules:\n  - &b {metric: calls_waiting, op: '>', value: 1, name: a}\n  - {<<: [*b], name: c, colour: x}\n",
        [(3, "unknown key 'colour'; known: " + THRESHOLD_KEYS)],
    ),
]


@pytest.mark.parametrize(("case", "text", "expected"), HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_yaml_is_refused(case: str, text: str, expected: list[tuple[int, str]]) -> None:
    with pytest.raises(RulesError) as info:
        load_rules(text, name="bad.yaml")
    assert info.value.errors == expected


def test_merge_keys_are_read() -> None:
    """``<<: *anchor`` shares keys between rules; keys written in the rule win."""
    text = "rules:\n  - &b {name: a, metric: calls_waiting, op: '>', value: 1}\n  - {<<: *b, name: b, value: 3}\n"
    assert [(r.name, r.value) for r in load_rules(text).rules] == [("a", 1.0), ("b", 3.0)]


VALID = """\
rules:
  - {name: cw, metric: calls_waiting, op: ">", value: 10, clear: 5, for: 30s, match: {queue: sales}}
  - name: away
    kind: agent_state
    not_ready: {break: 15m, "*": 30m}
    group: {by: team, min: 3}
  - {name: aht, kind: aht_spike, scope: team, recent: 10m, direction: both}
projects:
  - {name: p, target: 100, window: {start: "08:00", end: "20:00"}, curve: {hourly: [1, 2]}}
inhibit:
  - {source: {rule: cw}, target: {rule: aht}, equal: [site]}
"""


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_no_edit_of_a_file_crashes_the_reader(data: st.DataObject) -> None:
    """Any edit of a valid file (characters cut, repeated, replaced) loads or is refused with
    reasons: never another exception."""
    text = VALID
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(text)))
        j = data.draw(st.integers(i, min(len(text), i + 12)))
        piece = data.draw(
            st.sampled_from(["", text[i:j] * 2, "-", ":", " ", "\n", "[", "{", "'", "5", "*", "&x "])
        )
        text = text[:i] + piece + text[j:]
    try:
        load_rules(text)
    except RulesError as exc:
        assert exc.errors and all(line >= 1 and message for line, message in exc.errors)


def test_cases_are_distinct() -> None:
    assert len({case for case, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(("case", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_message_and_line(case: str, text: str, expected: list[tuple[int, str]]) -> None:
    with pytest.raises(RulesError) as info:
        load_rules(text, name="bad.yaml")
    assert info.value.errors == expected


def test_rules_check_prints_each_message_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command prints ``file:line: message`` per error, then the count; exit status 1."""
    path = tmp_path / "floor.yaml"
    text, expected = next((t, e) for c, t, e in CASES if c == "many")
    path.write_text(text, encoding="utf-8")
    assert cli.main(["rules", "check", str(path)]) == 1
    printed = capsys.readouterr().err.splitlines()
    assert printed == [f"{path}:{line}: {message}" for line, message in expected] + [
        f"{path}: {len(expected)} error(s); not loaded"
    ]


def test_block_style_positions() -> None:
    """Line and column of each problem: a wrong value at the value, an unknown key at the key,
    a missing key at the mapping, a problem of meaning at the value it is about."""
    text = """\
rules:
  - name: a
    metric: calls_waiting
    op: ">"
    value: 10
    clear: 12
    colour: red
  - kind: aht_spike
    recent: soon
projects:
  - name: p
    target: 1
    window:
      start: "08:00"
      end: "7:00pm"
"""
    with pytest.raises(RulesError) as info:
        load_rules(text, name="bad.yaml")
    assert [(p.line, p.column, p.message) for p in info.value.problems] == [
        (6, 12, "clear 12 is on the firing side of value 10 (for op > it must not be above it)"),
        (7, 5, "unknown key 'colour'; known: " + THRESHOLD_KEYS),
        (8, 5, "rule is missing required key 'name'"),
        (9, 13, "bad duration 'soon': use seconds or e.g. 30s, 5m, 1h, 1m30s"),
        (15, 12, "bad time of day '7:00pm': use HH:MM, e.g. 08:30"),
    ]


def test_rules_check_refuses_a_file_that_is_not_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "floor.yaml"
    path.write_bytes(b"rules:\n  - name: \xff\n")
    assert cli.main(["rules", "check", str(path)]) == 1
    assert capsys.readouterr().err == f"{path}: not UTF-8 text (invalid start byte at byte 17); not loaded\n"
