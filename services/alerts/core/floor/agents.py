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
  ended - answered - hold. A call ended at the very instant it was answered with no ``talk_s``
  has no times (the source did not give them): it is counted as handled without times, out of
  the means. Which components make the handle time follows the queue's definitions.
* An agent may have several calls open at once (a consult, a second line): each call is a leg of
  its own, ended, held and wrapped by its call id. The state is ``talking`` while any leg is
  connected and not held, ``hold`` while all connected legs are held, ``wrap`` when all have ended.
  Answering a new call ends the wrap-up of the calls already ended.
* Logout while a call is connected keeps the agent on the floor until that call is booked (then
  it leaves); an ended call still in wrap-up is booked at the logout.
* A leg answered again by the same agent after it ended and before its wrap-up (the call was
  transferred back to that agent) is reopened: talk is the sum of its connected spans (each
  ``talk_s`` when the source gives it, else that span's end - answer - hold); the time between an
  end and the next answer is neither talk nor wrap; wrap-up runs from the last end. An answer not
  later than the leg's end (and its first answer) is a repeat.
* Once a leg is booked (or forgotten, below), later ``call.held`` / ``resumed`` / ``ended`` /
  ``transferred`` / ``wrapped`` of that call for that agent are stale (re-sent, or out of order
  after the wrap-up) and ignored, as is an answer the queue side found repeated that is not later
  than the booking: the site remembers the last ``recent_legs`` booked legs. A genuinely new
  answer later (transferred back after the wrap-up) opens a new leg.
* Bounded: an agent keeps at most ``max_legs`` open legs; opening one more forgets the oldest
  (not booked: its end was lost). A leg still connected ``max_leg_s`` after it opened is forgotten
  by the next check (every ``max_leg_s / 8``); an agent who logged out leaves when its last leg is forgotten.
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

from .calls import book, get_queue
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
from .ledger import L_HANDLE, L_HANDLED, L_HOLD, L_NO_TIMES, L_TALK, L_WRAP
from .recent import RecentMap
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
    s.roster += 1
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
    a.leaving = False
    queues = a.queues if ev.queues is None else list(dict.fromkeys(ev.queues))
    team = a.team if ev.team is None else ev.team
    if team != a.team or queues != a.queues:
        s.roster += team != a.team
        _join(cfg, s, a, a.state, None, t, touches)
        a.team, a.queues = team, queues
        _join(cfg, s, a, None, a.state, t, touches)
    a.learn_queues = a.learn_queues and ev.queues is None


def on_logout(cfg: FloorConfig, s: SiteFloor, ev: AgentLogout, t: float, touches: Touches) -> None:
    a = s.agents.get(ev.agent)
    if a is None:
        return
    t = max(t, a.since)
    for leg in [leg for leg in a.legs() if leg.ended_at is not None]:
        _book_handle(cfg, s, a, leg, t, touches)  # logging out ends the wrap-up
    if a.leg is not None:  # a call still connected: leave when it is booked
        a.leaving = True
        _settle(cfg, s, a, t, touches)
        return
    del s.agents[ev.agent]
    s.roster += 1
    _join(cfg, s, a, a.state, None, t, touches)


def _done_key(agent: str, call: str) -> str:
    return f"{agent}\x00{call}"


def _done(s: SiteFloor, agent: str, call: str) -> tuple[str, float] | None:
    """When the (agent, call) leg was booked or forgotten, if the site still remembers it."""
    done = s.done_legs
    return None if done is None else done.get(_done_key(agent, call))


def _remember(cfg: FloorConfig, s: SiteFloor, a: Agent, leg: Leg, t: float) -> None:
    done = s.done_legs
    if done is None:
        done = s.done_legs = RecentMap(cfg.recent_legs)
    done.put(_done_key(a.agent, leg.call), (leg.queue or "", t))


def _opened(cfg: FloorConfig, s: SiteFloor, a: Agent, t: float) -> None:
    """Make room for one more open leg: at ``max_legs`` the oldest open leg is forgotten."""
    legs = a.legs()
    while len(legs) >= cfg.max_legs:
        oldest = min(legs, key=_age_key)
        _forget(cfg, s, a, oldest, t)
        legs = a.legs()


def _age_key(leg: Leg) -> float:
    for x in (leg.opened_at, leg.answered_at, leg.ended_at):
        if x is not None:
            return x
    return float("-inf")


def _forget(cfg: FloorConfig, s: SiteFloor, a: Agent, leg: Leg, t: float) -> None:
    """Drop an open leg unbooked (its end was lost), remembering it so its late events stay out."""
    _drop(a, leg)
    _remember(cfg, s, a, leg, t)


def expire_legs(cfg: FloorConfig, s: SiteFloor, now: float, touches: Touches) -> None:
    """Forget legs still connected ``max_leg_s`` after they opened (their end was lost). Checked
    every ``max_leg_s / 8`` of event time (a scan of the agents), so a leg goes at most that late."""
    if now < s.legs_checked + cfg.max_leg_s / 8:
        return
    s.legs_checked = now
    cut = now - cfg.max_leg_s
    for a in list(s.agents.values()):
        leg = a.leg
        if leg is None:
            continue
        stale = []
        for x in a.legs():
            if x.ended_at is not None:
                continue
            if x.opened_at is None:  # a leg from a snapshot of an older floor: its age starts now
                x.opened_at = x.answered_at if x.answered_at is not None else now
            if x.opened_at < cut:
                stale.append(x)
        if not stale:
            continue
        for x in stale:
            _forget(cfg, s, a, x, now)
        if not _leave_if_done(cfg, s, a, now, touches):
            _settle(cfg, s, a, now, touches)


def _leave_if_done(cfg: FloorConfig, s: SiteFloor, a: Agent, t: float, touches: Touches) -> bool:
    if a.leaving and a.leg is None:
        s.agents.pop(a.agent, None)
        s.roster += 1
        _join(cfg, s, a, a.state, None, max(t, a.since), touches)
        return True
    return False


def _call_state(a: Agent) -> int | None:
    """The state the agent's open legs imply; None when it has none."""
    if a.leg is None:
        return None
    live = [leg for leg in a.legs() if leg.ended_at is None]
    if not live:
        return WRAP
    return HOLD if all(leg.hold_at is not None for leg in live) else TALKING


def _settle(cfg: FloorConfig, s: SiteFloor, a: Agent, t: float, touches: Touches) -> None:
    """Put the agent in the state its legs (or, with none, its ready state) imply."""
    state = _call_state(a)
    _set_state(cfg, s, a, a.ready if state is None else state, t, touches)


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


def on_answered(
    cfg: FloorConfig,
    s: SiteFloor,
    ev: CallAnswered,
    t: float,
    touches: Touches,
    offered_at: float | None = None,
) -> None:
    a = s.agents.get(ev.agent)
    leg = a.find(ev.call) if a is not None else None
    if offered_at is None:  # the queue side saw this answer already
        if leg is None:
            done = _done(s, ev.agent, ev.call)
            if done is not None and t <= done[1]:
                return  # a re-sent answer of a call this agent has wrapped up since
        offered_at = t - (ev.wait_s or 0.0)
    if a is None:
        a = _create(cfg, s, ev.agent, t, touches, state=TALKING)
    a.leaving = False
    if a.learn_queues and ev.queue not in a.queues:
        _join(cfg, s, a, a.state, None, t, touches)
        a.queues.append(ev.queue)
        _join(cfg, s, a, None, a.state, t, touches)
    if leg is not None:  # repeated, or arrived after later events of the call, or transferred back
        ended = leg.ended_at
        if ended is not None and t > ended and (leg.answered_at is None or t > leg.answered_at):
            _reopen(leg, t)
            _set_state(cfg, s, a, TALKING, t, touches)
            return
        if leg.answered_at is None and ended is None:
            leg.answered_at, leg.queue = t, ev.queue
        if leg.offered_at is None:
            leg.offered_at = offered_at
        return
    if a.leg is not None:  # (an agent answering from a ready state has no legs: skip the scan)
        for done_leg in [leg for leg in a.legs() if leg.ended_at is not None]:
            _book_handle(cfg, s, a, done_leg, t, touches)  # next call started: wrap-ups are over
    if a.leg is not None:
        if len(a.others) + 1 >= cfg.max_legs:
            _opened(cfg, s, a, t)
        if a.leg is not None:
            a.others.insert(0, a.leg)  # still connected: stays open beside the new call
    a.leg = Leg(call=ev.call, queue=ev.queue, answered_at=t, offered_at=offered_at, opened_at=t)
    _set_state(cfg, s, a, TALKING, t, touches)


def _reopen(leg: Leg, t: float) -> None:
    """The agent answered ``leg`` again after it ended (transferred back): a new connected span."""
    if leg.talk_s is None or leg.answered_at is None:
        leg.answered_at = None  # the earlier span had no times: neither has the call
        leg.talk_before = None
    else:
        leg.answered_at = t
        leg.talk_before = leg.talk_s  # talk_s already includes the spans before it
        leg.hold_before = leg.hold_s
    leg.ended_at = None
    leg.talk_s = None


def _leg(
    cfg: FloorConfig, s: SiteFloor, agent: str, call: str, t: float, touches: Touches
) -> tuple[Agent, Leg] | None:
    """The agent's leg for ``call``, creating agent and/or leg (start unknown) when missing; a new
    leg goes beside the agent's open ones, never in place of one. None when that leg was booked
    or forgotten already (a stale event)."""
    a = s.agents.get(agent)
    leg = a.find(call) if a is not None else None
    if leg is None:
        if _done(s, agent, call) is not None:
            return None
        if a is None:
            a = _create(cfg, s, agent, t, touches, state=TALKING)
        leg = Leg(call=call, queue=None, answered_at=None, opened_at=t)
        if a.leg is None:
            a.leg = leg
        else:
            if len(a.others) + 1 >= cfg.max_legs:
                _opened(cfg, s, a, t)
            if a.leg is None:
                a.leg = leg
            else:
                a.others.append(leg)
    assert a is not None
    return a, leg


def on_held(cfg: FloorConfig, s: SiteFloor, ev: CallHeld, t: float, touches: Touches) -> None:
    found = _leg(cfg, s, ev.agent, ev.call, t, touches)
    if found is None:
        return
    a, leg = found
    if leg.ended_at is None and leg.hold_at is None:
        leg.hold_at = max(t, a.since)
        _settle(cfg, s, a, t, touches)


def on_resumed(cfg: FloorConfig, s: SiteFloor, ev: CallResumed, t: float, touches: Touches) -> None:
    found = _leg(cfg, s, ev.agent, ev.call, t, touches)
    if found is None:
        return
    a, leg = found
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
    before = leg.talk_before
    if before is not None:  # a reopened leg: this span's talk adds to the earlier spans'
        if talk_s is not None:
            leg.talk_s = before + talk_s
        elif leg.answered_at is not None:
            leg.talk_s = before + max(0.0, t - leg.answered_at - (leg.hold_s - leg.hold_before))
    elif talk_s is not None:
        leg.talk_s = talk_s
    elif leg.answered_at is not None and not (t == leg.answered_at and leg.hold_s == 0.0):
        leg.talk_s = max(0.0, t - leg.answered_at - leg.hold_s)


def on_ended(
    cfg: FloorConfig, s: SiteFloor, ev: CallEnded | CallTransferred, t: float, touches: Touches
) -> None:
    """``call.ended``; ``call.transferred`` ends the transferring agent's talk the same way."""
    found = _leg(cfg, s, ev.agent, ev.call, t, touches)
    if found is None:
        return
    a, leg = found
    if leg.ended_at is not None:
        if isinstance(ev, CallEnded) and ev.talk_s is not None:
            # the source's own figure wins over a transfer's estimate
            before = leg.talk_before
            leg.talk_s = ev.talk_s if before is None else before + ev.talk_s
        return
    _end(leg, max(t, a.since), ev.talk_s if isinstance(ev, CallEnded) else None)
    _settle(cfg, s, a, t, touches)


def on_wrapped(cfg: FloorConfig, s: SiteFloor, ev: CallWrapped, t: float, touches: Touches) -> None:
    a = s.agents.get(ev.agent)
    leg = a.find(ev.call) if a is not None else None
    if leg is None:
        if a is None and _done(s, ev.agent, ev.call) is None:
            _create(cfg, s, ev.agent, t, touches, state=AVAILABLE)
        return
    assert a is not None
    _book_handle(cfg, s, a, leg, t, touches, ev)
    if not _leave_if_done(cfg, s, a, t, touches):
        _settle(cfg, s, a, t, touches)


def _drop(a: Agent, leg: Leg) -> None:
    if a.leg is leg:
        a.leg = a.others.pop(0) if a.others else None
    else:
        a.others = [other for other in a.others if other is not leg]


def _book_handle(
    cfg: FloorConfig,
    s: SiteFloor,
    a: Agent,
    leg: Leg,
    t: float,
    touches: Touches,
    wrapped: CallWrapped | None = None,
) -> None:
    # the wrap-up ends at the event's own time (an agent state change stamped later, e.g. another
    # call's, must not lengthen it); only a leg never ended is closed no earlier than the state
    if leg.ended_at is None:
        _end(leg, max(t, a.since), None)
    _drop(a, leg)
    done = s.done_legs  # (_remember, inlined: once per booked call)
    if done is None:
        done = s.done_legs = RecentMap(cfg.recent_legs)
    done.put(f"{a.agent}\x00{leg.call}", (leg.queue or "", t))
    at = next(x for x in (leg.offered_at, leg.answered_at, leg.ended_at, t) if x is not None)
    if leg.talk_s is None or leg.ended_at is None:
        book(cfg, s, leg.queue, at, (L_NO_TIMES, 1.0))  # handled, but its times are unknown
        return
    wrap = max(0.0, t - leg.ended_at)
    handle = cfg.defs.for_queue(s.site, leg.queue).handle_s(leg.talk_s, leg.hold_s, wrap)
    parts = (
        (HANDLED, 1.0),
        (HANDLE_SUM, handle),
        (TALK_SUM, leg.talk_s),
        (HOLD_SUM, leg.hold_s),
        (WRAP_SUM, wrap),
    )
    book(
        cfg,
        s,
        leg.queue,
        at,
        (L_HANDLED, 1.0),
        (L_HANDLE, handle),
        (L_TALK, leg.talk_s),
        (L_HOLD, leg.hold_s),
        (L_WRAP, wrap),
    )
    aggs = [s.total]
    touch(touches, "site", s.site, F_WINDOW | C_HANDLED)
    if leg.queue is not None:
        aggs.append(get_queue(cfg, s, leg.queue).agg)
        touch(touches, "queue", leg.queue, F_WINDOW | C_HANDLED)
    if a.team is not None:
        aggs.append(_team(cfg, s, a.team))
        touch(touches, "team", a.team, F_WINDOW | C_HANDLED)
    if not s.total.win.add_many(t, parts):
        s.late += 1
    for agg in aggs[1:]:
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
