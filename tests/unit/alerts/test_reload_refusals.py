"""RulesWatcher.poll refuses a file whatever goes wrong loading it: the running rules stay and the
engine thread that polls never sees the error."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from services.alerts import reload
from services.alerts.core.detectors.threshold import ThresholdRule
from services.alerts.reload import RulesWatcher
from tests.service.alerts.test_reload import Clock, _write

GOOD = 'rules:\n  - {name: backlog, metric: calls_waiting, op: ">", value: 5}\n'


def _watch(tmp_path: Path) -> tuple[Path, Clock, RulesWatcher]:
    path = tmp_path / "rules.yaml"
    _write(path, GOOD, 1000)
    clock = Clock()
    return path, clock, RulesWatcher(path, interval_s=2, clock=clock)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("x: &a {k: 1, <<: *a}\n" + GOOD, "rules.yaml:1: a recursive alias"),
        (
            "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9))
            + GOOD,
            "rules.yaml:1: YAML error: aliases expand the document to more than 100000 values",
        ),
    ],
)
def test_hostile_yaml_is_refused_and_the_running_rules_stay(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str, reason: str
) -> None:
    path, clock, watcher = _watch(tmp_path)
    _write(path, text, 1001)
    clock.t = 3
    with caplog.at_level(logging.ERROR):
        assert watcher.poll() is None
    assert watcher.rejected == 1
    assert reason in caplog.text and "the running rules stay" in caplog.text

    _write(path, GOOD.replace("5", "7"), 1002)
    clock.t = 6
    fixed = watcher.poll()
    assert fixed is not None and isinstance(fixed.rules[0], ThresholdRule) and fixed.rules[0].value == 7


def test_a_bug_in_the_reader_refuses_the_file_instead_of_stopping_the_engine(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_reader(text: str, *, name: str) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    path, clock, watcher = _watch(tmp_path)
    monkeypatch.setattr(reload, "load_rules", broken_reader)
    _write(path, GOOD.replace("5", "7"), 1001)
    clock.t = 3
    with caplog.at_level(logging.ERROR):
        assert watcher.poll() is None
    assert watcher.rejected == 1
    assert "refused: RecursionError: maximum recursion depth exceeded" in caplog.text
    assert "the running rules stay" in caplog.text
