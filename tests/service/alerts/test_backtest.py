"""`floorwatch rules backtest`: replaying recorded events shows the alerts a rule set would raise."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from floorwatch.cli import main

RULES = 'rules:\n  - name: backlog\n    metric: calls_waiting\n    op: ">"\n    value: 1\n    clear: 0\n'


def _events(path: Path) -> None:
    lines = []
    for i in range(3):
        lines.append(
            {
                "v": 1,
                "id": f"q{i}",
                "source": "rec",
                "type": "call.queued",
                "site": "bj",
                "ts": f"2026-11-28T09:00:0{i}+08:00",
                "call": f"c{i}",
                "queue": "sales",
            }
        )
    for i in range(3):
        lines.append(
            {
                "v": 1,
                "id": f"a{i}",
                "source": "rec",
                "type": "call.answered",
                "site": "bj",
                "ts": f"2026-11-28T09:01:0{i}+08:00",
                "call": f"c{i}",
                "queue": "sales",
                "agent": "x",
            }
        )
    lines.append(lines[0])  # a redelivery: counted once
    path.write_bytes(b"\n".join(orjson.dumps(x) for x in lines) + b"\nnot json\n")


def test_backtest_prints_each_transition_and_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules, events = tmp_path / "rules.yaml", tmp_path / "events.jsonl"
    rules.write_text(RULES)
    _events(events)
    assert main(["rules", "backtest", str(rules), "--events", str(events)]) == 0
    out = capsys.readouterr().out
    assert "2026-11-28T09:00:01.000+08:00  firing" in out
    assert "2026-11-28T09:01:02.000+08:00  resolved" in out  # the last of the three answers
    assert "7 events (1 unreadable records, 1 duplicates)" in out
    assert "backlog                  firing   1" in out


def test_backtest_refuses_a_bad_rules_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules, events = tmp_path / "rules.yaml", tmp_path / "events.jsonl"
    rules.write_text(RULES.replace("calls_waiting", "calls_wating"))
    _events(events)
    assert main(["rules", "backtest", str(rules), "--events", str(events)]) == 1
    assert "rules.yaml:3:" in capsys.readouterr().err
