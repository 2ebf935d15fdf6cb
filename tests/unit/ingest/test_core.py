"""ingest's pure decisions: every record becomes events or a rejection; duplicates once."""

from __future__ import annotations

import datetime as dt
import hashlib

import orjson

from services.ingest.core import RawRecord, classify_known, triage
from services.ingest.main import CanonicalDecoder
from shared.events import decode_event, encode_event

ADAPTERS = {"raw": CanonicalDecoder(max_bytes=4096)}


def rec(offset: int, value: bytes | None, topic: str = "raw") -> RawRecord:
    return RawRecord(topic, 0, offset, b"bj", value)


def good(eid: str, **extra: object) -> bytes:
    return orjson.dumps(
        {
            "v": 1,
            "id": eid,
            "source": "pbx",
            "type": "agent.logout",
            "ts": "2026-11-28T09:00:00Z",
            "site": "bj",
            "agent": "a1",
            **extra,
        }
    )


def test_every_record_is_accounted_for() -> None:
    records = [
        rec(0, good("a")),
        rec(1, b"garbage"),
        rec(2, None),
        rec(3, good("b")),
        rec(4, good("a")),
        rec(5, b"x" * 5000),
    ]
    out = triage(records, ADAPTERS, max_bytes=4096)
    assert [a.event.id for a in out.accepted] == ["a", "b"]
    assert [r.record.offset for r in out.rejected] == [1, 2, 5]
    assert [a.record.offset for a in out.repeats] == [4]  # decided against the history (duplicate here)
    assert len(out.accepted) + len(out.rejected) + len(out.repeats) + out.ignored == len(records)
    assert out.records_accepted + len(out.rejected) + out.ignored == len(records)
    assert "null value" in out.rejected[1].reason
    assert "too large" in out.rejected[2].reason


def test_canonical_payload_is_forwarded_byte_for_byte() -> None:
    raw = good("a", vendor_field={"kept": True})
    out = triage([rec(0, raw)], ADAPTERS, max_bytes=4096)
    assert out.accepted[0].payload is raw


def test_replay_of_own_batch_is_republished_but_foreign_duplicate_is_not() -> None:
    out = triage([rec(7, good("a")), rec(8, good("b"))], ADAPTERS, max_bytes=4096)
    stored = {("pbx", "a"): (("raw", 0, 7), good("a")), ("pbx", "b"): (("raw", 0, 3), good("b"))}
    known = classify_known(out.accepted, stored)
    assert [a.event.id for a in known.republish] == ["a"]
    assert known.duplicates == 1 and known.conflicts == []


def test_a_reused_id_with_other_content_is_a_conflict_with_both_hashes() -> None:
    # Issue 9, defect 11: these were counted as plain duplicates and dropped silently.
    first, other = good("a"), good("a", ts="2026-11-28T10:00:00Z")
    respelled = orjson.dumps(orjson.loads(first), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
    with_extra = good("a", vendor_note="unknown fields do not count")
    out = triage([rec(0, first), rec(1, other), rec(2, respelled), rec(3, with_extra)], ADAPTERS,
                 max_bytes=4096)
    assert [a.record.offset for a in out.accepted] == [0]
    assert [a.record.offset for a in out.repeats] == [1, 2, 3]
    # Within one batch: the first version is what the history holds once the batch is stored.
    known = classify_known([], {("pbx", "a"): (("raw", 0, 0), first)}, out.repeats)
    assert known.republish == [] and known.duplicates == 2  # same content however spelled
    (conflict,) = known.conflicts
    assert conflict.accepted.record.offset == 1 and conflict.first_origin == ("raw", 0, 0)
    h_first = hashlib.sha256(encode_event(decode_event(first))).hexdigest()
    h_other = hashlib.sha256(encode_event(decode_event(other))).hexdigest()
    assert (conflict.first_hash, conflict.hash) == (h_first, h_other) and h_first != h_other
    assert h_first in conflict.reason and h_other in conflict.reason and "raw[0]@0" in conflict.reason

    # Across batches: the history holds the first version (stored from any spelling).
    later = triage([rec(9, other), rec(10, first)], ADAPTERS, max_bytes=4096)
    again = classify_known(later.accepted, {("pbx", "a"): (("raw", 0, 0), respelled)}, later.repeats)
    assert again.duplicates == 1 and [(c.first_hash, c.hash) for c in again.conflicts] == [(h_first, h_other)]


def test_an_event_too_far_ahead_of_the_clock_is_rejected_with_the_reason() -> None:
    now = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC).timestamp()
    records = [
        rec(0, good("ok", ts="2026-11-28T09:05:00Z")),  # 300 s ahead: at the limit, accepted
        rec(1, good("soon", ts="2026-11-28T09:05:01Z")),  # 301 s ahead
        rec(2, good("y2099", ts="2099-01-01T00:00:00Z")),
        rec(3, good("past", ts="2020-01-01T00:00:00Z")),  # the past is not this bound's business
    ]
    out = triage(records, ADAPTERS, max_bytes=4096, now=now, max_future_skew_s=300)
    y2099_ahead = (dt.date(2099, 1, 1) - dt.date(2026, 11, 28)).days * 86400 - 9 * 3600
    assert [a.event.id for a in out.accepted] == ["ok", "past"]
    assert [(r.record.offset, r.reason) for r in out.rejected] == [
        (1, "event time 2026-11-28T09:05:01+00:00 is 301 s ahead of ingest's clock "
            "(limit 300 s, FLOORWATCH_MAX_FUTURE_SKEW_S)"),
        (2, f"event time 2099-01-01T00:00:00+00:00 is {y2099_ahead} s ahead of ingest's clock "
            "(limit 300 s, FLOORWATCH_MAX_FUTURE_SKEW_S)"),
    ]
    # the broker's own later stamp (LogAppendTime) moves the reference; 0 turns the bound off
    stamped = RawRecord("raw", 0, 1, b"bj", good("soon", ts="2026-11-28T09:05:01Z"), (), now + 60)
    later = triage([stamped], ADAPTERS, max_bytes=4096, now=now, max_future_skew_s=300)
    assert [a.event.id for a in later.accepted] == ["soon"]
    assert len(triage(records, ADAPTERS, max_bytes=4096, now=now, max_future_skew_s=0).accepted) == 4


def test_an_event_outside_the_engines_range_is_rejected_whatever_the_skew_bound() -> None:
    now = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC).timestamp()
    records = [
        rec(0, good("epoch", ts="1970-01-01T00:00:00Z")),
        rec(1, good("y1979", ts="1979-12-31T23:59:59Z")),
        rec(2, good("y1980", ts="1980-01-01T00:00:00Z")),
        rec(3, good("y2100", ts="2100-01-01T00:00:00Z")),
    ]
    for skew in (0, 300):
        out = triage(records, ADAPTERS, max_bytes=4096, now=now, max_future_skew_s=skew)
        assert [a.event.id for a in out.accepted] == ["y1980"]
        assert [r.reason for r in out.rejected] == [
            "event time 1970-01-01T00:00:00+00:00 is outside 1980-01-01 .. 2100-01-01",
            "event time 1979-12-31T23:59:59+00:00 is outside 1980-01-01 .. 2100-01-01",
            "event time 2100-01-01T00:00:00+00:00 is outside 1980-01-01 .. 2100-01-01",
        ]
