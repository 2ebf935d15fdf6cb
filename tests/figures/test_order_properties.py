"""Delivery order does not change the figures: any delivery out of event-time order by less than
the reorder bound, passed through the reorder buffer, gives the day figures of `floorwatch stats`.
And `floorwatch replay` publishes a file in event-time order."""

from __future__ import annotations

import itertools
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from floorwatch import stats
from floorwatch.replay import records
from services.alerts.core import Engine, FloorConfig, RuleSet
from services.alerts.core.floor.definitions import PRESETS, DefinitionSet
from services.alerts.core.floor.order import ReorderBuffer, order_key, reordered
from services.ingest.adapters import get_adapter
from services.ingest.vendor_files import iter_records
from shared.events import Event
from tests.conftest import data_file

QUEUE_LOG = "asterisk/pbxware-queue-log-2018.csv"
BOUND_S = 120.0


def _read(rel: str, fmt: str) -> list[Event]:
    return stats.read_events(data_file(rel), fmt, site="real", source="file").events


def _jittered(events: list[Event], seed: int, bound: float) -> list[Event]:
    """A delivery order: each event delayed by a random amount below ``bound`` seconds, so no
    event arrives after one that is ``bound`` or more newer."""
    rng = random.Random(seed)
    delay = [(ev.ts.timestamp() + rng.uniform(0, bound * 0.999), i) for i, ev in enumerate(events)]
    return [events[i] for _, i in sorted(delay)]


def _live(delivery: list[Event], defs: DefinitionSet) -> list[dict[str, Any]]:
    eng = Engine(RuleSet(()), config=FloorConfig(definitions=defs, ledger_days=None))
    buf: ReorderBuffer[Event] = ReorderBuffer(BOUND_S, order_key)
    for ev in delivery:
        for out in buf.push(ev):
            eng.on_event(out)
    for out in buf.flush():
        eng.on_event(out)
    assert buf.late == 0
    return eng.figures("day")


@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 9)), max_size=60), st.integers(0, 2**16))
def test_buffer_output_is_the_sorted_order(items: list[tuple[int, int]], seed: int) -> None:
    keyed = [(float(t), n, "s", f"{i:04d}") for i, (t, n) in enumerate(items)]
    rng = random.Random(seed)
    bound = 50.0
    delivery = [k for _, k in sorted((k[0] + rng.uniform(0, bound * 0.999), k) for k in keyed)]
    assert list(reordered(delivery, bound, lambda k: k)) == sorted(keyed)


def test_a_delivery_later_than_the_bound_is_released_and_counted() -> None:
    buf: ReorderBuffer[tuple[float, int, str, str]] = ReorderBuffer(10.0, lambda k: k)
    assert buf.push((100.0, 0, "", "a")) == []
    assert buf.push((200.0, 0, "", "b")) == [(100.0, 0, "", "a")]
    assert buf.push((50.0, 0, "", "late")) == [(50.0, 0, "", "late")] and buf.late == 1


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**32), st.sampled_from(sorted(PRESETS)))
def test_queue_log_figures_do_not_depend_on_delivery_order(seed: int, preset: str) -> None:
    events = _read(QUEUE_LOG, "asterisk-queue-log")
    defs = DefinitionSet(default=PRESETS[preset].replace(time_zone="Etc/GMT+5"))
    want, _ = stats.compute(events, defs)
    assert _live(_jittered(events, seed, BOUND_S), defs) == want


@settings(max_examples=3, deadline=None)
@given(st.integers(0, 2**32))
def test_bank_day_figures_do_not_depend_on_delivery_order(seed: int) -> None:
    lines = data_file("anonymous-bank/1999-01.txt").read_text().splitlines()
    adapter = get_adapter("anonymous-bank", site="real", source="file")
    events = [
        ev
        for ln in lines[1:]
        if ln.split("\t")[5] in ("990104", "990105")
        for ev in adapter.decode(ln.encode())
    ]
    defs = DefinitionSet()
    want, _ = stats.compute(events, defs)
    assert _live(_jittered(events, seed, BOUND_S), defs) == want


def _first_times(recs: list[tuple[bytes | None, bytes]]) -> list[float]:
    adapter = get_adapter("anonymous-bank", site="r", source="r")
    out = []
    for key, value in recs:
        evs = adapter.decode(value, key)
        if evs:
            out.append(min(e.ts.timestamp() for e in evs))
    return out


def test_replay_publishes_in_event_time_order() -> None:
    path = data_file("anonymous-bank/1999-01.txt")
    raw = list(records(path, "anonymous-bank", raw=True))
    assert raw == list(iter_records(path, "anonymous-bank"))
    times = _first_times(raw)
    assert sum(b < a for a, b in itertools.pairwise(times)) > 10  # the file: one run per VRU line
    ordered = list(records(path, "anonymous-bank", raw=False))
    assert sorted(ordered) == sorted(raw)  # the same records, none lost or added
    times = _first_times(ordered)
    assert times == sorted(times)
