"""Inhibition work follows what changed (alerting/inhibition.py, publishing.py): an escalation
or an inhibit source firing rechecks the alerts it can affect, not every active alert."""

from __future__ import annotations

from typing import Any

import pytest

from services.alerts.core import Engine, Transition
from services.alerts.core.alerting import inhibition
from services.alerts.core.rules.defaults import default_rules

from .feed import Feed, at


def waiting_queues(n: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[Transition], Engine]:
    """One call waiting in each of ``n`` queues nobody serves, for 25 minutes (the queues' alerts
    fire, their sources inhibit their targets, then they escalate): inhibitor lookups made."""
    calls = [0]
    real = inhibition.Inhibitions.inhibitor

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return real(self, *args, **kwargs)

    monkeypatch.setattr(inhibition.Inhibitions, "inhibitor", counting)
    eng, feed = Engine(default_rules()), Feed()
    out = eng.on_event(feed("login", 0, agent="a1", queues=["q"]))
    for i in range(n):
        out += eng.on_event(feed("queued", 1, call=f"c{i}", queue=f"h{i:03d}"))
    for s in range(60, 1500, 30):
        out += eng.advance(at(s))
    monkeypatch.setattr(inhibition.Inhibitions, "inhibitor", real)
    return calls[0], out, eng


def test_escalations_do_not_recheck_every_alert(monkeypatch: pytest.MonkeyPatch) -> None:
    small, out_small, _ = waiting_queues(30, monkeypatch)
    large, out_large, eng = waiting_queues(60, monkeypatch)
    assert any(t.escalated for t in out_large)  # the scenario escalates
    assert any(m.get("inhibited_by") for m in eng.active_alerts())  # and inhibits
    # before: every escalation and every source change rechecked every alert (quadratic)
    assert large <= 2.5 * small
    assert large <= 20 * 60

    # the records are those of a full recheck: the same for a queue, whatever the number of queues
    def per_queue(trs: list[Transition]) -> list[tuple[Any, ...]]:
        return [
            (t.rule, t.previous, t.state, t.escalated, t.suppressed is not None, t.event_time)
            for t in trs
            if t.scope.get("queue") == "h000"
        ]

    assert per_queue(out_small) and per_queue(out_small) == per_queue(out_large)
    snap = eng.snapshot()
    copy = Engine.restore(snap, default_rules())
    assert copy.snapshot() == snap
    out: list[list[dict[str, Any]]] = []
    for e in (eng, copy):
        feed = Feed()
        feed.n = 10_000
        trs = e.on_event(feed("login", 1600, agent="a2", queues=["h000", "h001"])) + e.advance(at(1700))
        out.append([t.to_wire() for t in trs])
    assert out[0] and out[0] == out[1]
