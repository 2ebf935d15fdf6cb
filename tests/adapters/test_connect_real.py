"""amazon-connect-agent and amazon-connect-ctr on the real samples in ../shared/data/amazon-connect."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from services.ingest.adapters import get_adapter
from services.ingest.vendor_files import iter_records
from shared.events import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallWrapped,
    Event,
    dedup_key,
    event_type,
)
from tests.adapters._support import assert_round_trip, decode_all, real_file

DIR = "amazon-connect/"
AGENT_SAMPLES = (
    "aws-doc-agent-event-stream-acw-enter.jsonc",
    "aws-doc-agent-event-stream-acw-exit.jsonc",
    "aws-doc-agent-event-stream-heartbeat-nextstatus.jsonc",
)
CONTACT_EVENTS = (
    "aws-doc-contact-event-connected-to-agent.json",
    "aws-doc-contact-event-disconnected-eventbridge.jsonc",
)
CTR = "ctr-duplicated-redelivery-samples.json"


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.mark.parametrize("name", [*AGENT_SAMPLES, *CONTACT_EVENTS, CTR])
def test_every_sample_parses_to_strict_json_despite_comments_commas_and_the_stray_brace(name: str) -> None:
    fmt = "amazon-connect-ctr" if name == CTR else "amazon-connect-agent"
    records = [value for _, value in iter_records(real_file(DIR + name), fmt)]
    assert len(records) == (6 if name == CTR else 1)
    assert all(isinstance(json.loads(r), dict) for r in records)


def test_the_misplaced_brace_is_repaired_where_it_belongs() -> None:
    (record,) = [v for _, v in iter_records(real_file(DIR + AGENT_SAMPLES[2]), "amazon-connect-agent")]
    doc = json.loads(record)
    current = doc["CurrentAgentSnapshot"]
    assert set(current) >= {"AgentStatus", "NextAgentStatus", "Configuration", "Contacts"}
    assert "Configuration" not in doc and doc["EventType"] == "HEART_BEAT"


def agent_events(name: str, adapter: object | None = None) -> list[object]:
    a = adapter or get_adapter("amazon-connect-agent", site="aws", source="connect-test")
    decoded = decode_all(a, iter_records(real_file(DIR + name), "amazon-connect-agent"))  # type: ignore[arg-type]
    assert decoded.rejected == []
    assert_round_trip(decoded.events)
    return decoded.events  # type: ignore[return-value]


def test_entering_acw_ends_the_call_and_leaving_it_wraps_it() -> None:
    # Timeline: 18:55:21.011 connected · 18:55:27.017 ENDED (ACW starts) · 18:55:32.022 contact gone.
    a = get_adapter("amazon-connect-agent", site="aws", source="connect-test")
    enter = agent_events(AGENT_SAMPLES[0], a)
    ended = [e for e in enter if isinstance(e, CallEnded)]
    assert len(ended) == 1 and ended[0].call == "ContactId-1" and ended[0].agent == "agent-ARN"
    assert ended[0].ts == utc("2019-05-25T18:55:27.017Z")
    assert ended[0].talk_s == pytest.approx(6.006)
    # The adapter had never seen this agent: it also states the status it is in (Available).
    assert [(e.state, e.reason) for e in enter if isinstance(e, AgentStateChanged)] == [("available", None)]
    (wrapped,) = agent_events(AGENT_SAMPLES[1], a)
    assert isinstance(wrapped, CallWrapped) and wrapped.call == "ContactId-1"
    assert (wrapped.ts - ended[0].ts).total_seconds() == pytest.approx(5.005)  # the ACW time


def test_heartbeat_states_the_current_status_once_and_ignores_the_next_status() -> None:
    a = get_adapter("amazon-connect-agent", site="aws", source="connect-test")
    (state,) = agent_events(AGENT_SAMPLES[2], a)
    assert isinstance(state, AgentStateChanged) and (state.state, state.reason) == ("available", None)
    assert agent_events(AGENT_SAMPLES[2], a) == []  # nothing new: the Lunch request is not a change yet


@pytest.mark.parametrize("name", CONTACT_EVENTS)
def test_contact_events_are_rejected_with_a_reason_not_a_crash(name: str) -> None:
    for fmt in ("amazon-connect-agent", "amazon-connect-ctr"):
        decoded = decode_all(
            get_adapter(fmt, site="aws", source="t"), iter_records(real_file(DIR + name), fmt)
        )
        assert decoded.events == [] and len(decoded.rejected) == 1
        assert "contact event" in decoded.rejected[0][1] or "ContactId" in decoded.rejected[0][1]


def ctr_run() -> list[list[Event]]:
    a = get_adapter("amazon-connect-ctr", site="aws", source="ctr-test")
    return [a.decode(v, k) for k, v in iter_records(real_file(DIR + CTR), "amazon-connect-ctr")]


def test_six_ctr_deliveries_make_one_lifecycle() -> None:
    per_record = ctr_run()
    assert len(per_record) == 6
    versions = {
        json.loads(v)["LastUpdateTimestamp"]
        for _, v in iter_records(real_file(DIR + CTR), "amazon-connect-ctr")
    }
    assert len(versions) == 3
    # Redeliveries and later versions (changed attributes) give the very same events and ids.
    assert all(events == per_record[0] for events in per_record)
    kept = {dedup_key(e): e for events in per_record for e in events}
    assert len(kept) == 7
    life = per_record[0]
    assert [event_type(e) for e in life] == [
        "call.queued",
        "call.answered",
        "call.held",
        "call.resumed",
        "call.transferred",
        "call.ended",
        "call.wrapped",
    ]
    assert_round_trip(life)
    queued, answered, held, resumed, transferred, ended, wrapped = life
    assert isinstance(answered, CallAnswered) and isinstance(ended, CallEnded)
    assert answered.queue == "TCC Refrig AC LLA" and answered.wait_s == 346
    assert ended.talk_s == 239
    assert (resumed.ts - held.ts).total_seconds() == 221  # CustomerHoldDuration
    assert (wrapped.ts - ended.ts).total_seconds() == 5  # AfterContactWorkDuration
    assert queued.ts == utc("2022-01-05T17:14:46Z") and transferred.ts == ended.ts


def test_ctr_ids_are_deterministic_across_runs() -> None:
    assert ctr_run() == ctr_run()
