"""A command that starts with a rules file it cannot use says why, every problem with its line,
and exits 1 before anything starts: no traceback (until 2026-12-08 `floorwatch up` and
`floorwatch alerts` printed the problems at the end of a traceback, and a missing or non-UTF-8
file gave only a traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from floorwatch import cli


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - name: x\n    metric: nope\n", encoding="utf-8")
    return path


def refuse(argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
           tmp_path: Path) -> list[str]:
    monkeypatch.chdir(tmp_path)  # `up` would write ./floorwatch.db: nothing may be started
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"floorwatch {argv[0]}: the rules file is refused; nothing was started" in err
    assert not (tmp_path / "floorwatch.db").exists()
    return err.splitlines()


@pytest.mark.parametrize("command", ["alerts", "up"])
def test_a_bad_rules_file_is_refused_at_start_with_its_lines(
    command: str, bad: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    lines = refuse([command, "--rules", str(bad)], capsys, monkeypatch, tmp_path)
    assert f"{bad}:2: rule is missing required key 'op'" in lines
    assert any(line.startswith(f"{bad}:3: unknown metric 'nope'") for line in lines)


@pytest.mark.parametrize("content, why", [
    (None, "cannot be read: No such file or directory"),
    (b"rules: []\n# \xff\n", "not UTF-8 text (invalid start byte at byte 12)"),
])
@pytest.mark.parametrize("command", ["alerts", "up"])
def test_an_unreadable_rules_file_is_refused_at_start_in_one_line(
    command: str, content: bytes | None, why: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    path = tmp_path / "rules.yaml"
    if content is not None:
        path.write_bytes(content)
    lines = refuse([command, "--rules", str(path)], capsys, monkeypatch, tmp_path)
    assert lines[0] == f"{path}: {why}"
