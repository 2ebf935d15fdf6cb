"""Day and interval figures (floor/ledger.py) and the reducer cases issue 10 found on real data:
several open legs per agent, logout during a call, calls without times, late facts."""

from __future__ import annotations

from typing import Any

from services.alerts.core import Engine, RuleSet
from services.alerts.core.floor.definitions import Definitions, DefinitionSet
from services.alerts.core.floor.kpis import STATE_NAMES, FloorConfig
from services.alerts.core.floor.ledger import slot

from .feed import Feed, epoch

SITE = "bj-01"


def run(steps: list[tuple[str, float, dict[str, Any]]], defs: Definitions | None = None) -> Engine:
    cfg = FloorConfig(definitions=DefinitionSet(default=defs or Definitions()), ledger_days=None)
    eng, feed = Engine(RuleSet(()), config=cfg), Feed()
    for kind, t, fields in steps:
        eng.on_event(feed(kind, t, **fields))
    return eng


def rows(eng: Engine, by: str = "day") -> dict[tuple[str, str | None], dict[str, Any]]:
    key = "day" if by == "day" else "interval_start"
    return {(r[key], r["queue"]): r for r in eng.figures(by)}


def q(call: str, t: float, queue: str = "sales") -> tuple[str, float, dict[str, Any]]:
    return ("queued", t, {"call": call, "queue": queue})


def ans(
    call: str, t: float, agent: str, queue: str = "sales", **kw: Any
) -> tuple[str, float, dict[str, Any]]:
    return ("answered", t, {"call": call, "queue": queue, "agent": agent, **kw})


def end(call: str, t: float, agent: str, **kw: Any) -> tuple[str, float, dict[str, Any]]:
    return ("ended", t, {"call": call, "agent": agent, **kw})


def wrap(call: str, t: float, agent: str) -> tuple[str, float, dict[str, Any]]:
    return ("wrapped", t, {"call": call, "agent": agent})


DAY = "2026-11-28"  # T0 is 09:00 +08:00


def test_overlapping_calls_of_one_agent_each_keep_their_queue_and_times() -> None:
    # a1 answers c2 while c1 is still connected (a consult, a second line): both stay open
    eng = run(
        [
            q("c1", 0),
            ans("c1", 10, "a1"),
            q("c2", 20, "billing"),
            ans("c2", 30, "a1", "billing"),
            end("c1", 70, "a1"),  # c1: talk 60
            wrap("c1", 80, "a1"),  # wrap 10
            end("c2", 130, "a1"),  # c2: talk 100
            wrap("c2", 135, "a1"),  # wrap 5
        ]
    )
    r = rows(eng)
    assert (r[DAY, "sales"]["handled"], r[DAY, "sales"]["talk_s"], r[DAY, "sales"]["wrap_s"]) == (
        1,
        60.0,
        10.0,
    )
    assert (r[DAY, "billing"]["handled"], r[DAY, "billing"]["talk_s"], r[DAY, "billing"]["aht_s"]) == (
        1,
        100.0,
        105.0,
    )
    assert r[DAY, None]["handled"] == 2
    a1 = eng.floor.sites[SITE].agents["a1"]
    assert a1.leg is None and a1.others == [] and STATE_NAMES[a1.state] == "available"


def test_agent_state_follows_its_open_legs() -> None:
    eng = run([ans("c1", 10, "a1"), ans("c2", 20, "a1"), end("c2", 30, "a1")])
    a1 = eng.floor.sites[SITE].agents["a1"]
    assert STATE_NAMES[a1.state] == "talking"  # c1 still connected
    eng.on_event(Feed(source="x")("ended", 40, call="c1", agent="a1"))
    assert STATE_NAMES[a1.state] == "wrap"


