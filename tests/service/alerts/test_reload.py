"""Reload without restart: a valid edit replaces the rules, a bad edit is refused and the
running rules stay."""

from __future__ import annotations

import os
from pathlib import Path

from services.alerts.reload import RulesWatcher

GOOD = 'rules:\n  - name: backlog\n    metric: calls_waiting\n    op: ">"\n    value: {v}\n'
BAD = 'rules:\n  - name: backlog\n    metric: calls_wating\n    op: "=>"\n    value: 3\n'


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _write(path: Path, text: str, mtime: float) -> None:
    path.write_text(text)
    os.utime(path, (mtime, mtime))


def test_reload_good_refuse_bad_then_accept_fixed(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "rules.yaml"
    _write(path, GOOD.format(v=5), 1000)
    clock = Clock()
    watcher = RulesWatcher(path, interval_s=2, clock=clock)
    clock.t = 3
    assert watcher.poll() is None  # unchanged

    _write(path, GOOD.format(v=7), 1001)
    clock.t = 4
    assert watcher.poll() is None  # not yet time to look
    clock.t = 6
    fresh = watcher.poll()
    assert fresh is not None and fresh.rules[0].value == 7

    _write(path, BAD, 1002)
    clock.t = 9
    assert watcher.poll() is None
    assert watcher.rejected == 1
    assert "rules.yaml:3" in caplog.text and "running rules stay" in caplog.text

    _write(path, GOOD.format(v=9), 1003)
    clock.t = 12
    fixed = watcher.poll()
    assert fixed is not None and fixed.rules[0].value == 9


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "rules.yaml"
    _write(path, GOOD.format(v=5), 1000)
    clock = Clock()
    watcher = RulesWatcher(path, interval_s=2, clock=clock)
    path.write_bytes(b"rules:\n  - name: \xff\xfe\n")
    os.utime(path, (1001, 1001))
    clock.t = 3
    assert watcher.poll() is None and watcher.rejected == 1
    assert "unreadable" in caplog.text and "running rules stay" in caplog.text
