"""A rules file whose summaries are written in Chinese (and English), and the engine's real
transitions of it: the issue-15 check that a floor's own wording reaches the wallboard and the
chat robots in the reader's language."""

from __future__ import annotations

from typing import Any

from services.alerts.core import Engine, load_rules
from tests.unit.alerts.feed import Feed, at

RULES = """\
rules:
  - name: queue-jam
    metric: calls_waiting
    op: ">"
    value: 10
    clear: 5
    for: 30s
    summary:
      zh: "{queue} 队列积压：{value:.0f} 通来电在等（上限 {threshold:.0f}）"
      en: "{queue} backlog: {value:.0f} calls waiting (limit {threshold:.0f})"
    resolved_summary:
      zh: "{queue} 队列积压已消除，还剩 {value:.0f} 通"
"""
FIRING_ZH = "sales 队列积压：11 通来电在等（上限 10）"
FIRING_EN = "sales backlog: 11 calls waiting (limit 10)"
RESOLVED_ZH = "sales 队列积压已消除，还剩 5 通"


def zh_rule_transitions() -> list[dict[str, Any]]:
    """pending, firing and resolved records of ``queue-jam``: 11 calls queue at t = 0..10, it
    fires on the grid at 40 s, six are answered at 50..55 s and it resolves at 5 waiting."""
    eng, feed, out = Engine(load_rules(RULES, name="zh-rules.yaml")), Feed(), []
    for i in range(11):
        out += eng.on_event(feed("queued", i, call=f"c{i}", queue="sales"))
    out += eng.advance(at(42))
    for i in range(6):
        out += eng.on_event(feed("answered", 50 + i, call=f"c{i}", queue="sales", agent=f"a{i}"))
    return [tr.to_wire() for tr in out]
