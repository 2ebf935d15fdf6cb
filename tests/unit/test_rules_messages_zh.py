"""Rules-file problems in Chinese (issue 15): ``floorwatch rules check --lang zh`` (or
``FLOORWATCH_LANGUAGE=zh``) says each problem with its line in Chinese; the catalogue's
``rules_error.*`` entries recognise the English problems of tests/unit/test_rules_messages.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from floorwatch import cli
from shared.i18n import load_catalogue, patterns
from tests.unit.test_rules_messages import CASES

BAD = """\
rules:
  - name: t
    metric: calls_wating
    op: "=>"
    value: ten
    summary: {zh: "{queue} 排队", fr: "x"}
  - name: t
    metric: calls_waiting
    op: ">"
    value: 1
    for: 5x
"""


def test_rules_check_in_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "floor.yaml"
    path.write_text(BAD, encoding="utf-8")
    monkeypatch.setenv("FLOORWATCH_LANGUAGE", "zh")  # the site default; --lang would do the same
    assert cli.main(["rules", "check", str(path)]) == 1
    printed = capsys.readouterr().err.splitlines()
    assert printed[0].startswith(f"{path}:3: 未知的指标 'calls_wating'；可用：abandon_rate, ")
    assert printed[1:] == [
        f"{path}:4: 比较符 '=>' 无效；请用 > >= < <= 之一",
        f"{path}:5: 应为数字，实际是 str 'ten'",
        f"{path}:6: 摘要中有未知的语言 'fr'；可用：zh, en",
        f"{path}:7: 规则名 't' 重复（第 2 行已定义）",
        f"{path}:11: 时长 '5x' 无效：请写秒数，或如 30s、5m、1h、1m30s",
        f"{path}：6 处错误；未加载",
    ]
    assert cli.main(["rules", "check", str(path), "--lang", "en"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == f"{path}: 6 error(s); not loaded"


def test_most_rules_file_problems_have_a_chinese_text() -> None:
    """Measured over every problem the rules-file message tests expect: at least 90 % are said in
    Chinese (the rest stay English: rare shapes such as curve points and inhibit rules)."""
    cat = load_catalogue()
    messages = [m for _, _, expected in CASES for _, m in expected]
    said = [patterns.translate(m, "zh", cat, "rules_error.") for m in messages]
    chinese = [s for m, s in zip(messages, said, strict=True) if s != m]
    assert all(re.search(r"[\u4e00-\u9fff]", s) for s in chinese)
    assert len(messages) > 200 and len(chinese) / len(messages) >= 0.9, (len(chinese), len(messages))
