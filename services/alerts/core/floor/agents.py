"""Agent side of the floor reducer: who is logged in, in which state, on which call.

State = ``talking`` / ``hold`` / ``wrap`` while the agent has a call leg, else the agent's ready
state (``available`` or ``not_ready`` with a reason). ``agent.state`` during a call changes the
ready state the agent returns to after wrap-up, as ACDs do.

* Login puts a new agent in ``available``; a repeated login updates team / queues, keeps state.
* Any event naming an unknown agent creates it (real feeds start mid-shift): a call event puts it
  straight into the call state the event implies, with the call's start unknown (so that call's
  handle time is not counted unless ``talk_s`` says it). An agent created without a queue list
  learns its queues from the calls it answers.
* State times never run backwards: a change stamped earlier than the agent's current state began
  is applied at that start instead.
* Handle time (talk + hold + wrap) is booked when wrap-up completes, to the queue the call was
  answered from, the agent's team and the site. Talk = ``talk_s`` when given, else
  ended - answered - hold.
"""

from __future__ import annotations

from shared.events import (
    AgentLogin,
    AgentLogout,
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallResumed,
    CallTransferred,
    CallWrapped,
)

from .calls import get_queue
from .kpis import (
    AVAILABLE,
    HANDLE_SUM,
    HANDLED,
    HOLD,
    HOLD_SUM,
    N_STATES,
    NOT_READY,
    TALK_SUM,
    TALKING,
    WRAP,
    WRAP_SUM,
    Agg,
    FloorConfig,
)
from .state import Agent, HandledCall, Leg, SiteFloor
from .touches import C_HANDLED, C_LOGGED, C_STATE, F_AGENT, F_AGENTS, F_OCC, F_WINDOW, Touches, touch

_MOVE = F_AGENTS | F_OCC


def _count_bits(state: int | None) -> int:
    return C_LOGGED if state is None else C_STATE[state]


# (old state, new state) -> the C_* bits of the agent counts a move changes
_MOVED: dict[tuple[int | None, int | None], int] = {
    (old, new): _count_bits(old) | _count_bits(new)
    for old in (None, *range(N_STATES))
    for new in (None, *range(N_STATES))
}


def _team(cfg: FloorConfig, s: SiteFloor, name: str) -> Agg:
    agg = s.teams.get(name)
    if agg is None:
        agg = s.teams[name] = Agg.new(cfg.minutes, timed=True)
    return agg


def _join(
    cfg: FloorConfig, s: SiteFloor, a: Agent, old: int | None, new: int | None, t: float, touches: Touches
) -> None:
    """Move ``a`` from state ``old`` to ``new`` in every aggregate it belongs to."""
    moved = _MOVED[old, new]
    s.total.move(old, new, t)
    touch(touches, "site", s.site, _MOVE | moved)
    touch(touches, "agent", a.agent, F_AGENT)
    if a.team is not None:
        _team(cfg, s, a.team).move(old, new, t)
        touch(touches, "team", a.team, _MOVE | moved)
    moved |= F_AGENTS
    queues = s.queues
    for name in a.queues:  # hot: every state change of every agent, usually several queues
        q = queues.get(name)
        if q is None:
            q = get_queue(cfg, s, name)
        q.agg.move(old, new, t)
        key = ("queue", name)
        touches[key] = touches.get(key, 0) | moved


def _set_state(cfg: FloorConfig, s: SiteFloor, a: Agent, state: int, t: float, touches: Touches) -> None:
    t = max(t, a.since)
    _join(cfg, s, a, a.state, state, t, touches)
    a.state, a.since = state, t


def _create(
    cfg: FloorConfig,
    s: SiteFloor,
    agent: str,
    t: float,
    touches: Touches,
    *,
    state: int = AVAILABLE,
    team: str | None = None,
    queues: list[str] | None = None,
) -> Agent:
    a = Agent(
        agent=agent,
        team=team,
        queues=list(dict.fromkeys(queues or ())),
        learn_queues=queues is None,
        ready=AVAILABLE,
        reason=None,
        state=state,
        since=t,
    )
    s.agents[agent] = a
    _join(cfg, s, a, None, state, t, touches)
    return a


def _agent(cfg: FloorConfig, s: SiteFloor, agent: str, t: float, touches: Touches, state: int) -> Agent:
    a = s.agents.get(agent)
    return a if a is not None else _create(cfg, s, agent, t, touches, state=state)


def on_login(cfg: FloorConfig, s: SiteFloor, ev: AgentLogin, t: float, touches: Touches) -> None:
    a = s.agents.get(ev.agent)
    if a is None:
        _create(cfg, s, ev.agent, t, touches, team=ev.team, queues=ev.queues)
        return
    queues = a.queues if ev.queues is None else list(dict.fromkeys(ev.queues))
    team = a.team if ev.team is None else ev.team
    if team != a.team or queues != a.queues:
        _join(cfg, s, a, a.state, None, t, touches)
        a.team, a.queues = team, queues
        _join(cfg, s, a, None, a.state, t, touches)
    a.learn_queues = a.learn_queues and ev.queues is None


def on_logout(cfg: FloorConfig, s: SiteFloor, ev: AgentLogout, t: float, touches: Touches) -> None:
    a = s.agents.pop(ev.agent, None)
    if a is not None:
        _join(cfg, s, a, a.state, None, max(t, a.since), touches)


def on_state(cfg: FloorConfig, s: SiteFloor, ev: AgentStateChanged, t: float, touches: Touches) -> None:
    ready = AVAILABLE if ev.state == "available" else NOT_READY
    a = _agent(cfg, s, ev.agent, t, touches, ready)
    reason = ev.reason if ready == NOT_READY else None
    changed = (a.ready, a.reason) != (ready, reason)
    a.ready, a.reason = ready, reason
    if a.leg is None and (changed or a.state != ready):
        _set_state(cfg, s, a, ready, t, touches)
    elif changed:
        touch(touches, "agent", a.agent, F_AGENT)  # takes effect after the call


