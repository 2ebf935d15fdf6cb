"""asterisk-ami on a real console capture of one queued call (../shared/data/asterisk/ami-capture-…)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from services.ingest.adapters import AmiAdapter, get_adapter
from services.ingest.adapters.ami import parse_block
from services.ingest.vendor_files import iter_records
from shared.events import CallAnswered, CallEnded, CallQueued, dedup_key, event_type
from tests.adapters._support import assert_round_trip, decode_all, real_file

FILE = "asterisk/ami-capture-single-queue-call.log"
CALL = "1514295827.372"


def blocks() -> list[bytes]:
    return [value for _, value in iter_records(real_file(FILE), "asterisk-ami")]


def adapter() -> AmiAdapter:
    return get_adapter("asterisk-ami", site="callme", source="ami-test")  # type: ignore[return-value]


def test_the_capture_holds_221_event_blocks_16_of_them_twice() -> None:
    found = blocks()
    assert len(found) == 221
    fields = [parse_block(b) for b in found]
    assert all("Event" in f for f in fields)
    seqs = Counter(f["SequenceNumber"] for f in fields)
    twice = {s for s, n in seqs.items() if n == 2}
    assert len(twice) == 16 and max(seqs.values()) == 2
    by_seq: dict[str, set[bytes]] = {}
    for b, f in zip(found, fields, strict=True):
        by_seq.setdefault(f["SequenceNumber"], set()).add(b)
    assert all(len(by_seq[s]) == 1 for s in twice)  # the repeats are byte-identical


def test_one_call_queued_answered_ended() -> None:
    a = adapter()
    decoded = decode_all(a, iter_records(real_file(FILE), "asterisk-ami"))
    assert decoded.rejected == []
    assert [event_type(e) for e in decoded.events] == [
        "call.queued",
        "call.answered",
        "call.ended",
        "call.wrapped",
    ]
    queued, answered, ended, _wrapped = decoded.events
    assert (
        isinstance(queued, CallQueued) and isinstance(answered, CallAnswered) and isinstance(ended, CallEnded)
    )
    assert {getattr(e, "call", None) for e in decoded.events} == {CALL}
    assert queued.queue == answered.queue == "Q1"
    assert answered.agent == ended.agent == "SIP/777"
    assert answered.wait_s == 9  # AgentConnect HoldTime
    assert ended.talk_s == 3  # AgentComplete TalkTime
    assert queued.id == f"{CALL}:QueueCallerJoin:7757:call.queued"
    assert_round_trip(decoded.events)
    assert a.redelivered == 16


def test_times_are_estimated_from_the_channels_when_timestampevents_is_off() -> None:
    # No Timestamp headers in this capture. Timeline (epoch s):
    #   827 caller channel created (Uniqueid)   → queued at the latest evidence, 827
    #   839 member channel created = ring start (DestUniqueid); RingTime 9 → answered at 848
    #   848 + TalkTime 3                          → ended / wrapped at 851
    decoded = decode_all(adapter(), iter_records(real_file(FILE), "asterisk-ami"))
    at = [e.ts for e in decoded.events]
    epoch = dt.datetime.fromtimestamp(1514295827, tz=dt.UTC)
    assert [(t - epoch).total_seconds() for t in at] == [0, 21, 24, 24]


def test_duplicated_blocks_give_identical_answers_and_ids() -> None:
    a = adapter()
    seen: dict[bytes, list[object]] = {}
    for block in blocks():
        out = a.decode(block)
        if block in seen:
            assert out == seen[block]
        seen[block] = list(out)
    # Redeliver the whole capture (a second manager session): the same events, so dedup drops them all.
    first = decode_all(adapter(), iter_records(real_file(FILE), "asterisk-ami")).events
    b = adapter()
    twice = [e for blk in blocks() + blocks() for e in b.decode(blk)]
    assert twice == first + first
    assert len({dedup_key(e) for e in twice}) == 4


def test_noise_is_counted_as_ignored() -> None:
    a = adapter()
    decoded = decode_all(a, iter_records(real_file(FILE), "asterisk-ami"))
    assert a.ignored["VarSet"] == 100 and a.ignored["Newexten"] == 63
    assert a.ignored["RTCPReceived"] + a.ignored["RTCPSent"] == 9
    assert sum(a.ignored.values()) == decoded.empty == 221 - 3  # Join, Connect, Complete became events


def test_deterministic_across_runs() -> None:
    one = decode_all(adapter(), iter_records(real_file(FILE), "asterisk-ami")).events
    two = decode_all(adapter(), iter_records(real_file(FILE), "asterisk-ami")).events
    assert one == two and [e.ts for e in one] == [e.ts for e in two]
