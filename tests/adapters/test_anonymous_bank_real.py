"""anonymous-bank on the Technion files (../shared/data/anonymous-bank/1999-01.txt, 1999-10.txt)."""

from __future__ import annotations

import statistics
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from services.ingest.adapters import get_adapter
from services.ingest.vendor_files import iter_records
from shared.events import CallAbandoned, CallAnswered, CallEnded, CallQueued, dedup_key
from tests.adapters._support import Decoded, assert_round_trip, decode_file, real_file

JAN, OCT = "anonymous-bank/1999-01.txt", "anonymous-bank/1999-10.txt"
TZ = ZoneInfo("Asia/Jerusalem")


def run(rel: str, **options: str) -> tuple[Decoded, Counter[str]]:
    adapter = get_adapter("anonymous-bank", site="bank", source="technion", tz="Asia/Jerusalem", **options)
    decoded = decode_file(adapter, real_file(rel), "anonymous-bank")
    return decoded, adapter.ignored  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def january() -> tuple[Decoded, Counter[str]]:
    return run(JAN)


@pytest.fixture(scope="module")
def october() -> tuple[Decoded, Counter[str]]:
    return run(OCT)


def summary(decoded: Decoded) -> dict[str, float]:
    queued = {e.call for e in decoded.events if isinstance(e, CallQueued)}
    after_queue = [e for e in decoded.events if isinstance(e, CallAnswered) and e.call in queued]
    return {
        "queued": len(queued),
        "answered_after_queue": len(after_queue),
        "answered_direct": sum(
            1 for e in decoded.events if isinstance(e, CallAnswered) and e.call not in queued
        ),
        "abandoned_caller": sum(
            1 for e in decoded.events if isinstance(e, CallAbandoned) and e.cause == "caller"
        ),
        "mean_wait": statistics.mean(e.wait_s or 0.0 for e in after_queue),
    }


def test_january_every_call_read(january: tuple[Decoded, Counter[str]]) -> None:
    decoded, ignored = january
    assert decoded.records == 31_599 and decoded.rejected == []
    # Calls that left no trace on the floor: hung up in the VRU, and the virtual PHANTOM calls.
    assert ignored == {"HANG before queueing": 1198, "PHANTOM": 240}


def test_january_matches_the_published_figures(january: tuple[Decoded, Counter[str]]) -> None:
    decoded, ignored = january
    s = summary(decoded)
    # PROVENANCE / Brown et al.: queued 16,926 (incl. 240 PHANTOM), answered after queue 13,585,
    # abandoned (HANG after queue) 3,101, mean wait of answered-after-queue 69.8 s.
    assert s["queued"] + ignored["PHANTOM"] == 16_926
    assert s["answered_after_queue"] == 13_585
    assert s["abandoned_caller"] == 3_101
    assert s["mean_wait"] == pytest.approx(69.8, abs=0.1)
    assert s["answered_direct"] == 13_475  # AGENT calls that never queued still answer and end
    assert decoded.count()["call.ended"] == decoded.count()["call.wrapped"] == 13_585 + 13_475


def test_january_with_phantoms_kept_queues_16926_and_closes_them_without_cause() -> None:
    decoded, _ = run(JAN, phantom="abandon")
    s = summary(decoded)
    assert s["queued"] == 16_926
    assert s["abandoned_caller"] == 3_101
    causes = Counter(e.cause for e in decoded.events if isinstance(e, CallAbandoned))
    assert causes == {"caller": 3_101, None: 240}


def test_services_crossing_midnight_end_on_the_next_day(january: tuple[Decoded, Counter[str]]) -> None:
    decoded, _ = january
    answered = {e.call: e for e in decoded.events if isinstance(e, CallAnswered)}
    crossing = 0
    for ended in (e for e in decoded.events if isinstance(e, CallEnded)):
        start = answered[ended.call]
        assert ended.ts >= start.ts
        if ended.ts.astimezone(TZ).date() > start.ts.astimezone(TZ).date():
            crossing += 1
            assert (ended.ts - start.ts).total_seconds() == ended.talk_s
    assert crossing == 21  # PROVENANCE: 21 services cross midnight in January


def test_local_times_carry_the_israeli_offset(january: tuple[Decoded, Counter[str]]) -> None:
    decoded, _ = january
    assert {e.ts.utcoffset().total_seconds() for e in decoded.events} == {7200.0}  # type: ignore[union-attr]  # IST, no DST in January


def test_january_round_trips_and_ids_are_unique_and_deterministic(
    january: tuple[Decoded, Counter[str]],
) -> None:
    decoded, _ = january
    assert_round_trip(decoded.events)
    assert len({dedup_key(e) for e in decoded.events}) == len(decoded.events)
    again, _ = run(JAN)
    assert again.ids() == decoded.ids()


def test_october_rejects_the_two_malformed_rows_with_reasons(october: tuple[Decoded, Counter[str]]) -> None:
    decoded, ignored = october
    assert decoded.records == 34_625
    assert len(decoded.rejected) == 2
    for raw, reason in decoded.rejected:
        assert b"\t991026\t" in raw
        assert "expected 17 tab-separated fields, got 16" in reason and "TAB" in reason
    s = summary(decoded)
    # PROVENANCE: queued 12,064, answered after queue 9,811, abandoned 2,106, mean wait 73.0 s.
    assert s["queued"] + ignored["PHANTOM"] == 12_064  # all 147 PHANTOM calls had queued
    assert s["answered_after_queue"] == 9_811
    assert s["abandoned_caller"] == 2_106
    assert s["mean_wait"] == pytest.approx(73.0, abs=0.1)
    assert_round_trip(decoded.events)


def test_reader_skips_the_header_and_strips_crlf() -> None:
    records = list(iter_records(real_file(JAN), "anonymous-bank"))
    assert len(records) == 31_599
    assert not any(v.endswith(b"\r") or v.startswith(b"vru+line") for _, v in records)
