"""asterisk-queue-log edge cases on hand-written rows (stock pipe layout and the PBXware CSV layout)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.adapters import QueueLogAdapter, get_adapter
from shared.events import (
    AgentLogin,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallTransferred,
    Event,
    InvalidEvent,
    event_type,
)
from tests.adapters._support import assert_round_trip


def ql(**options: object) -> QueueLogAdapter:
    return get_adapter("asterisk-queue-log", site="s1", source="pbx", **options)  # type: ignore[return-value]


def kinds(events: Sequence[Event]) -> list[str]:
    return [event_type(e) for e in events]


def test_stock_call_lifecycle() -> None:
    a = ql()
    queued = a.decode(b"1700000000|1700000000.1|sales|NONE|ENTERQUEUE||5551234|1")
    answered = a.decode(b"1700000012|1700000000.1|sales|SIP/201|CONNECT|12|1700000010.2|4")
    done = a.decode(b"1700000100|1700000000.1|sales|SIP/201|COMPLETECALLER|12|88|1")
    assert kinds(queued) == ["call.queued"] and queued[0].ts == dt.datetime(
        2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC
    )
    assert (
        isinstance(answered[0], CallAnswered) and answered[0].wait_s == 12 and answered[0].agent == "SIP/201"
    )
    assert kinds(done) == ["call.ended", "call.wrapped"]
    assert isinstance(done[0], CallEnded) and done[0].talk_s == 88
    assert_round_trip([*queued, *answered, *done])


@pytest.mark.parametrize(
    ("line", "cause", "wait"),
    [
        (b"1700000050|c1|sales|NONE|ABANDON|2|3|41", "caller", 41),
        (b"1700000050|c1|sales|NONE|EXITWITHTIMEOUT|1|1|300", "timeout", 300),
        (b"1700000050|c1|sales|NONE|EXITEMPTY|1|1|7", "empty", 7),
        (b"1700000050|c1|sales|NONE|EXITWITHKEY|5|1|1|19", "key", 19),
    ],
)
def test_leaving_the_queue_unanswered(line: bytes, cause: str, wait: float) -> None:
    (ev,) = ql().decode(line)
    assert isinstance(ev, CallAbandoned) and ev.cause == cause and ev.wait_s == wait and ev.queue == "sales"


def test_pause_and_unpause_carry_the_reason() -> None:
    a = ql()
    (paused,) = a.decode(b"1700000000|NONE|sales|SIP/201|PAUSE|Lunch")
    (back,) = a.decode(b"1700000900|NONE|sales|SIP/201|UNPAUSE|")
    assert isinstance(paused, AgentStateChanged) and (paused.state, paused.reason) == ("not_ready", "Lunch")
    assert isinstance(back, AgentStateChanged) and (back.state, back.reason) == ("available", None)


@pytest.mark.parametrize(
    "line",
    [
        b"1700000300|c9|sales|SIP/201|ATTENDEDTRANSFER|BRIDGE|8a7c-11|6|30|1",
        b"1700000300|c9|sales|SIP/201|ATTENDEDTRANSFER|APP|Dial|6|30|1",
        b"1700000300|c9|sales|SIP/201|BLINDTRANSFER|2001|from-internal|6|30|1",
    ],
)
def test_a_transfer_ends_the_agents_part_with_its_talk_time(line: bytes) -> None:
    events = ql().decode(line)
    assert kinds(events) == ["call.transferred", "call.ended", "call.wrapped"]
    assert (
        isinstance(events[0], CallTransferred) and isinstance(events[1], CallEnded) and events[1].talk_s == 30
    )


def test_pbxware_csv_row_reads_htime_and_maps_callback_members() -> None:
    a = ql()
    (login,) = a.decode(
        b"7,1543600769,1543600760.1,IT,Local/1141@callback-agent,ADDMEMBER,,,,0,0,0,0,2018-11-30 12:59:30"
    )
    (ans,) = a.decode(
        b"8,1543600800,1543600790.3,IT,Agent/1141,CONNECT,,1543600795.4,5,0,0,17,0,2018-11-30 13:00:00"
    )
    assert isinstance(login, AgentLogin) and login.agent == "Agent/1141" and login.queues == ["IT"]
    assert isinstance(ans, CallAnswered) and ans.wait_s == 17 and ans.id == "uid:8:call.answered"
    (raw,) = ql(callback_context=None).decode(
        b"7,1543600769,x,IT,Local/1141@callback-agent,ADDMEMBER,,,,0,0,0,0,t"
    )
    assert isinstance(raw, AgentLogin) and raw.agent == "Local/1141@callback-agent"


def test_layout_can_be_forced() -> None:
    with pytest.raises(InvalidEvent, match="14 columns"):
        ql(layout="pbxware-csv").decode(b"1700000000|c1|sales|NONE|ENTERQUEUE||x")
    assert ql(emit_wrapped=False).decode(b"1700000100|c1|q|SIP/1|COMPLETEAGENT|1|2|1")[-1].talk_s == 2  # type: ignore[union-attr]


def test_noise_and_unknown_verbs_are_counted_not_rejected() -> None:
    a = ql()
    assert a.decode(b"1700000000|c1|sales|SIP/201|RINGNOANSWER|15000") == []
    assert a.decode(b"1700000000|NONE|NONE|NONE|QUEUESTART|") == []
    assert a.decode(b"1700000000|c1|sales|SIP/201|SOMENEWVERB|x") == []
    assert a.ignored == {"RINGNOANSWER": 1, "QUEUESTART": 1, "(unknown) SOMENEWVERB": 1}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"", "empty"),
        (b"1700000000|c1|sales", r"5\+ fields"),
        (b"yesterday|c1|sales|NONE|ENTERQUEUE||x", "14 columns"),  # not a pipe row: sniffed as CSV
        (b"17e|c1|sales|NONE|ENTERQUEUE|", "14 columns"),
        (b"1700000000|c1|NONE|NONE|ENTERQUEUE||x", "without queue"),
        (b"1700000000|c1|sales|NONE|CONNECT|3|u|1", "without agent"),
        (b"1700000000|c1|sales|SIP/1|CONNECT|soon|u|1", "holdtime"),
        (b"99999999999|c1|sales|NONE|ENTERQUEUE||x", "out of range"),
    ],
)
def test_unreadable_rows_say_why(line: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        ql().decode(line)


def test_ids_are_stable_and_distinct_per_row() -> None:
    row = b"1700000000|c1|sales|NONE|ENTERQUEUE||x"
    assert ql().decode(row) == ql().decode(row)
    assert ql().decode(row)[0].id != ql().decode(row + b"y")[0].id


@given(st.binary(max_size=200))
def test_any_bytes_decode_or_raise_invalid_event(data: bytes) -> None:
    try:
        events = ql().decode(data)
    except InvalidEvent:
        return
    assert_round_trip(events)


@given(
    st.integers(0, 4_000_000_000),
    st.sampled_from(
        ["ENTERQUEUE", "CONNECT", "COMPLETEAGENT", "ABANDON", "PAUSE", "ADDMEMBER", "BLINDTRANSFER"]
    ),
    st.lists(st.text(alphabet="0123456789abc", max_size=6), max_size=5),
)
def test_structured_rows_decode_or_raise_invalid_event(epoch: int, verb: str, data: list[str]) -> None:
    line = "|".join([str(epoch), "c1", "sales", "SIP/1", verb, *data]).encode()
    with contextlib.suppress(InvalidEvent):
        assert_round_trip(ql().decode(line))
