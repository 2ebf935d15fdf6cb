"""A service whose consumer loop failed exits with status 1 (`floorwatch ingest | alerts |
notify` return ``1 if runner.failed``, read after ``runner.stop()``). Until 2026-12-08 ``stop()``
forgot the loop, so ``failed`` was None and a failed service exited 0: a supervisor restarting
only on failure (systemd ``Restart=on-failure``) left it down (found by a review)."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from services.alerts.core import default_rules
from services.alerts.main import AlertsRunner
from services.ingest.main import IngestRunner
from services.notify.main import NotifyRunner
from shared.config import Settings


class StoppedLoop:
    """A consumer loop that stopped on an error."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error

    def stop(self) -> None:
        pass

    def join(self, timeout: float | None = None) -> None:
        pass


def runners() -> list[object]:
    settings = Settings()
    notify = NotifyRunner.__new__(NotifyRunner)  # its constructor reads a notifications file
    notify._stopped_by = None
    notify._db = notify._loop = notify.deliverer = None
    return [IngestRunner(settings, CollectorRegistry()),
            AlertsRunner(settings, CollectorRegistry(), default_rules()), notify]


@pytest.mark.parametrize("index", [0, 1, 2], ids=["ingest", "alerts", "notify"])
def test_the_loops_error_outlives_stop(index: int) -> None:
    runner = runners()[index]
    error = ConnectionResetError(104, "Connection reset by peer")
    runner._batch = StoppedLoop(error)  # type: ignore[attr-defined]
    assert runner.failed is error  # type: ignore[attr-defined]
    runner.stop(timeout=0.1)  # type: ignore[attr-defined]
    assert runner.failed is error  # type: ignore[attr-defined]


@pytest.mark.parametrize("index", [0, 1, 2], ids=["ingest", "alerts", "notify"])
def test_a_clean_stop_is_no_failure(index: int) -> None:
    runner = runners()[index]
    runner._batch = StoppedLoop(None)  # type: ignore[attr-defined]
    runner.stop(timeout=0.1)  # type: ignore[attr-defined]
    assert runner.failed is None  # type: ignore[attr-defined]