def test_logout_during_a_call_keeps_the_agent_until_the_call_is_booked() -> None:
    eng = run(
        [
            ("login", 0, {"agent": "a1", "team": "t1", "queues": ["sales"]}),
            q("c1", 1),
            ans("c1", 5, "a1"),
            ("logout", 20, {"agent": "a1"}),
        ]
    )
    site = eng.floor.sites[SITE]
    assert STATE_NAMES[site.agents["a1"].state] == "talking"  # still on the call
    feed = Feed(source="y")
    eng.on_event(feed("ended", 65, call="c1", agent="a1"))
    eng.on_event(feed("wrapped", 70, call="c1", agent="a1"))
    assert "a1" not in site.agents and site.total.logged_in == 0  # gone once the call is booked
    assert rows(eng)[DAY, "sales"]["talk_s"] == 60.0 and rows(eng)[DAY, "sales"]["queue"] == "sales"


def test_logout_in_wrap_up_books_the_call_then_leaves() -> None:
    eng = run([ans("c1", 0, "a1", wait_s=3.0), end("c1", 30, "a1"), ("logout", 40, {"agent": "a1"})])
    assert "a1" not in eng.floor.sites[SITE].agents
    assert (rows(eng)[DAY, "sales"]["handled"], rows(eng)[DAY, "sales"]["wrap_s"]) == (1, 10.0)


def test_calls_without_times_are_counted_apart() -> None:
    # answered and ended at the same instant with no talk_s: the source had no service times
    eng = run([q("c1", 0), ans("c1", 10, "a1"), end("c1", 10, "a1"), wrap("c1", 10, "a1")])
    r = rows(eng)[DAY, "sales"]
    assert (r["handled"], r["handled_without_times"], r["aht_s"], r["answered"]) == (0, 1, None, 1)


def test_a_late_fact_counts_in_its_day_and_interval_and_is_counted_late() -> None:
    eng = run([q("c1", 0), q("c2", 3600), ans("c2", 3605, "a1"), ans("c1", 30, "a2")])
    site = eng.floor.sites[SITE]
    assert site.late == 1  # c1's answer is older than the 30-minute window of 10:00
    r = rows(eng, "interval")
    assert r["2026-11-28T09:00:00+08:00", "sales"]["answered"] == 1
    assert r["2026-11-28T10:00:00+08:00", "sales"]["answered"] == 1
    assert rows(eng)[DAY, "sales"]["answered"] == 2


def test_a_call_counts_on_the_day_it_was_offered() -> None:
    # queued at 23:59:50 local, answered after midnight: a call of the first day
    t = 15 * 3600 - 10  # T0 is 09:00; 15 h later is midnight
    eng = run([q("c1", t), ans("c1", t + 20, "a1"), end("c1", t + 80, "a1"), wrap("c1", t + 90, "a1")])
    r = rows(eng)
    assert r[DAY, "sales"]["answered"] == 1 and r[DAY, "sales"]["handled"] == 1
    assert ("2026-11-29", "sales") not in r


def test_business_day_zone_and_start() -> None:
    d = Definitions(time_zone="Europe/Paris", day_start_s=6 * 3600, interval_s=900)
    t = epoch(0)  # 09:00 +08:00 = 02:00 Paris: before the 06:00 day start, so the previous day
    day, start = slot(t, d, 8 * 3600)
    assert day == "2026-11-27" and start == t
    day, start = slot(t + 4 * 3600 + 60, d, 8 * 3600)  # 06:01 Paris
    assert day == "2026-11-28" and start == t + 4 * 3600


def test_exits_that_are_not_abandons_under_the_definitions() -> None:
    steps = [q("c1", 0), ("abandoned", 40, {"call": "c1", "queue": "sales", "cause": "timeout"})]
    assert rows(run(steps))[DAY, "sales"]["abandoned"] == 1  # default: every exit is an abandon
    r = rows(run(steps, Definitions(abandoned="caller")))[DAY, "sales"]
    assert (r["abandoned"], r["exited"], r["offered"]) == (0, 1, 1)


def test_the_day_in_the_snapshot_is_the_ledger_row() -> None:
    eng = run([q("c1", 0), ans("c1", 12, "a1"), end("c1", 50, "a1"), wrap("c1", 55, "a1")])
    snap = eng.floor_snapshot(SITE)
    (sales,) = snap["queues"]
    want = {k: v for k, v in rows(eng)[DAY, "sales"].items() if k not in ("site", "queue", "definitions")}
    assert sales["day"] == want
    assert sales["talk_s"] == 38.0 and sales["wrap_s"] == 5.0
