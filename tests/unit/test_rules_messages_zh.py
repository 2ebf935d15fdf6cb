"""Rules-file problems in Chinese (issue 15): ``floorwatch rules check --lang zh`` (or
``FLOORWATCH_LANGUAGE=zh``) says each problem with its line in Chinese; the catalogue's
``rules_error.*`` entries recognise the English problems of tests/unit/test_rules_messages.py."""

from __future__ import annotations

import json
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
        f"{path}:5: 应为数字，实际是 文本 'ten'",
        f"{path}:6: 摘要中有未知的语言 'fr'；可用：zh, en",
        f"{path}:7: 规则名 't' 重复（第 2 行已定义）",
        f"{path}:11: 时长 '5x' 无效：请写秒数，或如 30s、5m、1h、1m30s",
        f"{path}：6 处错误；未加载",
    ]
    assert cli.main(["rules", "check", str(path), "--lang", "en"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == f"{path}: 6 error(s); not loaded"


def test_every_rules_file_problem_has_a_chinese_text() -> None:
    """Every problem the rules-file message tests expect is said in Chinese (227 of 243 were on main
    before the curve, window, detector-option and inhibit texts and the parts joined the
    catalogue; the words left are checked by the test below)."""
    cat = load_catalogue()
    messages = [m for _, _, expected in CASES for _, m in expected]
    said = [patterns.translate(m, "zh", cat, "rules_error.") for m in messages]
    chinese = [s for m, s in zip(messages, said, strict=True) if s != m]
    assert all(re.search(r"[\u4e00-\u9fff]", s) for s in chinese)
    left = [m for m, s in zip(messages, said, strict=True) if s == m]
    assert len(messages) > 200 and len(chinese) == len(messages), left


def _format_names() -> set[str]:
    """The rules file's own vocabulary, which a Chinese message names as it is written: every key
    and listed value of the schema, the rule kinds, the summary placeholders."""
    from services.alerts.core.detectors.options import _PLACEHOLDERS
    from services.alerts.core.detectors.registry import KINDS
    from services.alerts.core.detectors.threshold import _TEMPLATE_KEYS

    names: set[str] = {*KINDS, *_TEMPLATE_KEYS, *_PLACEHOLDERS}

    def walk(node: object) -> None:
        if isinstance(node, dict):
            names.update(node.get("properties", {}) if isinstance(node.get("properties"), dict) else ())
            names.update(str(v) for v in node.get("enum", ()))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(json.loads((Path(__file__).parents[2] / "docs" / "rules-schema.json").read_text(encoding="utf-8")))
    return names


# format names and the examples a message shows, written as the file or the world writes them:
# YAML, an IANA zone (Asia/Shanghai), HH:MM, YAML's true / false, curve: linear / {hourly: [weights]}
SYNTAX = {"YAML", "IANA", "Asia", "Shanghai", "HH", "MM", "true", "false", "linear", "weights"}
WORD = re.compile(r"(?<![0-9A-Za-z_])[A-Za-z][A-Za-z0-9_-]*")


def _allowed(text: str) -> set[str]:
    """The words a message may keep: the file's (any case) and the format's, as WORD splits them
    (``answered+abandoned-short`` is two)."""
    return {w.lower() for name in (text, *_format_names(), *SYNTAX) for w in WORD.findall(name)}


@pytest.mark.parametrize(("case", "text", "expected"), CASES, ids=[c for c, _, _ in CASES])
def test_every_problem_of_every_file_reads_in_chinese(
    case: str, text: str, expected: list[tuple[int, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``floorwatch rules check --lang zh`` over each file of the pinned corpus: every line it
    prints has no English word but the names from the file itself (keys, rule names, values —
    compared without case: YAML's ``true`` is Python's ``True``) and the rules file's vocabulary."""
    path = tmp_path / "f.yaml"
    path.write_text(text, encoding="utf-8")
    assert cli.main(["rules", "check", str(path), "--lang", "zh"]) == 1
    printed = capsys.readouterr().err.splitlines()
    assert len(printed) == len(expected) + 1, printed
    allowed = _allowed(text)
    english = []
    for line in printed:
        said = line.replace(str(path), "")
        english += [w for w in WORD.findall(said) if w.lower() not in allowed]
    assert english == [], printed


def test_definitions_problems_read_in_chinese_too(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """The ``definitions:`` section's problems (not in the pinned corpus), a site's language too."""
    from tests.unit.alerts.test_rules_definitions import BAD

    zone = "      time_zone: Mars/Olympus\n"
    text = BAD.replace(zone, zone + "      language: fr\n")
    path = tmp_path / "defs.yaml"
    path.write_text(text, encoding="utf-8")
    assert cli.main(["rules", "check", str(path), "--lang", "zh"]) == 1
    printed = capsys.readouterr().err.splitlines()
    assert len(printed) == 7, printed
    assert any("language 只能是 zh, en 之一，实际是 'fr'" in p for p in printed), printed
    allowed = _allowed(text)
    said = [p.replace(str(path), "") for p in printed]
    english = [w for p in said for w in WORD.findall(p) if w.lower() not in allowed]
    assert english == [], printed
