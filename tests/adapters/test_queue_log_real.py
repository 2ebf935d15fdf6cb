"""asterisk-queue-log on the real PBXware export (../shared/data/asterisk/pbxware-queue-log-2018.csv)."""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter, defaultdict

import pytest

from services.ingest.adapters import get_adapter
from services.ingest.vendor_files import iter_records
from shared.events import CallAbandoned, CallAnswered, CallEnded
from tests.adapters._support import Decoded, assert_round_trip, decode_file, real_file

FILE = "asterisk/pbxware-queue-log-2018.csv"


def run() -> Decoded:
    adapter = get_adapter("asterisk-queue-log", site="it-floor", source="pbxware-test")
    return decode_file(adapter, real_file(FILE), "asterisk-queue-log")


@pytest.fixture(scope="module")
def decoded() -> Decoded:
    return run()


def vendor_rows() -> list[dict[str, str]]:
    with real_file(FILE).open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_row_is_read_and_none_rejected(decoded: Decoded) -> None:
    assert decoded.records == 1000  # header skipped by the reader
    assert decoded.rejected == []


def test_counts_match_the_vendor_verbs(decoded: Decoded) -> None:
    # PROVENANCE: ENTERQUEUE 108, CONNECT 93, COMPLETEAGENT 51 + COMPLETECALLER 38, ABANDON 12,
    # EXITWITHTIMEOUT 1, BLINDTRANSFER 1 + ATTENDEDTRANSFER 1, ADDMEMBER 26 + AGENTCALLBACKLOGIN 14,
    # REMOVEMEMBER 10 + AGENTCALLBACKLOGOFF 10.
    assert decoded.count() == Counter(
        {
            "call.queued": 108,
            "call.answered": 93,
            "call.ended": 91,  # 89 completions + 2 transfers (a transfer ends the agent's part)
            "call.wrapped": 91,
            "call.abandoned": 13,
            "call.transferred": 2,
            "agent.login": 40,
            "agent.logout": 20,
        }
    )
    causes = Counter(e.cause for e in decoded.of("call.abandoned") if isinstance(e, CallAbandoned))
    assert causes == {"caller": 12, "timeout": 1}


def test_ignored_rows_are_counted_by_verb() -> None:
    adapter = get_adapter("asterisk-queue-log", site="it-floor", source="pbxware-test")
    decoded = decode_file(adapter, real_file(FILE), "asterisk-queue-log")
    ignored = adapter.ignored  # type: ignore[attr-defined]
    assert ignored["RINGNOANSWER"] == 360
    assert ignored["CONFIGRELOAD"] == 11 and ignored["QUEUESTART"] == 7
    assert sum(v for k, v in ignored.items() if k.startswith("OUT")) == 128 + 77 + 24 + 18 + 9 + 1
    assert sum(ignored.values()) == decoded.empty == 635
    assert decoded.records - decoded.empty == 365  # rows that became events


def test_waits_and_talk_come_from_htime_and_ttime(decoded: Decoded) -> None:
    rows = {r["uid"]: r for r in vendor_rows()}
    answered = [e for e in decoded.events if isinstance(e, CallAnswered)]
    ended = [e for e in decoded.events if isinstance(e, CallEnded)]
    for ev in answered:
        row = rows[ev.id.split(":")[1]]
        assert row["event"] == "CONNECT"
        assert ev.wait_s == float(row["htime"]) and ev.agent == row["type"] and ev.call == row["callid"]
    for end in ended:
        assert end.talk_s == float(rows[end.id.split(":")[1]]["ttime"])
    assert sum(e.wait_s or 0 for e in answered) > 0 and all(e.talk_s is not None for e in ended)


def test_timestamps_are_the_utc_epoch_and_match_the_local_column(decoded: Decoded) -> None:
    # 'time' is local wall time, UTC-5, one second off now and then (two clock reads).
    rows = {r["uid"]: r for r in vendor_rows()}
    for ev in decoded.events:
        row = rows[ev.id.split(":")[1]]
        assert ev.ts == dt.datetime.fromtimestamp(int(row["date_time"]), tz=dt.UTC)
        local = dt.datetime.strptime(row["time"] + " -0500", "%Y-%m-%d %H:%M:%S %z")
        skew = (ev.ts - local).total_seconds()
        assert abs(skew) <= 1, (ev.id, skew)


def test_callback_members_are_the_agents_that_answer(decoded: Decoded) -> None:
    agents_answering = {e.agent for e in decoded.of("call.answered") if isinstance(e, CallAnswered)}
    logins = decoded.of("agent.login")
    assert not any(e.agent.startswith("Local/") for e in logins)  # type: ignore[union-attr]
    member_logins = [e for e in logins if e.queues == ["IT"]]  # type: ignore[union-attr]
    assert len(member_logins) == 26
    assert agents_answering <= {e.agent for e in logins}  # type: ignore[union-attr]


def test_four_calls_are_still_open_at_the_export_cut(decoded: Decoded) -> None:
    life: dict[str, list[str]] = defaultdict(list)
    for ev in decoded.events:
        if hasattr(ev, "call"):
            life[ev.call].append(ev.id.rsplit(":", 1)[1])
    queued = {c for c, kinds in life.items() if "call.queued" in kinds}
    closed = {c for c, kinds in life.items() if {"call.ended", "call.abandoned"} & set(kinds)}
    assert len(queued - closed) == 4


def test_round_trip_unique_and_deterministic_ids(decoded: Decoded) -> None:
    assert_round_trip(decoded.events)
    assert len(set(decoded.ids())) == len(decoded.events)
    again = run()
    assert again.events == decoded.events


def test_reader_yields_one_record_per_row() -> None:
    records = list(iter_records(real_file(FILE), "asterisk-queue-log"))
    assert len(records) == 1000
    assert all(key is None and b"\n" not in value and not value.startswith(b"uid,") for key, value in records)
