"""A call transferred back to the same agent before its wrap-up: the reports fold books it as the
live floor (``floorwatch stats``) does — one handled call whose talk is the sum of its connected
spans, whose hold is all its held time, whose wrap runs from the last end (docs/metrics.md, handle
time). Each sequence is folded by the reports and by ``stats.compute`` over the same events and
the per queue and day figures compared; the first one is also worked out here in plain Python,
and the agent's state after every event is checked against the live floor's.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pytest

from floorwatch import stats
from services.alerts.core.floor.kpis import STATE_NAMES, FloorConfig
from services.alerts.core.floor.reducer import Floor
from services.reports.core import DefinitionSet, SiteCalendar, fold
from services.reports.core.definitions import preset
from services.reports.core.rollup import COUNTERS, event_order, new_folder
from shared.events import (
    AgentLogin,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallQueued,
    CallResumed,
    CallTransferred,
    CallWrapped,
    Event,
)
from tests.unit.reports.test_against_stats import compare, report_rows

ZONE = "Asia/Shanghai"
SITE = "bj"
T0 = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
KINDS: dict[str, type[Any]] = {
    "login": AgentLogin, "queued": CallQueued, "answered": CallAnswered, "held": CallHeld,
    "resumed": CallResumed, "transferred": CallTransferred, "ended": CallEnded, "wrapped": CallWrapped,
}


def events(*steps: tuple[str, float, dict[str, Any]]) -> list[Event]:
    """``(kind, second, fields)`` steps -> canonical events of site bj, in the floor's event order."""
    out = []
    for i, (kind, sec, fields) in enumerate(steps):
        out.append(KINDS[kind](v=1, id=f"e{i:03d}", source="acd", site=SITE,
                               ts=T0 + dt.timedelta(seconds=sec), **fields))
    return sorted(out, key=event_order)


def login(sec: float = 0, agent: str = "a2") -> tuple[str, float, dict[str, Any]]:
    return ("login", sec, {"agent": agent, "queues": ["q"]})


def c2(kind: str, sec: float, agent: str = "a2", **more: Any) -> tuple[str, float, dict[str, Any]]:
    fields: dict[str, Any] = {"call": "c2", **more}
    if kind == "queued":
        fields["queue"] = "q"
        return (kind, sec, fields)
    fields["agent"] = agent
    if kind == "answered":
        fields["queue"] = "q"
    if kind == "transferred":
        fields.setdefault("to_agent", agent)
    return (kind, sec, fields)


DEFS = DefinitionSet(preset("floorwatch").replace(time_zone=ZONE))


def agree(evs: list[Event]) -> dict[str, Any]:
    """Reports figures == ``floorwatch stats`` figures per queue and day (test_against_stats's
    ``compare``, plus ``handled_untimed``); the one queue-day row of the reports."""
    compare(evs, DEFS, ZONE)
    ours = report_rows(evs, DEFS, ZONE)
    theirs = {(r["site"], r["queue"], r["day"]): r for r in stats.compute(evs, DEFS)[0] if r["queue"]}
    for k, t in theirs.items():
        assert ours[k]["handled_untimed"] == t["handled_without_times"], k
    assert len(ours) == 1
    return next(iter(ours.values()))


def assert_means(row: dict[str, Any], handled: int, talk: float, hold: float, wrap: float) -> None:
    """The row's figures are those of ``handled`` calls with these talk / hold / wrap sums."""
    assert row["handled"] == handled
    assert (row["talk_s"], row["hold_s"], row["wrap_s"], row["aht_s"]) == pytest.approx(
        tuple(round(x / handled, 1) for x in (talk, hold, wrap, talk + hold + wrap)))


ONCE = [login(), c2("queued", 1), c2("answered", 5), c2("transferred", 65), c2("answered", 66),
        c2("ended", 365), c2("wrapped", 375)]


def test_transferred_back_once_is_one_call_with_both_spans_talk() -> None:
    row = agree(events(*ONCE))
    # plain Python: talk = (transfer - answer) + (end - re-answer); the 1 s between is in neither;
    # wrap = wrapped - the last end
    talk = (65 - 5) + (365 - 66)
    wrap = 375 - 365
    assert (talk, wrap) == (359, 10)
    assert_means(row, 1, talk, 0, wrap)
    assert row["handled_untimed"] == 0


def test_transferred_back_once_agent_state_seconds_follow_the_live_floor() -> None:
    evs = events(*ONCE)
    r = fold(evs, calendars={SITE: SiteCalendar(ZONE)}, definitions=DEFS)
    secs: dict[str, float] = defaultdict(float)
    for key, values in r.rows.items():
        if not key.queue and key.agent == "a2":
            for name in ("talking_s", "holding_s", "wrapping_s", "available_s"):
                secs[name] += values[COUNTERS.index(name)]
    # talking while connected (both spans); wrap after the transfer until the re-answer (the live
    # floor shows wrap there) and after the last end until the wrap-up is over
    assert secs["talking_s"] == (65 - 5) + (365 - 66)
    assert secs["wrapping_s"] == (66 - 65) + (375 - 365)
    assert secs["holding_s"] == 0
    assert secs["available_s"] == 5 - 0  # login -> answer (the time after the wrap-up is open)
    assert_same_states_as_live(evs)


def assert_same_states_as_live(evs: list[Event]) -> None:
    """After every event, each agent's state in the reports fold is the live floor's."""
    folder = new_folder(calendars={SITE: SiteCalendar(ZONE)}, definitions=DEFS)
    floor = Floor(config=FloorConfig(definitions=DEFS, ledger_days=None))
    for ev in evs:
        folder.feed(ev)
        floor.apply(ev)
        live = floor.sites[SITE].agents
        for (_, name), a in folder.agents.items():
            want = STATE_NAMES[live[name].state] if name in live else None
            assert a.state == want, (ev.type, ev.ts, name, a.state, want)


