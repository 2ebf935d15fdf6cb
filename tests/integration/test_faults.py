"""Faults against real processes (short versions of ``python -m benchmarks.faults``).

The three services run as ``floorwatch ingest|alerts|api`` children on a Tansu broker of their own
(behind a TCP proxy, so the broker can be cut off without losing its in-memory data) and a
PostgreSQL database of their own; the simulator's floor is the ground truth, the engine run
offline over it the expected alerts (tests/support/faultrig.py, docs/reliability.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.faults import run_kills, run_outage
from tests.conftest import unavailable
from tests.support.faultrig import Floor, Tally

pytestmark = [pytest.mark.faults, pytest.mark.kafka, pytest.mark.postgres]


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "rig"


def _run(fn, *args, **kwargs) -> Tally:  # type: ignore[no-untyped-def]
    try:
        return fn(*args, **kwargs)
    except (OSError, RuntimeError) as exc:
        # broker that does not start, PostgreSQL that is not there: skip locally, fail in CI
        if "rig" in str(exc) or "tansu" in str(exc).lower() or "connect" in str(exc).lower():
            unavailable(f"fault rig could not start: {exc!r}")
        raise


def test_kill_9_of_each_service_mid_stream_loses_and_duplicates_nothing(workdir: Path) -> None:
    floor = Floor(events=3000)
    # kill -9 at these seconds of a 12 s feed, each restarted 0.5 s later
    kills = [(2.5, "ingest"), (5.0, "alerts"), (7.5, "api-a"), (10.0, "ingest")]
    result = _run(run_kills, workdir, floor, rate=250, kills=kills, say=print)
    print("\n".join(result.lines()))
    # every kill landed in the middle of the stream
    assert all(0 < fed < floor.events for fed in result.fed_at_faults), result.faults
    # events: each stored exactly once, none missing downstream, no double count in the floor
    assert result.stored == floor.events
    assert result.history_lost == result.history_twice == result.history_foreign == 0
    assert result.topic_lost == 0 and sum(result.topic_reordered.values()) == 0
    assert all(result.floors_equal.values()), result.floor_diffs
    # redelivery is bounded by what was in flight at the two ingest kills (two batches each)
    assert result.topic_redelivered <= 2 * 2 * 2000
    # alerts: exactly the offline engine's transitions, none conflicting
    assert result.transitions > 20, "the floor must raise alerts for this to prove anything"
    assert result.lost == result.extra == result.conflicting == 0
    # both API instances' clients: the one never killed saw every transition once; the one whose
    # API was killed reconnected and ends with the same active alerts
    b, a = result.clients["api-b"], result.clients["api-a"]
    assert b["missed"] == 0 and b["dup_frames"] == 0 and b["active_equal"], b
    assert a["connections"] >= 2 and a["extra"] == 0 and a["active_equal"], a
    assert result.exit_codes["ingest"] == 0 and result.exit_codes["alerts"] == 0


def test_broker_unreachable_for_30_s_services_stay_up_not_ready_then_catch_up(workdir: Path) -> None:
    floor = Floor(events=3000)
    outage = 30.0
    result, report = _run(
        run_outage, workdir, floor, rate=300, cut_at_s=3.0, outage_s=outage, mode="reset", say=print
    )
    print("\n".join(report.lines(outage) + result.lines()))
    assert 0 < result.fed_at_faults[0] < floor.events
    # every service stayed up, said so on /readyz within a few seconds, and came back
    assert report.died == []
    for name, after in report.not_ready_after_s.items():
        assert after is not None and after < 10, (name, after, report.reasons)
        assert "unreachable" in report.reasons[name], report.reasons[name]
    for name, back in report.ready_again_after_s.items():
        assert back is not None and back < 20, (name, back)
    # and caught up with nothing lost, nothing counted twice
    assert result.stored == floor.events
    assert result.history_lost == result.history_twice == result.history_foreign == 0
    assert result.topic_lost == 0 and sum(result.topic_reordered.values()) == 0
    assert all(result.floors_equal.values()), result.floor_diffs
    assert result.transitions > 10
    assert result.lost == result.extra == result.conflicting == 0
    for name, client in result.clients.items():
        assert client["missed"] == 0 and client["dup_frames"] == 0 and client["active_equal"], (name, client)
    assert result.exit_codes["ingest"] == 0 and result.exit_codes["alerts"] == 0
