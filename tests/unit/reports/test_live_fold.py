"""The live fold's pure parts: the open states booked on the side equal ``finish`` bit for bit,
and feeding in steps with a take after each gives the rows of one fold."""

from __future__ import annotations

import datetime as dt

import pytest

from floorwatch.sim import FloorSimulation, default_config
from services.reports.core import SiteCalendar, fold
from services.reports.core.live import LiveFold
from services.reports.core.rollup import event_order, new_folder

BJ = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 11, 30, 8, 0, tzinfo=BJ)
CALS = {"bj-01": SiteCalendar("Asia/Shanghai", 600)}


def events() -> list:
    return FloorSimulation(default_config(), seed=3, start=START, run_id="u").events_until(
        START + dt.timedelta(hours=3))


def test_the_tail_on_the_side_equals_finish() -> None:
    evs = events()
    until = evs[-1].ts
    want = fold(evs, calendars=CALS, until=until)
    folder = new_folder(calendars=CALS)
    for ev in evs:
        folder.feed(ev)
    got = folder.with_tail(folder.tail(until.timestamp()))
    assert got.rows == want.rows and list(got.rows) == list(want.rows)
    assert got.days() == want.days()
    assert got.reasons == want.reasons and got.spans == want.spans
    # the folder was left as it was: it can still be finished the ordinary way
    folder.finish(until.timestamp())
    assert folder.out.rows == want.rows


def test_takes_in_steps_add_up_to_one_fold() -> None:
    evs = sorted(events(), key=event_order)  # the fold order, as the store feeds it
    folder = new_folder(calendars=CALS)
    live = LiveFold(folder, dt.date(2026, 11, 29), evs[0].ts.timestamp(), evs[0].ts.timestamp(), {})
    rows: dict = {}
    days: dict = {}
    spans: list = []
    tail: list = []
    for i in range(0, len(evs), 97):
        live.feed(evs[i:i + 97], {})
        d = live.take()
        assert not d.reopened
        rows.update(d.rows)
        days.update(d.days)
        spans += d.spans
        tail = d.tail_spans
        live.prune()
    want = fold(evs, calendars=CALS, until=evs[-1].ts)
    first = live.floor  # what was dropped was written before: compare what the fold still holds
    assert {k: v for k, v in rows.items() if k.day >= first} == \
        {k: v for k, v in want.rows.items() if k.day >= first}
    assert {k: v for k, v in days.items() if k.day >= first} == \
        {k: v for k, v in want.days().items() if k.day >= first}
    assert sorted(map(repr, spans + tail)) == sorted(map(repr, want.spans))
    with pytest.raises(ValueError, match="forward"):
        live.feed(evs[:1], {})


def test_an_event_of_the_same_second_but_earlier_in_the_fold_order_is_late() -> None:
    evs = sorted(events(), key=event_order)
    i = next(i for i in range(1, len(evs) - 1)
             if evs[i].ts == evs[i - 1].ts and event_order(evs[i - 1]) < event_order(evs[i]))
    live = LiveFold(new_folder(calendars=CALS), dt.date(2026, 11, 29), evs[0].ts.timestamp(),
                    evs[0].ts.timestamp(), {})
    live.feed([*evs[:i - 1], evs[i]], {})
    assert live.is_late(evs[i - 1]) and not live.is_late(evs[i + 1])
    with pytest.raises(ValueError, match="forward"):
        live.feed([evs[i - 1]], {})