TWICE = [login(), c2("queued", 1), c2("answered", 5), c2("transferred", 65), c2("answered", 66),
         c2("transferred", 120), c2("answered", 130), c2("ended", 300), c2("wrapped", 320)]


def test_transferred_back_twice_sums_three_spans() -> None:
    row = agree(events(*TWICE))
    assert_means(row, 1, (65 - 5) + (120 - 66) + (300 - 130), 0, 320 - 300)
    assert_same_states_as_live(events(*TWICE))


HOLDS = [login(), c2("queued", 1), c2("answered", 5), c2("held", 20), c2("resumed", 30),
         c2("transferred", 65), c2("answered", 66), c2("held", 100), c2("resumed", 112),
         c2("transferred", 150), c2("answered", 155), c2("held", 200),  # held until the end
         c2("ended", 230), c2("wrapped", 245)]


def test_transferred_back_with_hold_in_each_span() -> None:
    row = agree(events(*HOLDS))
    hold = (30 - 20) + (112 - 100) + (230 - 200)
    talk = (65 - 5) + (150 - 66) + (230 - 155) - hold
    assert_means(row, 1, talk, hold, 245 - 230)
    assert_same_states_as_live(events(*HOLDS))


TALK_S = [login(), c2("queued", 1), c2("answered", 5), c2("ended", 65, talk_s=58.0),
          c2("answered", 70), c2("transferred", 120), c2("answered", 125), c2("ended", 200, talk_s=70.0),
          c2("ended", 201, talk_s=72.0),  # the source's figure again, corrected: it wins
          c2("wrapped", 210)]


def test_transferred_back_with_talk_s_on_the_ended_events() -> None:
    row = agree(events(*TALK_S))
    assert_means(row, 1, 58.0 + (120 - 70) + 72.0, 0, 210 - 200)
    assert_same_states_as_live(events(*TALK_S))


REPEAT = [login(), c2("queued", 1), c2("answered", 5), c2("answered", 5),  # re-sent: a repeat
          c2("answered", 65), c2("transferred", 65),  # stamped at the end: a repeat, not a span
          c2("answered", 80), c2("ended", 100), c2("answered", 100),  # again at the end: repeat
          c2("wrapped", 110)]


def test_an_answer_stamped_at_or_before_the_end_is_a_repeat_a_later_one_a_new_span() -> None:
    row = agree(events(*REPEAT))
    assert_means(row, 1, (65 - 5) + (100 - 80), 0, 110 - 100)
    assert_same_states_as_live(events(*REPEAT))


AFTER_WRAP = [login(), c2("queued", 1), c2("answered", 5), c2("transferred", 65), c2("answered", 66),
              c2("transferred", 120), c2("wrapped", 125),  # transferred back once, then wrapped up
              c2("queued", 190), c2("answered", 200), c2("ended", 260), c2("wrapped", 270)]


def test_a_transfer_back_after_the_wrap_up_is_a_new_call() -> None:
    row = agree(events(*AFTER_WRAP))  # back through the queue after the wrap-up: offered again
    talk = ((65 - 5) + (120 - 66)) + (260 - 200)
    wrap = (125 - 120) + (270 - 260)
    assert_means(row, 2, talk, 0, wrap)
    assert (row["offered"], row["answered"]) == (2, 2)
    assert_same_states_as_live(events(*AFTER_WRAP))


HANDLE = ("handled", "handled_untimed", "talk_s", "hold_s", "wrap_s", "aht_s")


def test_answered_again_straight_after_the_wrap_up_is_a_new_call() -> None:
    """Straight to the agent, not through the queue. Only the handle figures are compared: the
    reports forget a call's queue side once its last leg is booked (so the answer counts as
    ``unqueued``), the live floor remembers it as resolved (a repeat answer)."""
    evs = events(*[x for x in AFTER_WRAP if not (x[0] == "queued" and x[1] == 190)])
    ours = report_rows(evs, DEFS, ZONE)
    theirs = {(r["site"], r["queue"], r["day"]): r for r in stats.compute(evs, DEFS)[0] if r["queue"]}
    assert set(ours) == set(theirs)
    for k, t in theirs.items():
        t = {**t, "handled_untimed": t["handled_without_times"]}
        assert {c: ours[k][c] for c in HANDLE} == {c: t[c] for c in HANDLE}
    row = next(iter(ours.values()))
    assert_means(row, 2, ((65 - 5) + (120 - 66)) + (260 - 200), 0, (125 - 120) + (270 - 260))
    assert_same_states_as_live(evs)


@pytest.mark.parametrize("talk_s", [None, 120.0])
def test_transferred_back_when_the_first_span_had_no_times(talk_s: float | None) -> None:
    """The first span has no times (transferred the instant it was answered, no ``talk_s``): the
    call has none unless the last ``call.ended`` gives its talk (then that is the call's talk, as
    on the live floor)."""
    more = {} if talk_s is None else {"talk_s": talk_s}
    evs = events(login(), c2("queued", 1), c2("answered", 5), c2("transferred", 5), c2("answered", 70),
                 c2("held", 80), c2("resumed", 90),
                 c2("ended", 200, **more), c2("wrapped", 210))
    row = agree(evs)
    if talk_s is None:
        assert (row["handled"], row["handled_untimed"]) == (0, 1)
    else:
        assert row["handled_untimed"] == 0
        assert_means(row, 1, talk_s, 90 - 80, 210 - 200)
    assert_same_states_as_live(evs)
