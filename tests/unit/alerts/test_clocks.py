"""Per-site event clocks and bounded work (issue 9, defect 1): one site's clock jumping to 2099
never holds back or pushes another site's, a jump costs a bounded number of grid points, absurd
timestamps and one site too many are refused without changing anything."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from services.alerts.core import Engine, EventRefused, RuleSet, ThresholdRule
from shared.events import Event

from .feed import Feed, at, epoch

LONGEST = ThresholdRule(name="longest-wait", metric="longest_wait_s", op=">", value=90)
WAITING_FOR = ThresholdRule(name="waiting", metric="calls_waiting", op=">", value=0, for_s=600)
Y2099 = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)


class Counting(Engine):
    """The engine, counting the grid points it evaluates (the unit of work of a clock move)."""

    points = 0

    def _grid_point(self, site, g, out):  # type: ignore[no-untyped-def]
        self.points += 1
        super()._grid_point(site, g, out)


def brief(trs: list) -> list[tuple[str, str, str, str, float]]:  # type: ignore[type-arg]
    return [(t.scope["site"], t.rule, t.previous, t.state, round(t.event_time - epoch(0), 3)) for t in trs]


def future(feed: Feed, when: dt.datetime, **fields: object) -> Event:
    ev = feed("login", 0, **fields)
    return type(ev)(**{**{f: getattr(ev, f) for f in ev.__struct_fields__}, "ts": when})


def test_a_2099_event_of_one_site_neither_stops_nor_pushes_another_site() -> None:
    eng = Counting(RuleSet((LONGEST,)))
    a, b = Feed("a", source="acd-a"), Feed("b", source="acd-b")
    out = eng.on_event(a("queued", 0.5, call="a1", queue="sales"))
    out += eng.on_event(b("queued", 0.5, call="b1", queue="sales"))
    # site a's source sends one event dated 2099: a's clock jumps, in bounded work
    out += eng.on_event(future(a, Y2099, agent="x1"))
    assert eng.points <= eng.horizon + 61, eng.points
    assert eng.jumps == 1
    # site b is unaffected: its own clock, advanced by the shell with b's own now
    out += eng.advance({"b": at(92.9)})
    assert [t for t in brief(out) if t[0] == "b"] == []  # waited 89.5 s at grid 90
    out += eng.advance({"b": at(93)})
    b_out = [t for t in brief(out) if t[0] == "b"]
    assert b_out == [("b", "longest-wait", "inactive", "firing", 91)]
    # and b's later events still drive b at b's time
    out = eng.on_event(b("abandoned", 100, call="b1", queue="sales"))
    assert brief(out) == [("b", "longest-wait", "firing", "resolved", 100)]


def test_a_jump_beyond_the_horizon_lands_instead_of_stepping() -> None:
    # a waiting call makes every second a grid point; a 10-minute jump with a 2-minute horizon
    # lands on the last whole minute before the target and steps the rest
    eng = Counting(RuleSet((LONGEST,)), horizon_s=120, allowed_lateness_s=0)
    feed = Feed()
    eng.on_event(feed("queued", 0.5, call="c1", queue="sales"))
    out = eng.advance(at(600 + 30))
    assert eng.points == 1 + 30  # the landing point 600, then 601 .. 630
    assert eng.jumps == 1
    assert brief(out) == [("bj-01", "longest-wait", "inactive", "firing", 600)]
    assert out[0].value == pytest.approx(599.5)


def test_gaps_within_the_horizon_are_stepped_exactly() -> None:
    eng = Counting(RuleSet((LONGEST,)), horizon_s=3600, allowed_lateness_s=0)
    feed = Feed()
    eng.on_event(feed("queued", 0.5, call="c1", queue="sales"))
    out = eng.advance(at(3600))
    assert eng.jumps == 0
    assert eng.points == 3600  # grid 1 .. 3600, one per second
    assert brief(out) == [("bj-01", "longest-wait", "inactive", "firing", 91)]


def test_a_for_duration_that_ran_out_in_a_skipped_gap_takes_effect_at_the_landing_point() -> None:
    eng = Engine(RuleSet((WAITING_FOR,)), horizon_s=600, allowed_lateness_s=0)
    feed = Feed()
    out = eng.on_event(feed("queued", 0, call="c1", queue="sales"))
    out += eng.on_event(feed("login", 5000, agent="a1"))  # 5,000 s later: beyond the horizon
    assert brief(out) == [
        ("bj-01", "waiting", "inactive", "pending", 0),
        ("bj-01", "waiting", "pending", "firing", 4980),  # landed on minute 4,980, not at 600
    ]


@pytest.mark.parametrize(
    "when",
    [
        dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
        dt.datetime(1979, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
        dt.datetime(2100, 1, 1, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 31, tzinfo=dt.UTC),
    ],
)
def test_absurd_timestamps_are_refused_and_change_nothing(when: dt.datetime) -> None:
    eng = Engine(RuleSet((LONGEST,)))
    feed = Feed()
    eng.on_event(feed("queued", 0.5, call="c1", queue="sales"))
    before = eng.snapshot()
    bad = future(feed, when, agent="x")
    with pytest.raises(EventRefused, match=re.escape("outside 1980-01-01 .. 2100-01-01")):
        eng.on_event(bad)
    assert eng.snapshot() == before
    # not remembered as seen: nothing about it was kept
    assert eng.duplicates == 0


def test_the_last_valid_second_before_2100_is_accepted() -> None:
    eng = Engine(RuleSet((LONGEST,)))
    eng.on_event(future(Feed(), dt.datetime(2099, 12, 31, 23, 59, 59, tzinfo=dt.UTC), agent="x"))
    assert eng.sites() == ["bj-01"]


def test_one_site_more_than_the_limit_is_refused() -> None:
    eng = Engine(RuleSet((LONGEST,)), max_sites=2)
    eng.on_event(Feed("a", source="acd-a")("login", 0, agent="x"))
    eng.on_event(Feed("b", source="acd-b")("login", 0, agent="x"))
    before = eng.snapshot()
    with pytest.raises(EventRefused, match="limit of 2 sites"):
        eng.on_event(Feed("c", source="acd-c")("login", 0, agent="x"))
    assert eng.snapshot() == before
    eng.on_event(Feed("a", source="acd-a")("login", 1, agent="y"))  # known sites go on
    assert sorted(eng.sites()) == ["a", "b"]


def test_limits_are_configuration_and_checked() -> None:
    with pytest.raises(ValueError, match="horizon_s"):
        Engine(horizon_s=59)
    with pytest.raises(ValueError, match="max_sites"):
        Engine(max_sites=0)
    eng = Engine(RuleSet((LONGEST,)), max_sites=1)
    eng.on_event(Feed("a", source="acd-a")("login", 0, agent="x"))
    restored = Engine.restore(eng.snapshot(), RuleSet((LONGEST,)), horizon_s=120, max_sites=1)
    assert (restored.horizon, restored.max_sites) == (120, 1)
    with pytest.raises(EventRefused):
        restored.on_event(Feed("b", source="acd-b")("login", 0, agent="x"))


def test_advance_of_an_unknown_site_does_nothing() -> None:
    eng = Engine(RuleSet((LONGEST,)))
    eng.on_event(Feed("a", source="acd-a")("queued", 0.5, call="c1", queue="sales"))
    assert eng.advance({"nowhere": at(1000)}) == []
    assert eng.advance({"a": at(1000)}) != []


def test_site_time_is_where_a_new_owner_resumes_the_sites_clock() -> None:
    eng = Engine(RuleSet((LONGEST,)), allowed_lateness_s=0)
    assert eng.site_time("a") is None
    eng.on_event(Feed("a", source="acd-a")("queued", 0.5, call="c1", queue="sales"))
    assert eng.site_time("a") == epoch(0.5)  # its latest event
    eng.advance({"a": at(40.7)})
    assert eng.site_time("a") == epoch(40)  # the grid point its clock ran to
    restored = Engine.restore(eng.snapshot(), RuleSet((LONGEST,)))
    assert restored.site_time("a") == epoch(40)


def test_names_past_a_sites_limits_are_refused_without_changing_anything() -> None:
    """Queues, teams and agents come from events, anyone's text: 20,000 made-up queues took 9 s
    to apply (every grid second goes over the site's queues) and 100,000 did not finish in 10
    minutes (found by a review, 2026-12-08). Past the limits such an event is refused."""
    eng = Engine(RuleSet((LONGEST,)))
    eng.max_queues, eng.max_teams, eng.max_agents = 3, 1, 2
    feed = Feed()
    eng.on_event(feed("login", 0, agent="a1", team="t1", queues=["q1", "q2"]))
    eng.on_event(feed("queued", 1, call="c1", queue="q3"))
    before = eng.snapshot()
    refused = [
        (feed("queued", 2, call="c2", queue="q4"), "1 new queue(s) would take site 'bj-01' past the "
         "engine's limit of 3 queues"),
        (feed("login", 2, agent="a2", queues=["q1", "q4", "q5", "q4"]), "2 new queue(s)"),
        (feed("login", 2, agent="a2", team="t2"), "team 't2' would take site 'bj-01' past the engine's "
         "limit of 1 teams"),
        (feed("transferred", 2, call="c1", agent="a1", to_queue="q9"), "limit of 3 queues"),
    ]
    for ev, why in refused:
        with pytest.raises(EventRefused, match=re.escape(why)):
            eng.on_event(ev)
    assert eng.snapshot() == before
    eng.on_event(feed("login", 3, agent="a2", team="t1", queues=["q3"]))  # known names go on
    with pytest.raises(EventRefused, match="limit of 2 agents"):
        eng.on_event(feed("answered", 4, call="c1", queue="q3", agent="a3"))
    with pytest.raises(EventRefused, match="limit of 2 agents"):
        eng.on_event(feed("transferred", 4, call="c1", agent="a1", to_agent="a9"))
    eng.on_event(feed("answered", 5, call="c1", queue="q3", agent="a2"))
    assert sorted(eng.floor.sites["bj-01"].queues) == ["q1", "q2", "q3"]
