"""amazon-connect-agent and amazon-connect-ctr edge cases on hand-written records."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.adapters import get_adapter
from shared.events import (
    AgentLogin,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallWrapped,
    InvalidEvent,
    event_type,
)
from tests.adapters._support import assert_round_trip

ARN = "arn:aws:connect:eu-west-1:000000000000:instance/i-1/agent/a-42"


def contact(state: str, since: str, **extra: Any) -> dict[str, Any]:
    return {
        "ContactId": "k-1",
        "Channel": "VOICE",
        "State": state,
        "StateStartTimestamp": since,
        "Queue": {"Name": "billing", "ARN": "arn:x/queue/q-1"},
        **extra,
    }


def agent_event(
    kind: str,
    prev: list[dict[str, Any]],
    cur: list[dict[str, Any]],
    *,
    status: str = "Available",
    prev_status: str = "Available",
    eid: str = "e-1",
    ts: str = "2024-03-01T10:00:00Z",
) -> bytes:
    def snap(s: str, contacts: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "AgentStatus": {"Name": s, "StartTimestamp": "2024-03-01T09:00:00Z"},
            "Configuration": {
                "Username": "jdoe",
                "AgentHierarchyGroups": {"Level1": {"Name": "EMEA"}, "Level2": {"Name": "Team 7"}},
                "RoutingProfile": {
                    "InboundQueues": [{"Name": None, "ARN": "arn:x/queue/agent/a-42"}, {"Name": "billing"}]
                },
            },
            "Contacts": contacts,
        }

    doc = {
        "EventType": kind,
        "EventId": eid,
        "EventTimestamp": ts,
        "AgentARN": ARN,
        "PreviousAgentSnapshot": snap(prev_status, prev),
        "CurrentAgentSnapshot": snap(status, cur),
    }
    return json.dumps(doc).encode()


def agent(**options: object) -> Any:
    return get_adapter("amazon-connect-agent", site="s1", source="connect", **options)


def test_answer_hold_resume_end_wrap() -> None:
    # Timeline: queued 09:59:50 · connected 10:00:00 · hold 10:01 · resumed 10:02 · ended 10:03
    #           · ACW over 10:04.
    a = agent()
    connected = contact(
        "CONNECTED",
        "2024-03-01T10:00:00Z",
        QueueTimestamp="2024-03-01T09:59:50Z",
        ConnectedToAgentTimestamp="2024-03-01T10:00:00Z",
    )
    on_hold = {**connected, "State": "CONNECTED_ONHOLD", "StateStartTimestamp": "2024-03-01T10:01:00Z"}
    back = {**connected, "StateStartTimestamp": "2024-03-01T10:02:00Z"}
    ended = {**connected, "State": "ENDED", "StateStartTimestamp": "2024-03-01T10:03:00Z"}
    steps = [
        agent_event("STATE_CHANGE", [], [connected], eid="e1"),
        agent_event("STATE_CHANGE", [connected], [on_hold], eid="e2"),
        agent_event("STATE_CHANGE", [on_hold], [back], eid="e3"),
        agent_event("STATE_CHANGE", [back], [ended], eid="e4"),
        agent_event("STATE_CHANGE", [ended], [], eid="e5", ts="2024-03-01T10:04:00Z"),
    ]
    out = [e for s in steps for e in a.decode(s)]
    assert [event_type(e) for e in out] == [
        "call.answered",
        "agent.state",
        "call.held",
        "call.resumed",
        "call.ended",
        "call.wrapped",
    ]
    answered = out[0]
    assert (
        isinstance(answered, CallAnswered)
        and answered.wait_s == 10
        and answered.queue == "billing"
        and answered.agent == "a-42"
    )
    assert out[4].talk_s == 180
    assert isinstance(out[5], CallWrapped) and out[5].ts.minute == 4
    assert_round_trip(out)


def test_a_contact_that_vanishes_while_connected_ends_and_wraps_at_once() -> None:
    c = contact("CONNECTED", "2024-03-01T10:00:00Z", ConnectedToAgentTimestamp="2024-03-01T10:00:00Z")
    out = agent().decode(agent_event("STATE_CHANGE", [c], [], ts="2024-03-01T10:00:30Z"))
    assert [event_type(e) for e in out] == ["call.ended", "call.wrapped", "agent.state"]
    assert out[0].talk_s == 30


def test_status_changes_and_login_logout() -> None:
    a = agent(agent_key="username")
    (login,) = a.decode(agent_event("LOGIN", [], []))
    assert (
        isinstance(login, AgentLogin)
        and login.agent == "jdoe"
        and login.team == "Team 7"
        and login.queues == ["billing"]
    )
    (brk,) = a.decode(agent_event("STATE_CHANGE", [], [], status="Break", eid="e2"))
    assert isinstance(brk, AgentStateChanged) and (brk.state, brk.reason) == ("not_ready", "break")
    assert a.decode(agent_event("HEART_BEAT", [], [], status="Break", prev_status="Break", eid="e3")) == []
    assert event_type(a.decode(agent_event("LOGOUT", [], [], eid="e4"))[0]) == "agent.logout"


def test_chat_contacts_are_left_out_unless_asked_for() -> None:
    chat = {**contact("CONNECTED", "2024-03-01T10:00:00Z"), "Channel": "CHAT"}
    rec = agent_event("STATE_CHANGE", [], [chat])
    assert [event_type(e) for e in agent().decode(rec)] == ["agent.state"]
    assert "call.answered" in [event_type(e) for e in agent(channels=["VOICE", "CHAT"]).decode(rec)]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (b"[]", "expected a JSON object"),
        (b"{not json", "not valid JSON"),
        (b'{"EventId": "e", "EventTimestamp": "2024-03-01T10:00:00Z", "AgentARN": "x"}', "without EventType"),
        (
            b'{"EventType": "LOGIN", "EventTimestamp": "2024-03-01T10:00:00Z", "AgentARN": "x"}',
            "without EventId",
        ),
        (
            b'{"EventType": "LOGIN", "EventId": "e", "EventTimestamp": "yesterday", "AgentARN": "x"}',
            "EventTimestamp",
        ),
        (
            b'{"EventType": "LOGIN", "EventId": "e", "EventTimestamp": "2024-03-01T10:00:00", "AgentARN": 1}',
            "no UTC offset",
        ),
        (
            b'{"EventType": "LOGIN", "EventId": "e", "EventTimestamp": "2024-03-01T10:00:00Z"}',
            "without AgentARN",
        ),
    ],
)
def test_unreadable_agent_events_say_why(record: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        agent().decode(record)


def ctr(**over: Any) -> bytes:
    doc: dict[str, Any] = {
        "ContactId": "c-9",
        "Channel": "VOICE",
        "InitiationMethod": "INBOUND",
        "Queue": {
            "Name": "billing",
            "EnqueueTimestamp": "2024-03-01T10:00:00Z",
            "DequeueTimestamp": "2024-03-01T10:00:45Z",
            "Duration": 45,
        },
        "Agent": None,
        "DisconnectTimestamp": "2024-03-01T10:00:45Z",
        "DisconnectReason": "CUSTOMER_DISCONNECT",
        "Attributes": {"disposition": "SALE"},
        "LastUpdateTimestamp": "2024-03-01T10:01:00Z",
    }
    doc.update(over)
    return json.dumps(doc).encode()


def ctr_adapter(**options: object) -> Any:
    return get_adapter("amazon-connect-ctr", site="s1", source="ctr", **options)


def test_ctr_of_a_caller_who_gave_up_in_queue() -> None:
    out = ctr_adapter().decode(ctr())
    assert [event_type(e) for e in out] == ["call.queued", "call.abandoned"]
    assert isinstance(out[1], CallAbandoned) and out[1].wait_s == 45 and out[1].cause == "caller"


def test_ctr_outcome_attribute_and_no_synthetic_hold() -> None:
    part = {
        "ARN": ARN,
        "Username": "jdoe",
        "ConnectedToAgentTimestamp": "2024-03-01T10:00:45Z",
        "AgentInteractionDuration": 100,
        "CustomerHoldDuration": 20,
        "AfterContactWorkStartTimestamp": "2024-03-01T10:02:45Z",
        "AfterContactWorkEndTimestamp": "2024-03-01T10:03:15Z",
    }
    out = ctr_adapter(outcome_attribute="disposition", synthesize_hold=False).decode(ctr(Agent=part))
    assert [event_type(e) for e in out] == ["call.queued", "call.answered", "call.ended", "call.wrapped"]
    assert out[-1].outcome.code == "SALE"
    with_hold = ctr_adapter().decode(ctr(Agent=part))
    assert [event_type(e) for e in with_hold][2:4] == ["call.held", "call.resumed"]
    assert (with_hold[3].ts - with_hold[2].ts).total_seconds() == 20


def test_ctr_rejects_what_is_not_a_ctr() -> None:
    with pytest.raises(InvalidEvent, match="agent event"):
        ctr_adapter().decode(b'{"EventType": "HEART_BEAT"}')
    assert ctr_adapter().decode(ctr(Channel="TASK")) == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "EventType",
                    "EventId",
                    "EventTimestamp",
                    "AgentARN",
                    "CurrentAgentSnapshot",
                    "PreviousAgentSnapshot",
                    "Contacts",
                    "AgentStatus",
                    "Name",
                    "ContactId",
                    "State",
                    "Channel",
                    "Queue",
                    "Agent",
                    "ConnectedToAgentTimestamp",
                    "EnqueueTimestamp",
                    "Duration",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@given(json_values)
def test_any_json_decodes_or_raises_invalid_event(doc: object) -> None:
    for a in (agent(), ctr_adapter()):
        with contextlib.suppress(InvalidEvent):
            assert_round_trip(a.decode(json.dumps(doc).encode()))
