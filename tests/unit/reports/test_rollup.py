"""The roll-up fold and the report formulas, against independent plain-Python computations.

* a hand-made shift whose every figure is worked out in the test;
* the real Anonymous Bank January file: per queue and local day, offered / answered / abandoned /
  handled counts exact and mean talk and wait within 0.01 s, against a computation over the raw
  tab-separated text alone (no adapter, no project code).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import pytest

from services.reports.core import Definitions, DefinitionSet, SiteCalendar, fold
from services.reports.core.definitions import preset
from services.reports.core.reports import call_figures, failure_reasons, staff_performance
from services.reports.core.rollup import COUNTERS
from shared.events import (
    AgentLogin,
    AgentLogout,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallQueued,
    CallResumed,
    CallWrapped,
    Event,
    Outcome,
)
from tests.conftest import data_file

BJ = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2026, 11, 30, 8, 0, tzinfo=BJ)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def shift() -> list[Event]:
    n = iter(range(1000))

    def e(cls: type, minute: float, **kw: object) -> Event:
        return cls(v=1, id=f"e{next(n)}", source="t", ts=at(minute), site="bj", **kw)  # type: ignore[no-any-return]

    return [
        e(AgentLogin, 0, agent="a1", team="north"),
        e(AgentLogin, 0, agent="a2", team="south"),
        e(CallQueued, 1, call="c1", queue="sales", campaign="p1"),
        e(CallAnswered, 1.5, call="c1", queue="sales", agent="a1", wait_s=30.0),
        e(CallHeld, 3, call="c1", agent="a1"),
        e(CallResumed, 4, call="c1", agent="a1"),
        e(CallEnded, 6.5, call="c1", agent="a1"),  # talk = 5 min - 1 min hold = 240 s
        e(CallWrapped, 7.5, call="c1", agent="a1",
          outcome=Outcome(code="sale", success=True)),
        e(CallQueued, 2, call="c2", queue="sales", campaign="p1"),
        e(CallAbandoned, 2.05, call="c2", queue="sales", wait_s=3.0),  # short abandon
        e(CallQueued, 3, call="c3", queue="sales", campaign="p1"),
        e(CallAbandoned, 4, call="c3", queue="sales", wait_s=60.0),
        e(AgentStateChanged, 5, agent="a2", state="not_ready", reason="lunch"),
        e(AgentStateChanged, 35, agent="a2", state="available"),
        e(CallQueued, 36, call="c4", queue="care", campaign="p1"),
        e(CallAnswered, 36, call="c4", queue="care", agent="a2", wait_s=10.0),
        e(CallEnded, 38, call="c4", agent="a2", talk_s=120.0),
        e(CallWrapped, 39, call="c4", agent="a2",
          outcome=Outcome(code="refused", success=False, reason="price",
                          follow_up_at=at(24 * 60))),
        e(AgentLogout, 60, agent="a1"),
        e(AgentLogout, 60, agent="a2"),
    ]


def test_a_shift_worked_out_by_hand() -> None:
    r = fold(shift(), calendars={"bj": SiteCalendar("Asia/Shanghai")})
    total = {k: sum(v[i] for v in r.rows.values()) for i, k in enumerate(COUNTERS)}
    f = call_figures(total, Definitions())
    assert (f["offered"], f["answered"], f["abandoned"], f["short_abandoned"]) == (4, 2, 2, 1)
    # service level: within 20 s = 1 (c4), base = answered + abandoned - short = 3
    assert f["service_level"] == round(1 / 3, 4)
    assert f["asa_s"] == 20.0  # (30 + 10) / 2
    assert f["talk_s"] == 180.0  # (240 + 120) / 2
    assert f["hold_s"] == 30.0  # (60 + 0) / 2
    assert f["wrap_s"] == 60.0  # (60 + 60) / 2
    assert f["aht_s"] == 270.0
    assert (f["outcomes"], f["successes"]) == (2, 1)
    # a1: 60 min logged in; talking 1.5-3 and 4-6.5 (4 min), hold 3-4, wrap 6.5-7.5, available rest
    a1 = {k: sum(v[i] for key, v in r.rows.items() if key.agent == "a1") for i, k in enumerate(COUNTERS)}
    assert a1["logged_in_s"] == 3600
    assert (a1["talking_s"], a1["holding_s"], a1["wrapping_s"]) == (240, 60, 60)
    assert a1["available_s"] == 3600 - 360
    # a2: 30 min lunch, talk 36-38 (the source's talk_s is a call figure; state time is event time)
    a2 = {k: sum(v[i] for key, v in r.rows.items() if key.agent == "a2") for i, k in enumerate(COUNTERS)}
    assert a2["not_ready_s"] == 1800 and a2["talking_s"] == 120 and a2["wrapping_s"] == 60
    assert sum(v for k, v in r.reasons.items() if k.reason == "lunch") == 1800
    # the business day is Beijing's
    assert {k.day for k in r.rows} == {dt.date(2026, 11, 30)}
    assert len(r.follow_ups) == 1 and r.follow_ups[0].closed_at is None
    perf = staff_performance([({"site": "bj", "team": "north", "agent": "a1"}, a1),
                              ({"site": "bj", "team": "south", "agent": "a2"}, a2)],
                             {("bj", "south", "a2"): {"lunch": 1800.0}}, DefinitionSet(), {"bj": 30.0})
    first = perf[0]
    assert (first["agent"], first["rank"], first["occupancy"]) == ("a1", 1, round(360 / 3600, 4))
    assert first["calls_per_hour"] == 1.0 and first["cost_per_contact"] == 30.0
    assert perf[1]["not_ready_by_reason"] == {"lunch": 1800.0}


def test_a_later_call_of_the_contact_closes_the_follow_up() -> None:
    events = shift()
    extra = [
        CallQueued(v=1, id="x1", source="t", ts=at(50), site="bj", call="c9", queue="care"),
        CallAnswered(v=1, id="x2", source="t", ts=at(50), site="bj", call="c9", queue="care", agent="a2"),
        CallEnded(v=1, id="x3", source="t", ts=at(52), site="bj", call="c9", agent="a2"),
        CallWrapped(v=1, id="x4", source="t", ts=at(53), site="bj", call="c9", agent="a2"),
    ]
    merged = sorted(events + extra, key=lambda e: e.ts)
    r = fold(merged, contacts={("bj", "c4"): "cust-7", ("bj", "c9"): "cust-7"})
    (f,) = r.follow_ups
    assert f.closed_by == "c9" and f.closed_at == at(53).astimezone(dt.UTC)
    other = fold(merged, contacts={("bj", "c4"): "cust-7", ("bj", "c9"): "cust-8"})
    assert other.follow_ups[0].closed_at is None


def test_business_day_starts_at_the_configured_local_time() -> None:
    cal = SiteCalendar("Asia/Shanghai", day_start_min=360)
    assert cal.business_day(dt.datetime(2026, 12, 1, 5, 59, tzinfo=BJ)) == dt.date(2026, 11, 30)
    assert cal.business_day(dt.datetime(2026, 12, 1, 6, 0, tzinfo=BJ)) == dt.date(2026, 12, 1)
    assert cal.day_start(dt.date(2026, 12, 1)) == dt.datetime(2026, 11, 30, 22, 0, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="time zone"):
        SiteCalendar("Mars/Olympus")
    with pytest.raises(ValueError, match="multiple of 15"):
        SiteCalendar("UTC", 7)


def test_failure_reason_mix_shift_day_over_day() -> None:
    rows = [({"day": "2026-12-01", "project": "p", "code": "no", "reason": "price"}, 3),
            ({"day": "2026-12-01", "project": "p", "code": "no", "reason": "busy"}, 1),
            ({"day": "2026-12-02", "project": "p", "code": "no", "reason": "price"}, 1),
            ({"day": "2026-12-02", "project": "p", "code": "no", "reason": "busy"}, 1)]
    out = {(r["day"], r["reason"]): r for r in failure_reasons(rows)}
    assert out[("2026-12-01", "price")]["share"] == 0.75 and out[("2026-12-01", "price")]["shift"] is None
    assert out[("2026-12-02", "price")]["shift"] == -0.25
    assert out[("2026-12-02", "busy")]["shift"] == 0.25


# -- the real Anonymous Bank January file --------------------------------------------------------

def _clock(s: str) -> dt.timedelta:
    h, m, sec = (int(x) for x in s.split(":"))
    return dt.timedelta(hours=h, minutes=m, seconds=sec)


def raw_bank_figures(path: Path) -> dict[tuple[str, str], dict[str, float]]:
    """Per (local date, queue): counts and sums, from the text alone; every fact of a call on the
    local day the call was offered (its queue entry; a call that never queued: its service start)."""
    out: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    zero = "0:00:00"
    with path.open() as fh:
        header = fh.readline().split()
        for line in fh:
            r = dict(zip(header, line.split(), strict=True))
            if r["outcome"] == "PHANTOM":
                continue
            d = r["date"]
            base = dt.datetime(1900 + int(d[:2]) if int(d[:2]) >= 70 else 2000 + int(d[:2]),  # noqa: DTZ001
                               int(d[2:4]), int(d[4:]))  # local wall time, as the file writes it
            prev = base + _clock(r["vru_entry"])

            def step(clock: str, after: dt.datetime) -> dt.datetime:
                # the file's two clocks disagree by a second or two: only a clock more than half
                # a day behind the previous step is on the next day
                t = dt.datetime.combine(after.date(), dt.time()) + _clock(clock)
                return t + dt.timedelta(days=1) if t < after - dt.timedelta(hours=12) else t

            prev = step(r["vru_exit"], prev)
            q = r["type"]
            queued = r["q_start"] != zero
            if queued:
                offered_at = prev = step(r["q_start"], prev)
                prev = step(r["q_exit"], prev)
            if r["outcome"] == "AGENT":
                if r["ser_start"] != zero:
                    start = step(r["ser_start"], prev)
                    answer = max(start, offered_at) if queued else start
                else:
                    answer = prev
                k = ((offered_at if queued else answer).date().isoformat(), q)
                if r["ser_start"] != zero:
                    out[k]["handled"] += 1
                    out[k]["talk"] += float(r["ser_time"])
                else:
                    out[k]["untimed"] += 1
                if not queued:  # straight from the VRU to an agent: an "unqueued" call (default)
                    out[k]["unqueued"] += 1
                else:
                    wait = float(r["q_time"])
                    out[k]["offered"] += 1
                    out[k]["answered"] += 1
                    out[k]["wait"] += wait
                    out[k]["within"] += wait <= 20
            elif queued:
                k = (offered_at.date().isoformat(), q)
                out[k]["offered"] += 1
                out[k]["abandoned"] += 1
                out[k]["short"] += float(r["q_time"]) < 5
    return out


@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", ["floorwatch", "asterisk"])
def test_bank_january_per_queue_and_day_equals_the_raw_file(name: str) -> None:
    from services.ingest.adapters import get_adapter
    from tests.adapters._support import decode_file

    path = data_file("anonymous-bank/1999-01.txt")
    adapter = get_adapter("anonymous-bank", site="bank", source="technion", tz="Asia/Jerusalem")
    events = sorted(decode_file(adapter, path, "anonymous-bank").events, key=lambda e: e.ts)
    defs = preset(name)
    r = fold(events, calendars={"bank": SiteCalendar("Asia/Jerusalem")}, definitions=DefinitionSet(defs))
    got: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for key, values in r.days().items():
        if key.queue:
            g = got[(key.day.isoformat(), key.queue)]
            for i, name in enumerate(COUNTERS):
                g[name] += values[i]
    want = raw_bank_figures(path)
    assert set(got) == set(want)
    mismatches = []
    for k, w in want.items():
        g = got[k]
        f = call_figures(g, defs)
        names = ("offered", "answered", "abandoned", "handled", "unqueued")
        counts = (*(g[n] for n in names), g["handled_untimed"])
        if counts != (*(w[n] for n in names), w["untimed"]):
            mismatches.append((k, counts, dict(w)))
        # service level under the preset's formula, from the raw counts
        short = w["short"] if defs.short_abandon_s else 0.0
        base = {"answered": w["answered"], "answered+abandoned-short": w["answered"] + w["abandoned"] - short}
        want_sl = round(w["within"] / base[defs.sl_formula], 4) if base[defs.sl_formula] else None
        if f["service_level"] != want_sl:
            mismatches.append((k, "sl", f["service_level"], want_sl))
        if w["handled"] and abs(f["talk_s"] - w["talk"] / w["handled"]) > 0.051:
            mismatches.append((k, "talk", f["talk_s"], w["talk"] / w["handled"]))
        if w["answered"] and abs(f["asa_s"] - w["wait"] / w["answered"]) > 0.051:
            mismatches.append((k, "asa", f["asa_s"], w["wait"] / w["answered"]))
    assert not mismatches, mismatches[:5]
    assert sum(w["answered"] for w in want.values()) > 10_000  # queued, then answered
    assert sum(w["unqueued"] for w in want.values()) > 10_000  # straight from the VRU to an agent
