"""anonymous-bank edge cases on hand-written rows (same 17 tab-separated fields as the Technion files)."""

from __future__ import annotations

import contextlib
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.adapters import get_adapter
from services.ingest.adapters.anonymous_bank import FIELDS
from shared.events import CallAnswered, CallEnded, CallQueued, InvalidEvent, event_type
from tests.adapters._support import assert_round_trip

BASE: dict[str, str] = dict(
    zip(
        FIELDS,
        [
            *("ZZ01", "7", "123", "1", "XX", "990315"),  # vru+line call_id customer_id priority type date
            *("10:00:00", "10:00:05", "5"),  # vru_entry vru_exit vru_time
            *("10:00:05", "10:00:30", "25", "AGENT"),  # q_start q_exit q_time outcome
            *("10:00:30", "10:01:30", "60", "ALICE"),  # ser_start ser_exit ser_time server
        ],
        strict=True,
    )
)


def row(**changes: str) -> bytes:
    """A hand-written row: BASE with some fields changed (``vru_line`` stands for ``vru+line``)."""
    fields = {**BASE, **{k.replace("vru_line", "vru+line"): v for k, v in changes.items()}}
    return "\t".join(fields[f] for f in FIELDS).encode() + b"\r\n"


NEVER = "0:00:00"


def bank(**options: object):  # type: ignore[no-untyped-def]
    return get_adapter("anonymous-bank", site="s1", source="bank", **options)


def test_a_service_that_crosses_midnight_ends_the_next_day() -> None:
    # Timeline (local): 23:58:00 VRU · 23:58:10 queued · 23:59:40 answered · 00:04:40 (next day) ended.
    events = bank(tz="Europe/London").decode(
        row(
            vru_entry="23:58:00",
            vru_exit="23:58:10",
            q_start="23:58:10",
            q_exit="23:59:40",
            q_time="90",
            ser_start="23:59:40",
            ser_exit="0:04:40",
            ser_time="300",
        )
    )
    assert [event_type(e) for e in events] == ["call.queued", "call.answered", "call.ended", "call.wrapped"]
    q, ans, end, _ = events
    london = ZoneInfo("Europe/London")
    assert isinstance(q, CallQueued) and q.priority == 1 and q.queue == "XX" and q.call == "990315-ZZ01-7"
    assert (
        isinstance(ans, CallAnswered)
        and ans.wait_s == 90
        and ans.ts == dt.datetime(1999, 3, 15, 23, 59, 40, tzinfo=london)
    )
    assert (
        isinstance(end, CallEnded)
        and end.ts == dt.datetime(1999, 3, 16, 0, 4, 40, tzinfo=london)
        and end.talk_s == 300
    )
    assert_round_trip(events)


def test_clock_skew_between_queue_exit_and_service_start_is_not_a_day_change() -> None:
    # ser_start one second before q_exit (two clocks in the source): same day, answered not before queued.
    events = bank().decode(row(call_id="8", ser_start="10:00:29", ser_exit="10:01:00", ser_time="31"))
    assert events[1].ts.date() == dt.date(1999, 3, 15) and events[2].ts - events[1].ts == dt.timedelta(
        seconds=31
    )


def test_never_queued_still_answers_and_ends_with_zero_wait() -> None:
    events = bank().decode(
        row(
            call_id="9",
            q_start=NEVER,
            q_exit=NEVER,
            q_time="0",
            ser_start="10:00:06",
            ser_exit="10:02:06",
            ser_time="120",
        )
    )
    assert [event_type(e) for e in events] == ["call.answered", "call.ended", "call.wrapped"]
    assert events[0].wait_s == 0


def test_hanging_up_in_the_vru_or_a_phantom_leaves_no_event_but_is_counted() -> None:
    a = bank()
    vru = row(
        call_id="10",
        q_start=NEVER,
        q_exit=NEVER,
        q_time="0",
        outcome="HANG",
        ser_start=NEVER,
        ser_exit=NEVER,
        ser_time="0",
        server="NO_SERVER",
    )
    phantom = row(call_id="11", outcome="PHANTOM", server="NO_SERVER")
    assert a.decode(vru) == [] and a.decode(phantom) == []
    assert a.ignored == {"HANG before queueing": 1, "PHANTOM": 1}
    kept = bank(phantom="abandon").decode(phantom)
    assert [event_type(e) for e in kept] == ["call.queued", "call.abandoned"] and kept[1].cause is None


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"ZZ01\t12\t0\t0 XX\t990315\t10:00:00", "expected 17 tab-separated fields, got 6"),
        (row(priority="0       XX").replace(b"\tXX\t", b"\t"), "TAB belongs"),
        (row(date="991345"), "no such day"),
        (row(vru_entry="25:00:00"), "vru_entry"),
        (row(outcome="MAYBE"), "outcome"),
    ],
)
def test_malformed_rows_say_why(line: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        bank().decode(line)


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        bank(tz="Mars/Olympus")
    with pytest.raises(ValueError, match="phantom"):
        bank(phantom="keep")


@given(st.lists(st.text(alphabet="0123456789:AGENTHNOS_ ", max_size=9), min_size=17, max_size=17))
def test_any_seventeen_fields_decode_or_raise_invalid_event(fields: list[str]) -> None:
    with contextlib.suppress(InvalidEvent):
        assert_round_trip(bank().decode("\t".join(fields).encode()))
