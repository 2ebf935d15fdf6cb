"""Hostile input against the canonical decoder and every vendor adapter (issue 9, defect 2).

The contract (services/ingest/adapters/base.py): a record decodes to canonical events or raises
``InvalidEvent`` with a reason — never any other exception. Each test starts from a valid record
of its format and plants one hostile value at a random place: JSON nested thousands deep, numbers
far beyond 64 bits (and ``1e999``), odd unicode (lone surrogates, NUL, bidi controls, astral
characters, very long text), and a value of the wrong type in every field. And whatever an
adapter does, ``triage`` turns every record into events or a rejection with a reason: no
exception leaves it, so one record can never stop the consumer.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.adapters import ADAPTERS, get_adapter
from services.ingest.core import Decoder, RawRecord, triage
from shared.events import Event, InvalidEvent, decode_event, encode_event

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# -- valid records to start from ------------------------------------------------------------------
CANONICAL: list[dict[str, Any]] = [
    {"v": 1, "id": "e1", "source": "pbx", "type": "agent.login", "ts": "2026-11-28T09:00:00+08:00",
     "site": "bj", "agent": "a1", "team": "t1", "queues": ["sales", "care"], "seat": "s1"},
    {"v": 1, "id": "e2", "source": "pbx", "type": "call.wrapped", "ts": "2026-11-28T09:00:00Z",
     "site": "bj", "call": "c1", "agent": "a1",
     "outcome": {"code": "sale", "success": True, "reason": "ok", "follow_up_at": "2026-11-29T09:00:00Z"}},
    {"v": 1, "id": "e3", "source": "pbx", "type": "call.answered", "ts": "2026-11-28T09:00:00Z", "site": "bj",
     "call": "c1", "queue": "sales", "agent": "a1", "wait_s": 12.5, "extra": {"kept": [1, 2]}},
    {"v": 1, "id": "e4", "source": "pbx", "type": "call.queued", "ts": "2026-11-28T09:00:00Z", "site": "bj",
     "call": "c1", "queue": "sales", "campaign": "x", "priority": 3},
]

_ARN = "arn:aws:connect:eu-west-1:000000000000:instance/i-1/agent/a-42"
_CONTACT = {
    "ContactId": "k-1", "Channel": "VOICE", "State": "CONNECTED",
    "StateStartTimestamp": "2024-03-01T10:00:00Z",
    "QueueTimestamp": "2024-03-01T09:59:50Z", "ConnectedToAgentTimestamp": "2024-03-01T10:00:00Z",
    "Queue": {"Name": "billing", "ARN": "arn:x/queue/q-1"},
}


def _snapshot(status: str, contacts: list[Any]) -> dict[str, Any]:
    return {
        "AgentStatus": {"Name": status, "StartTimestamp": "2024-03-01T09:00:00Z"},
        "Configuration": {
            "Username": "jdoe",
            "AgentHierarchyGroups": {"Level1": {"Name": "EMEA"}, "Level2": {"Name": "Team 7"}},
            "RoutingProfile": {"InboundQueues": [{"Name": "billing", "ARN": "arn:x/queue/q-1"}]},
        },
        "Contacts": contacts,
    }


CONNECT_AGENT: list[dict[str, Any]] = [
    {"EventType": "STATE_CHANGE", "EventId": "e-1", "EventTimestamp": "2024-03-01T10:00:00Z",
     "AgentARN": _ARN,
     "PreviousAgentSnapshot": _snapshot("Available", []),
     "CurrentAgentSnapshot": _snapshot("Available", [_CONTACT])},
    {"EventType": "LOGIN", "EventId": "e-2", "EventTimestamp": "2024-03-01T10:00:00Z", "AgentARN": _ARN,
     "CurrentAgentSnapshot": _snapshot("Available", [])},
]
CONNECT_CTR: list[dict[str, Any]] = [
    {"ContactId": "c-9", "Channel": "VOICE", "InitiationMethod": "INBOUND",
     "Queue": {"Name": "billing", "EnqueueTimestamp": "2024-03-01T10:00:00Z",
               "DequeueTimestamp": "2024-03-01T10:00:45Z", "Duration": 45},
     "Agent": {"Username": "jdoe", "ConnectedToAgentTimestamp": "2024-03-01T10:00:45Z",
               "AgentInteractionDuration": 120, "CustomerHoldDuration": 10, "AfterContactWorkDuration": 30,
               "AfterContactWorkStartTimestamp": "2024-03-01T10:02:45Z",
               "AfterContactWorkEndTimestamp": "2024-03-01T10:03:15Z"},
     "DisconnectTimestamp": "2024-03-01T10:02:45Z", "DisconnectReason": "CUSTOMER_DISCONNECT",
     "Attributes": {"disposition": "SALE"}, "LastUpdateTimestamp": "2024-03-01T10:03:15Z"},
]
QUEUE_LOG = [
    ["1700000000", "1700000000.1", "sales", "NONE", "ENTERQUEUE", "", "5551234", "1"],
    ["1700000012", "1700000000.1", "sales", "SIP/201", "CONNECT", "12", "1700000010.2", "4"],
    ["1700000100", "1700000000.1", "sales", "SIP/201", "COMPLETECALLER", "12", "88", "1"],
    ["1700000100", "NONE", "NONE", "SIP/201", "PAUSE", "lunch"],
]
AMI = [
    {"Event": "QueueCallerJoin", "SequenceNumber": "1", "Uniqueid": "1700000000.7", "Queue": "sales",
     "Timestamp": "1700000003.250000"},
    {"Event": "AgentConnect", "SequenceNumber": "2", "Uniqueid": "1700000000.7", "Queue": "sales",
     "MemberName": "Alice", "HoldTime": "20", "RingTime": "4", "Timestamp": "1700000023.0"},
    {"Event": "AgentComplete", "SequenceNumber": "3", "Uniqueid": "1700000000.7", "Queue": "sales",
     "MemberName": "Alice", "HoldTime": "20", "TalkTime": "60", "Reason": "caller",
     "Timestamp": "1700000083.0"},
]
BANK = [
    ["ZZ01", "7", "123", "1", "XX", "990315", "10:00:00", "10:00:05", "5", "10:00:05", "10:00:30", "25",
     "AGENT", "10:00:30", "10:01:30", "60", "ALICE"],
]

# -- hostile values -------------------------------------------------------------------------------
ODD_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from([
        "\x00", "\u202e\u2066evil\u2069", "\ufeff", "\U0001f600" * 40, "e\u0301" * 30, "\uffff",
        "\r\n\t",
        "x" * 5000, "\u0000|\t:\n", "Event: Hangup", "|||||", "\t\t\t",
    ]),
)


@st.composite
def deep(draw: st.DrawFn) -> str:
    depth = draw(st.sampled_from([50, 500, 999, 1000, 1001, 3000, 20_000]))
    opener = draw(st.sampled_from(["[", '{"a":']))
    closer = "]" if opener == "[" else "}"
    return opener * depth + closer * depth


HOSTILE_JSON = st.one_of(
    deep(),
    st.integers(1, 20_000).map(lambda k: "9" * k),  # up to 20,000 digits (Python refuses > 4,300)
    st.integers(1, 400).map(lambda k: "-" + "9" * k),
    st.sampled_from(["1e999", "-1e999", "1e-999", "0.0", "-0", "1.5e308", "9223372036854775808",
                     "18446744073709551616", "-9223372036854775809"]),
    ODD_TEXT.map(json.dumps),
    st.sampled_from(['"\\ud800"', '"\\udfff\\ud800"', '"\\u0000"', '"2099-99-99T99:99:99Z"',
                     '"2026-11-28T09:00:00"', '"9999-12-31T23:59:59-23:59"', '"0001-01-01T00:00:00+23:59"']),
    st.sampled_from(["null", "true", "false", "[]", "{}", "0", "[null]", '{"": null}', '[{"Name": 1}]']),
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in ``doc`` a value sits (the root excluded)."""
    out: list[tuple[Any, ...]] = []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        out.append((*prefix, key))
        out.extend(_paths(value, (*prefix, key)))
    return out


