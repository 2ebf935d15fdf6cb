"""Faults against real processes (short versions of ``python -m benchmarks.faults``).

The three services run as ``floorwatch ingest|alerts|api`` children on a Tansu broker of their own
(behind a TCP proxy, so the broker can be cut off without losing its in-memory data) and a
PostgreSQL database of their own; the simulator's floor is the ground truth, the engine run
offline over it the expected alerts (tests/support/faultrig.py, docs/reliability.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.faults import run_faults
from tests.conftest import unavailable
from tests.support.faultrig import Floor, Tally

pytestmark = [pytest.mark.faults, pytest.mark.kafka, pytest.mark.postgres]
OUTAGE_S = 30.0


def _common(result: Tally, floor: Floor) -> None:
    assert all(0 < fed < floor.events for fed in result.fed_at_faults), result.faults
    assert result.stored == floor.events
    assert result.history_lost == result.history_twice == result.history_foreign == 0
    assert result.topic_lost == 0
    assert sum(result.topic_reordered.values()) == 0, result.topic_reordered
    assert all(result.floors_equal.values()), result.floor_diffs
    assert result.topic_redelivered <= 2 * 2 * 2000  # two batches in flight per ingest kill
    assert result.transitions > 20, "the floor must raise alerts for this to prove anything"
    assert result.lost == result.extra == result.conflicting == 0
    b = result.clients["api-b"]
    assert b["missed"] == 0 and b["dup_frames"] == 0 and b["active_equal"], b
    assert result.exit_codes["ingest"] == 0 and result.exit_codes["alerts"] == 0


def test_kill_9_of_each_service_mid_stream_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    floor = Floor(events=3000)
    kills = [(2.5, "ingest"), (5.0, "alerts"), (7.5, "api-a"), (10.0, "ingest")]
    try:
        result, _ = run_faults(tmp_path / "rig", floor, rate=250, kills=kills, say=print)
    except OSError as exc:  # broker that does not start, PostgreSQL that is not there
        unavailable(f"fault rig could not start: {exc!r}")
    print("\n".join(result.lines()))
    _common(result, floor)
    a = result.clients["api-a"]
    assert a["connections"] >= 2 and a["extra"] == 0 and a["dup_frames"] == 0 and a["active_equal"], a


def test_broker_unreachable_for_30_s_services_stay_up_not_ready_then_catch_up(tmp_path: Path) -> None:
    floor = Floor(events=3000)
    try:
        result, report = run_faults(
            tmp_path / "rig", floor, rate=300, outage=(3.0, OUTAGE_S), mode="reset", say=print
        )
    except OSError as exc:
        unavailable(f"fault rig could not start: {exc!r}")
    assert report is not None
    print("\n".join(report.lines(OUTAGE_S) + result.lines()))
    assert report.died == []
    for name, after in report.not_ready_after_s.items():
        assert after is not None and after < 10, (name, after, report.reasons)
        assert "unreachable" in report.reasons[name], report.reasons[name]
    for name, back in report.ready_again_after_s.items():
        assert back is not None and back < 20, (name, back)
    _common(result, floor)
