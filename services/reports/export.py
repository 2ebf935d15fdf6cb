"""Report rows as CSV and XLSX downloads, and the shift handover as a PDF document."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared.i18n import load_catalogue, render_message

CJK_FONTS = (  # a CJK TrueType font of the system (scripts/system-deps.sh installs WenQuanYi)
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)


def flatten(rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Columns (in order of first appearance; nested dicts as ``key.sub``) and the values."""
    flat: list[dict[str, Any]] = []
    columns: dict[str, None] = {}
    for row in rows:
        out: dict[str, Any] = {}
        for k, v in row.items():
            if isinstance(v, dict):
                for sk, sv in v.items():
                    out[f"{k}.{sk}"] = sv
            elif isinstance(v, list | tuple):
                out[k] = "; ".join(str(x) for x in v)
            else:
                out[k] = v
        for k in out:
            columns.setdefault(k)
        flat.append(out)
    cols = list(columns)
    return cols, [[r.get(c) for c in cols] for r in flat]


# a text cell starting with one of these is read as a formula by Excel, LibreOffice and Sheets
# (OWASP "CSV injection"): event data (agent ids, reasons) and echoed filters are anyone's text
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutral(value: Any) -> Any:
    """``value`` safe for a spreadsheet cell: text that a spreadsheet would run as a formula gets a
    leading ``'`` (shown, never evaluated); numbers, also negative ones, stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    cols, values = flatten(rows)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([neutral(c) for c in cols])
    for v in values:
        w.writerow(["" if x is None else neutral(x) for x in v])
    return buf.getvalue()


def to_xlsx(title: str, rows: Sequence[dict[str, Any]], meta: dict[str, Any]) -> bytes:
    """The rows as a sheet (bold header, frozen) and ``meta`` as a second sheet ``params``.

    Written in openpyxl's write-only mode: rows stream to the file instead of building a cell
    object per value in memory (several times faster on the 200,000 rows a report may carry)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    cols, values = flatten(rows)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_xlsx_text(title)[:31])
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    ws.append([_xlsx_cell(ws, c, bold) for c in cols])
    for v in values:
        ws.append([_xlsx_cell(ws, x) for x in v])
    info = wb.create_sheet("params")
    for k, v in meta.items():
        info.append([_xlsx_cell(info, k), _xlsx_cell(info, "" if v is None else str(v))])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _xlsx_text(text: str) -> str:
    # openpyxl refuses (IllegalCharacterError) the control characters XML 1.0 cannot carry
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return str(ILLEGAL_CHARACTERS_RE.sub("\ufffd", text))


def _xlsx_cell(ws: Any, value: Any, font: Any = None) -> Any:
    """A cell for ``value``; text is always stored as text (openpyxl would store "=..." as a live
    formula), neutralised and without characters XML cannot carry."""
    from openpyxl.cell import WriteOnlyCell

    if not isinstance(value, str):
        cell = WriteOnlyCell(ws, value)
    else:
        cell = WriteOnlyCell(ws, _xlsx_text(neutral(value)))
        cell.data_type = "s"
    if font is not None:
        cell.font = font
    return cell


def handover_pdf(doc: dict[str, Any], lang: str = "en") -> bytes:
    """A plain, printable PDF of the handover (text a PDF reader and ``pdftotext`` read back)."""
    from fpdf import FPDF

    cat = load_catalogue()
    L = cat.prefixed(lang if lang in cat.texts else "en", "handover_pdf.")  # the catalogue's (shared/i18n)
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    font = next((f for f in CJK_FONTS if f.exists()), None)
    if font is not None:
        pdf.add_font("cjk", "", str(font))
        family = "cjk"
    else:  # no CJK font on this machine: Latin-1 text only
        family = "helvetica"
        lang = "en"
        L = cat.prefixed("en", "handover_pdf.")

    def text(s: str, size: int = 10) -> None:
        pdf.set_font(family, size=size)
        if family == "helvetica":
            s = s.encode("latin-1", "replace").decode("latin-1")
        pdf.multi_cell(0, size * 0.55, s, new_x="LMARGIN", new_y="NEXT")

    text(f"{L['title']} - {doc['site']} / {doc['shift']} / {doc['day']}", 16)
    text(f"{doc['start']} .. {doc['end']}", 9)
    text("")
    text(L["kpis"], 13)
    for k in doc["kpis"]:
        line = f"{k['kpi']}: {_fmt(k['value'])}"
        if "target" in k:
            state = L["met"] if k["met"] else (L["missed"] if k["met"] is False else "-")
            line += f"  ({L['target']} {k['op']} {_fmt(k['target'])}: {state})"
        text(line)
    text("")
    text(L["alerts"], 13)
    for part in ("raised", "acknowledged", "open"):
        items = doc["alerts"][part]
        text(f"{L[part]}: {len(items)}", 11)
        for a in items:
            said = render_message(a.get("message"), lang, cat, str(a.get("summary") or ""))
            rule = cat.get(lang, f"term.rule.{a.get('rule')}") or a.get("rule")
            sev = cat.get(lang, f"wallboard.{a.get('severity')}") or a.get("severity")
            line = f"  [{sev}] {rule} {said}"
            if part == "acknowledged" and a.get("ack"):
                ack = a["ack"]
                line += f" - {L['by']} {ack.get('by')} {ack.get('at')} {ack.get('note') or ''}"
            text(line, 9)
    text("")
    text(L["projects"], 13)
    for p in doc["projects_behind"] or []:
        text(f"{p['project']}: {p.get('done')} / {_fmt(p.get('planned'))} - {L['needed']} "
             f"{_fmt(p.get('needed_per_h'))}")
    if not doc["projects_behind"]:
        text(L["none"])
    text("")
    fu = doc["follow_ups_next_shift"]
    text(f"{L['follow_ups']} ({fu['shift']})", 13)
    for f in fu["items"]:
        text(f"{f['due_at']}  {f['contact']}  {f.get('agent') or ''}  {f.get('reason') or f.get('code')}", 9)
    if not fu["items"]:
        text(L["none"])
    text("")
    text(L["note"], 13)
    note = doc.get("note")
    text(f"{note['note']}\n- {note['author']} {note['at']}" if note else L["none"])
    return bytes(pdf.output())


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}".rstrip("0").rstrip(".")
    return str(v)