def _dump(doc: Any, path: tuple[Any, ...], fragment: str) -> str:
    """``doc`` as JSON text with the raw ``fragment`` at ``path`` (text json.dumps cannot make)."""
    if not path:
        return fragment
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        parts = [f"{json.dumps(k)}:{_dump(v, rest, fragment) if k == head else json.dumps(v)}"
                 for k, v in doc.items()]
        return "{" + ",".join(parts) + "}"
    parts = [_dump(v, rest, fragment) if i == head else json.dumps(v) for i, v in enumerate(doc)]
    return "[" + ",".join(parts) + "]"


@st.composite
def planted_json(draw: st.DrawFn, templates: list[dict[str, Any]]) -> bytes:
    doc = draw(st.sampled_from(templates))
    where = draw(st.sampled_from([*_paths(doc), ("extra_field",)]))
    if where == ("extra_field",):
        doc = {**doc, "extra_field": None}
    return _dump(doc, where, draw(HOSTILE_JSON)).encode("utf-8", "surrogatepass")


@st.composite
def planted_fields(draw: st.DrawFn, rows: list[list[str]], sep: str) -> bytes:
    row = list(draw(st.sampled_from(rows)))
    index = draw(st.integers(0, len(row)))
    value = draw(st.one_of(ODD_TEXT, HOSTILE_JSON))
    if index == len(row):
        row.append(value)
    else:
        row[index] = value
    return sep.join(row).encode("utf-8", "surrogatepass")


@st.composite
def planted_block(draw: st.DrawFn) -> bytes:
    block = dict(draw(st.sampled_from(AMI)))
    key = draw(st.sampled_from([*block, "Extra"]))
    block[key] = draw(st.one_of(ODD_TEXT, HOSTILE_JSON))
    return ("\r\n".join(f"{k}: {v}" for k, v in block.items()) + "\r\n").encode("utf-8", "surrogatepass")


def _adapter(name: str) -> Any:
    return get_adapter(name, site="s1", source="fuzz")


