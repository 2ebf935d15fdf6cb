"""The reports agree with ``floorwatch stats`` (the live engine's own day figures) over the same
events: per site, queue and business day, on the real Anonymous Bank January file and on a
simulated floor, under the default definitions and the ``asterisk`` preset."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pytest

from floorwatch import stats
from floorwatch.sim import FloorSimulation, default_config
from services.reports.core import DefinitionSet, SiteCalendar, fold
from services.reports.core.definitions import preset
from services.reports.core.reports import call_figures
from services.reports.core.rollup import COUNTERS
from shared.events import Event
from tests.conftest import data_file

COUNTS = ("offered", "answered", "abandoned", "short_abandoned", "answered_in_sl", "handled", "unqueued",
          "exited")
MEANS = ("asa_s", "talk_s", "hold_s", "wrap_s", "aht_s")


def report_rows(events: list[Event], defs: DefinitionSet, zone: str) -> dict[tuple[str, str, str], Any]:
    sites = {e.site for e in events}
    r = fold(events, calendars={s: SiteCalendar(zone) for s in sites}, definitions=defs)
    sums: dict[tuple[str, str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for key, values in r.days().items():
        if key.queue:
            s = sums[(key.site, key.queue, key.day.isoformat())]
            for i, name in enumerate(COUNTERS):
                s[name] += values[i]
    return {k: call_figures(v, defs.for_queue(k[0], k[1])) for k, v in sums.items()}


def compare(events: list[Event], defs: DefinitionSet, zone: str) -> None:
    ours = report_rows(events, defs, zone)
    theirs = {(r["site"], r["queue"], r["day"]): r for r in stats.compute(events, defs)[0] if r["queue"]}
    assert set(ours) == set(theirs)
    bad = []
    for k, t in theirs.items():
        o = ours[k]
        for c in COUNTS:
            if o[c] != t[c]:
                bad.append((k, c, o[c], t[c]))
        for m in MEANS:
            if (o[m] is None) != (t[m] is None) or (o[m] is not None and abs(o[m] - t[m]) > 0.051):
                bad.append((k, m, o[m], t[m]))
        if t["service_level"] is not None and abs(o["service_level"] - t["service_level"]) > 1e-4:
            bad.append((k, "service_level", o["service_level"], t["service_level"]))
    assert not bad, bad[:8]


@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", ["floorwatch", "asterisk"])
def test_bank_january_reports_equal_floorwatch_stats(name: str) -> None:
    from services.ingest.adapters import get_adapter
    from tests.adapters._support import decode_file

    zone = "Asia/Jerusalem"
    adapter = get_adapter("anonymous-bank", site="bank", source="technion", tz=zone)
    events = sorted(decode_file(adapter, data_file("anonymous-bank/1999-01.txt"), "anonymous-bank").events,
                    key=lambda e: e.ts)
    compare(events, DefinitionSet(preset(name).replace(time_zone=zone)), zone)


@pytest.mark.timeout(600)
def test_a_simulated_day_reports_equal_floorwatch_stats() -> None:
    bj = dt.timezone(dt.timedelta(hours=8))
    start = dt.datetime(2026, 11, 30, 8, 0, tzinfo=bj)
    events = FloorSimulation(default_config(), seed=11, start=start, run_id="st").events_until(
        start + dt.timedelta(hours=12))
    compare(sorted(events, key=lambda e: e.ts), DefinitionSet(preset("floorwatch").replace(
        time_zone="Asia/Shanghai")), "Asia/Shanghai")
