"""Silences by matchers until a time, with the caller's id, and ended early by that id."""

from __future__ import annotations

import datetime as dt

from services.alerts.core import Engine
from services.alerts.core.detectors.threshold import ThresholdRule
from services.alerts.core.rules.ruleset import RuleSet
from shared.events import CallQueued

T0 = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
RULES = RuleSet(rules=(ThresholdRule(name="backlog", metric="calls_waiting", op=">", value=1, clear=0),))


def queued(i: int) -> CallQueued:
    return CallQueued(
        v=1, id=f"q{i}", source="t", ts=T0 + dt.timedelta(seconds=i), site="bj", call=f"c{i}", queue="sales"
    )


def test_silence_then_unsilence_by_id() -> None:
    eng = Engine(RULES)
    fired = [t for i in range(3) for t in eng.on_event(queued(i))]
    assert [t.state for t in fired] == ["firing"]
    until = T0 + dt.timedelta(hours=1)
    silenced = eng.silence(
        {"queue": "sales"}, until=until, at=T0 + dt.timedelta(seconds=5), by="li", silence_id="s-1"
    )
    assert len(silenced) == 1 and silenced[0].to_wire()["silenced_until"] is not None
    assert eng.silence({"queue": "vip"}, until=until, at=T0 + dt.timedelta(seconds=6), by="li") == []
    ended = eng.unsilence("s-1", at=T0 + dt.timedelta(seconds=7))
    assert len(ended) == 1 and ended[0].to_wire()["silenced_until"] is None
    assert ended[0].state == "firing" and ended[0].previous == "firing"
    assert eng.unsilence("s-1", at=T0 + dt.timedelta(seconds=8)) == []  # already gone