def on_answered(cfg: FloorConfig, s: SiteFloor, ev: CallAnswered, t: float, touches: Touches) -> None:
    a = _agent(cfg, s, ev.agent, t, touches, TALKING)
    if a.learn_queues and ev.queue not in a.queues:
        _join(cfg, s, a, a.state, None, t, touches)
        a.queues.append(ev.queue)
        _join(cfg, s, a, None, a.state, t, touches)
    leg = a.leg
    if leg is not None and leg.call == ev.call:  # repeated, or arrived after later events of the call
        if leg.answered_at is None and leg.ended_at is None:
            leg.answered_at, leg.queue = t, ev.queue
        return
    if leg is not None and leg.ended_at is not None:
        _book_handle(cfg, s, a, leg, t, touches)  # next call started: previous wrap-up is over
    a.leg = Leg(call=ev.call, queue=ev.queue, answered_at=t)
    _set_state(cfg, s, a, TALKING, t, touches)


def _leg(
    cfg: FloorConfig, s: SiteFloor, agent: str, call: str, t: float, touches: Touches
) -> tuple[Agent, Leg]:
    """The agent's leg for ``call``, creating agent and/or leg (start unknown) when missing."""
    a = _agent(cfg, s, agent, t, touches, TALKING)
    leg = a.leg
    if leg is None or leg.call != call:
        leg = a.leg = Leg(call=call, queue=None, answered_at=None)
    return a, leg


def on_held(cfg: FloorConfig, s: SiteFloor, ev: CallHeld, t: float, touches: Touches) -> None:
    a, leg = _leg(cfg, s, ev.agent, ev.call, t, touches)
    if leg.ended_at is None and leg.hold_at is None:
        leg.hold_at = max(t, a.since)
        _set_state(cfg, s, a, HOLD, t, touches)


def on_resumed(cfg: FloorConfig, s: SiteFloor, ev: CallResumed, t: float, touches: Touches) -> None:
    a, leg = _leg(cfg, s, ev.agent, ev.call, t, touches)
    if leg.ended_at is None:
        _close_hold(leg, t)
        if a.state != TALKING:
            _set_state(cfg, s, a, TALKING, t, touches)


def _close_hold(leg: Leg, t: float) -> None:
    if leg.hold_at is not None:
        leg.hold_s += max(0.0, t - leg.hold_at)
        leg.hold_at = None


def _end(leg: Leg, t: float, talk_s: float | None) -> None:
    _close_hold(leg, t)
    leg.ended_at = t
    if talk_s is not None:
        leg.talk_s = talk_s
    elif leg.answered_at is not None:
        leg.talk_s = max(0.0, t - leg.answered_at - leg.hold_s)


def on_ended(
    cfg: FloorConfig, s: SiteFloor, ev: CallEnded | CallTransferred, t: float, touches: Touches
) -> None:
    """``call.ended``; ``call.transferred`` ends the transferring agent's talk the same way."""
    a, leg = _leg(cfg, s, ev.agent, ev.call, t, touches)
    if leg.ended_at is not None:
        if isinstance(ev, CallEnded) and ev.talk_s is not None:
            leg.talk_s = ev.talk_s  # the source's own figure wins over a transfer's estimate
        return
    _end(leg, max(t, a.since), ev.talk_s if isinstance(ev, CallEnded) else None)
    _set_state(cfg, s, a, WRAP, t, touches)


def on_wrapped(cfg: FloorConfig, s: SiteFloor, ev: CallWrapped, t: float, touches: Touches) -> None:
    a = _agent(cfg, s, ev.agent, t, touches, AVAILABLE)
    leg = a.leg
    if leg is None or leg.call != ev.call:
        return
    _book_handle(cfg, s, a, leg, t, touches, ev)
    _set_state(cfg, s, a, a.ready, t, touches)


def _book_handle(
    cfg: FloorConfig,
    s: SiteFloor,
    a: Agent,
    leg: Leg,
    t: float,
    touches: Touches,
    wrapped: CallWrapped | None = None,
) -> None:
    t = max(t, a.since)
    if leg.ended_at is None:
        _end(leg, t, None)
    a.leg = None
    if leg.talk_s is None or leg.ended_at is None:
        return  # call start unknown: handle time unknown
    wrap = max(0.0, t - leg.ended_at)
    parts = (
        (HANDLED, 1.0),
        (HANDLE_SUM, leg.talk_s + leg.hold_s + wrap),
        (TALK_SUM, leg.talk_s),
        (HOLD_SUM, leg.hold_s),
        (WRAP_SUM, wrap),
    )
    aggs = [s.total]
    touch(touches, "site", s.site, F_WINDOW | C_HANDLED)
    if leg.queue is not None:
        aggs.append(get_queue(cfg, s, leg.queue).agg)
        touch(touches, "queue", leg.queue, F_WINDOW | C_HANDLED)
    if a.team is not None:
        aggs.append(_team(cfg, s, a.team))
        touch(touches, "team", a.team, F_WINDOW | C_HANDLED)
    for agg in aggs:
        agg.win.add_many(t, parts)
    if s.handled is not None:
        out = wrapped.outcome if wrapped is not None else None
        s.handled.append(
            HandledCall(
                t,
                leg.queue,
                a.team,
                a.agent,
                leg.talk_s,
                leg.hold_s,
                wrap,
                None if out is None else out.code,
                None if out is None else out.success,
            )
        )
