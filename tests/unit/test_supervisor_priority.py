"""``floorwatch up`` runs the simulator, the notifier and the report refresh at a lower CPU priority
than the alert path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from floorwatch.supervisor import BACKGROUND_NICE, Supervisor, child_preexec
from shared.config import Settings


def test_children_off_the_alert_path_get_the_background_niceness(tmp_path: Path) -> None:
    notify = tmp_path / "notifications.yaml"
    notify.write_text("routes: []\n")
    settings = Settings(kafka_bootstrap="127.0.0.1:9", notify_config=notify)
    sup = Supervisor(settings, simulate_argv=["--agents", "10"], log_level="WARNING")
    nice = {child.name: child.nice for child in sup.children}
    assert nice == {"ingest": 0, "alerts": 0, "notify": BACKGROUND_NICE, "reports": BACKGROUND_NICE,
                    "simulator": BACKGROUND_NICE}
    reports = next(child for child in sup.children if child.name == "reports")
    assert reports.argv == ["reports", "refresh", "--every", "60.0"]


def test_no_report_refresh_child_when_refreshing_is_off() -> None:
    sup = Supervisor(Settings(kafka_bootstrap="127.0.0.1:9", report_refresh_s=0), simulate_argv=None,
                     log_level="WARNING")
    assert [child.name for child in sup.children] == ["ingest", "alerts"]


def _niceness_of_child(nice: int) -> int:
    out = subprocess.run(
        [sys.executable, "-c", "import os; print(os.nice(0))"],
        preexec_fn=child_preexec(nice), capture_output=True, check=True, text=True,
    )
    return int(out.stdout)


def test_the_child_really_runs_at_the_lower_priority() -> None:
    mine = os.nice(0)
    assert _niceness_of_child(0) == mine
    assert _niceness_of_child(BACKGROUND_NICE) == min(19, mine + BACKGROUND_NICE)