def check_contract(decode: Callable[[bytes], list[Event]], data: bytes) -> None:
    """Events that are valid canonical v1, or ``InvalidEvent`` — any other exception fails the test."""
    try:
        events = decode(data)
    except InvalidEvent as exc:
        assert str(exc), "a rejection must say why"
        return
    for ev in events:
        assert decode_event(encode_event(ev), max_bytes=1 << 30) == ev


# -- the decoder and each adapter -----------------------------------------------------------------
def test_the_issue_poison_pill_is_rejected_with_a_reason() -> None:
    # Issue 9: an extra field nested 1,000 deep (2 KB) raised RecursionError, not InvalidEvent.
    doc = {**CANONICAL[0], "extra_field": None}
    data = _dump(doc, ("extra_field",), "[" * 1000 + "]" * 1000).encode()
    assert len(data) < 2500
    with pytest.raises(InvalidEvent, match="nested too deep"):
        decode_event(data)


@FUZZ
@given(planted_json(CANONICAL))
def test_canonical_decoder(data: bytes) -> None:
    check_contract(lambda d: [decode_event(d, max_bytes=1 << 20)], data)


@FUZZ
@given(planted_json(CANONICAL))
def test_canonical_adapter(data: bytes) -> None:
    check_contract(get_adapter("canonical", site="-", source="-", max_bytes=1 << 20).decode, data)


@FUZZ
@given(st.lists(planted_json(CONNECT_AGENT), min_size=1, max_size=3))
def test_connect_agent_adapter(records: list[bytes]) -> None:
    a = _adapter("amazon-connect-agent")  # state carries over between records: feed a sequence
    for data in records:
        check_contract(a.decode, data)


@FUZZ
@given(planted_json(CONNECT_CTR))
def test_connect_ctr_adapter(data: bytes) -> None:
    check_contract(_adapter("amazon-connect-ctr").decode, data)


@FUZZ
@given(st.lists(planted_fields(QUEUE_LOG, "|"), min_size=1, max_size=4))
def test_queue_log_adapter(records: list[bytes]) -> None:
    a = _adapter("asterisk-queue-log")
    for data in records:
        check_contract(a.decode, data)


@FUZZ
@given(st.lists(planted_block(), min_size=1, max_size=4))
def test_ami_adapter(records: list[bytes]) -> None:
    a = _adapter("asterisk-ami")
    for data in records:
        check_contract(a.decode, data)


@FUZZ
@given(planted_fields(BANK, "\t"))
def test_anonymous_bank_adapter(data: bytes) -> None:
    check_contract(_adapter("anonymous-bank").decode, data)


def test_every_adapter_is_fuzzed() -> None:
    fuzzed = {"canonical", "amazon-connect-agent", "amazon-connect-ctr", "asterisk-queue-log", "asterisk-ami",
              "anonymous-bank"}
    assert set(ADAPTERS) == fuzzed, "a new adapter needs its hostile-input test here"


# -- triage: whatever an adapter raises, the record is rejected with its reason --------------------
class Exploding:
    """An adapter with a bug: each kind of exception a decoder could raise."""

    name = "exploding"

    def __init__(self, exc: BaseException):
        self.exc = exc

    def decode(self, value: bytes, key: bytes | None = None) -> list[Event]:
        raise self.exc


@pytest.mark.parametrize(
    "exc",
    [RecursionError("maximum recursion depth exceeded"), KeyError("Queue"),
     TypeError("'int' is not iterable"), OverflowError("int too large"),
     UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
     ZeroDivisionError("division by zero"), MemoryError()],
)
def test_triage_turns_any_decoder_exception_into_a_rejection(exc: BaseException) -> None:
    good = json.dumps(CANONICAL[0]).encode()
    canonical = get_adapter("canonical", site="-", source="-")
    adapters: dict[str, Decoder] = {"bad": Exploding(exc), "raw": canonical}
    records = [RawRecord("raw", 0, 0, None, good), RawRecord("bad", 0, 1, b"k", b"{}"),
               RawRecord("raw", 0, 2, None, good.replace(b'"e1"', b'"e9"'))]
    out = triage(records, adapters, max_bytes=4096)
    assert [a.event.id for a in out.accepted] == ["e1", "e9"]  # the records around it still pass
    (rej,) = out.rejected
    assert rej.record.offset == 1 and rej.adapter == "exploding" and rej.unexpected
    assert type(exc).__name__ in rej.reason


@FUZZ
@given(st.lists(st.one_of(planted_json(CANONICAL), st.binary(max_size=64)), min_size=1, max_size=8))
def test_triage_accounts_for_every_hostile_record(values: list[bytes]) -> None:
    records = [RawRecord("raw", 0, i, None, v) for i, v in enumerate(values)]
    out = triage(records, {"raw": get_adapter("canonical", site="-", source="-")}, max_bytes=1 << 20)
    assert out.records_accepted + len(out.rejected) + out.ignored == len(records)
    assert all(r.reason for r in out.rejected)
    assert not any(r.unexpected for r in out.rejected), [r.reason for r in out.rejected if r.unexpected]
