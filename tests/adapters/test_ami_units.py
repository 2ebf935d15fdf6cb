"""asterisk-ami edge cases on hand-written event blocks."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.adapters import AmiAdapter, get_adapter, iter_ami_blocks
from services.ingest.adapters.ami import _Call
from shared.events import (
    AgentLogin,
    AgentStateChanged,
    CallAbandoned,
    CallHeld,
    CallResumed,
    InvalidEvent,
    event_type,
)
from tests.adapters._support import assert_round_trip


def ami(**options: object) -> AmiAdapter:
    return get_adapter("asterisk-ami", site="s1", source="ami", **options)  # type: ignore[return-value]


def block(event: str, seq: int, **fields: object) -> bytes:
    lines = [f"Event: {event}", f"SequenceNumber: {seq}", *(f"{k}: {v}" for k, v in fields.items())]
    return ("\r\n".join(lines) + "\r\n").encode()


def at(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC)


def test_timestamp_headers_are_used_when_present() -> None:
    a = ami()
    (q,) = a.decode(
        block("QueueCallerJoin", 1, Uniqueid="1700000000.7", Queue="sales", Timestamp="1700000003.250000")
    )
    (ans,) = a.decode(
        block(
            "AgentConnect",
            2,
            Uniqueid="1700000000.7",
            Queue="sales",
            MemberName="Alice",
            HoldTime=20,
            RingTime=4,
            DestUniqueid="1700000019.8",
            Timestamp="1700000023.500000",
        )
    )
    assert q.ts == at(1700000003.25) and ans.ts == at(1700000023.5)
    assert event_type(ans) == "call.answered" and ans.agent == "Alice"  # type: ignore[union-attr]


def test_caller_abandon_and_the_leave_that_follows_it() -> None:
    # Timeline: join at 100, caller hangs up at 130 (HoldTime 30): Abandon, then Leave, then Hangup.
    a = ami()
    a.decode(block("QueueCallerJoin", 1, Uniqueid="u1", Queue="sales", Timestamp=100))
    (ab,) = a.decode(block("QueueCallerAbandon", 2, Uniqueid="u1", Queue="sales", HoldTime=30, Position=1))
    assert isinstance(ab, CallAbandoned) and ab.cause == "caller" and ab.wait_s == 30 and ab.ts == at(130)
    assert a.decode(block("QueueCallerLeave", 3, Uniqueid="u1", Queue="sales", Timestamp=130)) == []
    assert a.decode(block("Hangup", 4, Uniqueid="u1", Timestamp=131)) == []


def test_leaving_without_answer_or_abandon_is_an_abandon_without_cause() -> None:
    # Timeline: join at 100, queue timeout at 160 (Leave only), the dialplan hangs up at 175.
    a = ami()
    a.decode(block("QueueCallerJoin", 1, Uniqueid="u2", Queue="sales", Timestamp=100))
    assert a.decode(block("QueueCallerLeave", 2, Uniqueid="u2", Queue="sales", Timestamp=160)) == []
    (ab,) = a.decode(block("Hangup", 3, Uniqueid="u2", Timestamp=175))
    assert isinstance(ab, CallAbandoned) and ab.cause is None and ab.wait_s == 60 and ab.ts == at(160)
    assert ab.id == "u2:QueueCallerLeave:2:call.abandoned"


def test_hold_on_either_leg_of_an_answered_call() -> None:
    a = ami()
    a.decode(block("QueueCallerJoin", 1, Uniqueid="u3", Queue="sales", Timestamp=100))
    a.decode(
        block(
            "AgentConnect",
            2,
            Uniqueid="u3",
            Queue="sales",
            MemberName="Bob",
            HoldTime=5,
            DestUniqueid="m3",
            Timestamp=105,
        )
    )
    (held,) = a.decode(block("Hold", 3, Uniqueid="u3", Timestamp=120))
    (resumed,) = a.decode(block("Unhold", 4, Uniqueid="m3", Timestamp=150))
    assert isinstance(held, CallHeld) and isinstance(resumed, CallResumed)
    assert (held.call, held.agent, resumed.call) == ("u3", "Bob", "u3")
    assert a.decode(block("Hold", 5, Uniqueid="unrelated", Timestamp=151)) == []
    done = a.decode(
        block(
            "AgentComplete",
            6,
            Uniqueid="u3",
            Queue="sales",
            MemberName="Bob",
            TalkTime=40,
            Reason="transfer",
            Timestamp=190,
        )
    )
    assert [event_type(e) for e in done] == ["call.transferred", "call.ended", "call.wrapped"]
    assert_round_trip([held, resumed, *done])


def test_members_and_pauses() -> None:
    a = ami()
    (login,) = a.decode(
        block("QueueMemberAdded", 1, Queue="sales", MemberName="Carol", Interface="PJSIP/300", Timestamp=1)
    )
    (pause,) = a.decode(
        block(
            "QueueMemberPause",
            2,
            Queue="sales",
            MemberName="Carol",
            Paused=1,
            PausedReason="break",
            Timestamp=2,
        )
    )
    (unpause,) = a.decode(
        block("QueueMemberPause", 3, Queue="sales", MemberName="Carol", Paused=0, Timestamp=3)
    )
    (agent,) = a.decode(block("AgentLogin", 4, Agent="1001", Channel="SIP/1001-0001", Timestamp=4))
    assert isinstance(login, AgentLogin) and login.queues == ["sales"] and login.agent == "Carol"
    assert isinstance(pause, AgentStateChanged) and (pause.state, pause.reason) == ("not_ready", "break")
    assert isinstance(unpause, AgentStateChanged) and (unpause.state, unpause.reason) == ("available", None)
    assert agent.agent == "Agent/1001"  # type: ignore[union-attr]


def test_state_is_bounded() -> None:
    a = ami(max_calls=2)
    for n in range(5):
        a.decode(block("QueueCallerJoin", n, Uniqueid=f"c{n}", Queue="q", Timestamp=100 + n))
    assert len(a._calls) == 2  # oldest calls forgotten first


def test_responses_are_ignored_and_broken_blocks_rejected() -> None:
    a = ami()
    assert a.decode(b"Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n") == []
    with pytest.raises(InvalidEvent, match="without an 'Event:'"):
        a.decode(b"Privilege: call,all\r\nChannel: SIP/1\r\n")
    with pytest.raises(InvalidEvent, match="Key: Value"):
        a.decode(b"Event: Hangup\r\nthis is not a header\r\n")
    with pytest.raises(InvalidEvent, match="no time evidence"):
        ami().decode(block("QueueCallerJoin", 1, Uniqueid="not-a-uniqueid", Queue="q"))


def test_capture_extraction_skips_console_noise() -> None:
    capture = (
        b"  == Manager 'x' logged on from 127.0.0.1\n"
        b"<-- Examining AMI event: -->\n"
        b"Event: QueueCallerJoin\nSequenceNumber: 9\nUniqueid: 1700000000.1\nQueue: q\nAccountCode: \n\n"
        b'    -- Executing [s@ivr:1] Answer("SIP/x", "") in new stack\n'
        b"<-- Examining AMI event: -->\n"
        b"Event: Newexten\r\nSequenceNumber: 10\r\nUniqueid: 1700000000.1\r\n\r\n"
        b"Asterisk Call Manager/5.0.1\r\n"
        b"Response: Success\r\nMessage: ok\r\n\r\n"
    )
    found = list(iter_ami_blocks(capture))
    assert [b.split(b"\n", 1)[0] for b in found] == [
        b"Event: QueueCallerJoin",
        b"Event: Newexten",
        b"Response: Success",
    ]
    assert b"AccountCode: \n" in found[0]


@given(st.binary(max_size=300))
def test_any_bytes_decode_or_raise_invalid_event(data: bytes) -> None:
    try:
        events = ami().decode(data)
    except InvalidEvent:
        return
    assert_round_trip(events)


@given(
    st.lists(
        st.sampled_from(
            [
                "QueueCallerJoin",
                "QueueCallerLeave",
                "AgentConnect",
                "AgentComplete",
                "Hangup",
                "Hold",
                "QueueCallerAbandon",
            ]
        ),
        max_size=12,
    )
)
def test_any_sequence_of_queue_events_for_one_call_decodes(names: list[str]) -> None:
    a = ami()
    for n, name in enumerate(names):
        fields = {
            "Uniqueid": "1700000000.5",
            "Queue": "q",
            "MemberName": "A",
            "HoldTime": 3,
            "TalkTime": 4,
            "RingTime": 1,
            "DestUniqueid": "1700000002.6",
        }
        assert_round_trip(a.decode(block(name, n, **fields)))


LONG_ID = "1700000000." + "9" * 200  # over the 128 characters of a canonical id
LONG_NAME = "q" * 65  # over the 64 characters of a canonical name


@pytest.mark.parametrize(
    ("event", "fields", "reason"),
    [
        ("QueueCallerJoin", {"Uniqueid": LONG_ID, "Queue": "sales"}, "Uniqueid is 211 characters"),
        ("QueueCallerJoin", {"Uniqueid": "u9", "Queue": LONG_NAME}, "Queue is 65 characters, more than 64"),
        ("AgentConnect", {"Uniqueid": LONG_ID, "Queue": "sales", "MemberName": "A"}, "Uniqueid is 211"),
        ("AgentConnect", {"Uniqueid": "u9", "Queue": LONG_NAME, "MemberName": "A"}, "Queue is 65"),
        ("AgentConnect", {"Uniqueid": "u9", "Queue": "sales", "MemberName": "A" * 129}, "member"),
        (
            "AgentConnect",
            {"Uniqueid": "u9", "Queue": "sales", "MemberName": "A", "DestUniqueid": LONG_ID},
            "DestUniqueid is 211 characters, more than 128",
        ),
        ("QueueCallerAbandon", {"Uniqueid": "u1", "Queue": LONG_NAME}, "Queue is 65"),
        ("AgentComplete", {"Uniqueid": "u1", "MemberName": "A" * 129}, "member .* 129 characters"),
    ],
)
def test_oversized_values_are_rejected_before_the_call_state_changes(
    event: str, fields: dict[str, str], reason: str
) -> None:
    # Until 2026-12-07 the state was written before the event was checked: 10,000 rejected
    # AgentConnect blocks with 20 KB values stayed in the call maps (654 MB).
    a = ami()
    a.decode(block("QueueCallerJoin", 1, Uniqueid="u1", Queue="sales", Timestamp=100))
    a.decode(
        block(
            "AgentConnect", 2, Uniqueid="u1", Queue="sales", MemberName="A", DestUniqueid="m1", Timestamp=105
        )
    )
    with pytest.raises(InvalidEvent, match=reason):
        a.decode(block(event, 3, Timestamp=110, **fields))
    assert list(a._calls._data) == ["u1"] and list(a._agent_side._data) == ["m1"]
    assert a._calls.get("u1") == _Call(queue="sales", joined=100, agent="A", connected=105, agent_uid="m1")


def test_a_rejected_record_does_not_move_the_time_estimate() -> None:
    a = ami()
    a.decode(block("Newchannel", 1, Uniqueid="1764320000.1"))
    with pytest.raises(InvalidEvent, match="Queue is 65"):
        a.decode(block("QueueCallerJoin", 2, Uniqueid="1764320500.2", Queue=LONG_NAME))
    (pause,) = a.decode(block("QueueMemberPause", 3, Interface="SIP/100", Paused=0))
    assert pause.ts == at(1764320000)


def test_time_evidence_outside_1980_2100_or_over_a_day_ahead_is_ignored() -> None:
    # One garbled Uniqueid (year 2286) used to move the estimate, which never moves back, so every
    # later event without a Timestamp header was dated 2286 and rejected until a restart.
    a = ami()
    a.decode(block("Newchannel", 1, Uniqueid="100000000.1"))  # 1973: not evidence
    with pytest.raises(InvalidEvent, match="no time evidence"):
        a.decode(block("QueueMemberPause", 2, Interface="SIP/100", Paused=0))
    a.decode(block("Newchannel", 3, Uniqueid="1764320000.1"))
    for n, noise in enumerate(["9999999999.7", "4102444800.1", f"{1764320000 + 86_401}.1"]):
        a.decode(block("Newchannel", 10 + n, Uniqueid=noise))
        (pause,) = a.decode(block("QueueMemberPause", 20 + n, Interface="SIP/100", Paused=0))
        assert pause.ts == at(1764320000)
    a.decode(block("Newchannel", 30, Uniqueid=f"{1764320000 + 86_400}.2"))  # a day ahead at most: taken
    (pause,) = a.decode(block("QueueMemberPause", 31, Interface="SIP/100", Paused=0))
    assert pause.ts == at(1764320000 + 86_400)
