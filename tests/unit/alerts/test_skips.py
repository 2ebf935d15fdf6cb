"""The engine skips evaluations that cannot change anything; these pin the cases where it must not.

A threshold rule with no alert for a scope is skipped on a touch that did not change its inputs —
but only once it was evaluated for that scope under the current rules. Rules that arrive with
``replace_rules`` or after ``restore`` are evaluated on the next touch of their family, as before.
"""

from __future__ import annotations

from services.alerts.core import Engine, Guard, RuleSet, ThresholdRule, Transition
from shared.events import Event

from .feed import Feed

WAITING = ThresholdRule(name="waiting", metric="calls_waiting", op=">", value=5)
NOBODY = ThresholdRule(
    name="nobody", metric="agents_available", op="<=", value=0, when=(Guard("calls_waiting", ">", 0),)
)


def _floor(feed: Feed) -> list[Event]:
    """One agent on queue q talking, a call waiting on q: nobody available since t=3."""
    return [
        feed("login", 0, agent="a1", queues=["q"]),
        feed("queued", 1, call="c1", queue="q"),
        feed("answered", 2, call="c1", queue="q", agent="a1"),
        feed("queued", 3, call="c2", queue="q"),
    ]


def _fired(trs: list[Transition]) -> list[tuple[str, str]]:
    return [(t.rule, t.state) for t in trs]


def test_a_rule_added_by_replace_rules_is_evaluated_on_the_next_touch_of_its_family() -> None:
    # t=0 login, 1 queued, 2 answered (a1 talking), 3 queued: "nobody" would hold from t=3 on
    # replace_rules(+nobody) at t=3.5; t=4 a1 ends the call: talking -> wrap, agents_available unchanged
    feed = Feed()
    eng = Engine(RuleSet((WAITING,)))
    for ev in _floor(feed):
        assert eng.on_event(ev) == []
    eng.replace_rules(RuleSet((WAITING, NOBODY)))
    out = eng.on_event(feed("ended", 4, call="c1", agent="a1"))
    assert _fired(out) == [("nobody", "firing")]


def test_a_restored_engine_evaluates_rules_it_has_not_seen_on_the_next_touch() -> None:
    # as above, but the engine restored at t=3.5 with the extra rule
    feed = Feed()
    eng = Engine(RuleSet((WAITING,)))
    for ev in _floor(feed):
        eng.on_event(ev)
    eng = Engine.restore(eng.snapshot(), RuleSet((WAITING, NOBODY)))
    out = eng.on_event(feed("ended", 4, call="c1", agent="a1"))
    assert _fired(out) == [("nobody", "firing")]


def test_unchanged_inputs_are_skipped_only_while_nothing_is_due() -> None:
    # "nobody" fired at t=3; t=4 (ended: talking -> wrap) leaves its inputs as they were: still
    # firing, no record; t=5 wrapped: a1 available -> resolved
    feed = Feed()
    eng = Engine(RuleSet((NOBODY,)))
    out: list[Transition] = []
    for ev in _floor(feed):
        out += eng.on_event(ev)
    assert _fired(out) == [("nobody", "firing")]
    assert eng.on_event(feed("ended", 4, call="c1", agent="a1")) == []
    assert _fired(eng.on_event(feed("wrapped", 5, call="c1", agent="a1"))) == [("nobody", "resolved")]
