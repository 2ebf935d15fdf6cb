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

from benchmarks.faults import run_kills
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
    floor = Floor(events=4000)
    # kill -9 at these seconds of a 16 s feed, each restarted 0.5 s later
    kills = [(3.0, "ingest"), (7.0, "alerts"), (10.0, "api-a"), (13.0, "ingest")]
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
