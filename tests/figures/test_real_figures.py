"""The engine's day figures on the real files, against computations written here from the raw text.

Each ``expected_*`` function reads a real export in ``../shared/data`` with plain Python (``csv``,
``str.split``) and no project code, and computes per business day and queue what the definitions
in ``docs/metrics.md`` say. The engine side is ``floorwatch stats`` (the CLI once, then the same
``stats.compute`` it calls for the other presets). Counts must be equal; means (rounded to 0.1 s
by the engine) within 0.06 s; service level within 0.00005 (rounded to 4 places).
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from floorwatch import stats
from floorwatch.cli import main
from services.alerts.core.floor.definitions import PRESETS, DefinitionSet
from tests.conftest import data_file

BANK_JAN = "anonymous-bank/1999-01.txt"
BANK_OCT = "anonymous-bank/1999-10.txt"
QUEUE_LOG = "asterisk/pbxware-queue-log-2018.csv"

COUNTS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "answered_in_sl",
    "handled",
    "handled_without_times",
    "unqueued",
    "exited",
)
MEANS = ("asa_s", "talk_s", "hold_s", "wrap_s", "aht_s")

# What each preset means, written out here again (not read from the project's definitions).
RULES = {
    #                 SL denominator,            short <, abandon causes (None = all), AHT parts
    "floorwatch": ("answered+abandoned-short", 5.0, None, ("talk", "hold", "wrap")),
    "asterisk": ("answered", 0.0, None, ("talk",)),
    "amazon-connect": ("offered", 0.0, {"caller", None}, ("talk", "hold", "wrap")),
    "genesys": ("answered+abandoned", 5.0, {"caller", None}, ("talk", "hold", "wrap")),
}
SL_S = 20.0


class Cell:
    """Sums of one (day, queue) cell, and the figures derived from them under one preset."""

    def __init__(self) -> None:
        self.n: collections.Counter[str] = collections.Counter()
        self.sums: collections.Counter[str] = collections.Counter()

    def figures(self, preset: str) -> dict[str, Any]:
        formula, _, _, parts = RULES[preset]
        n, s = self.n, self.sums
        denom = {
            "answered": n["answered"],
            "offered": n["offered"],
            "answered+abandoned": n["answered"] + n["abandoned"],
            "answered+abandoned-short": n["answered"] + n["abandoned"] - n["short_abandoned"],
        }[formula]
        handled = n["handled"]
        out: dict[str, Any] = {k: n[k] for k in COUNTS}
        out["service_level"] = n["answered_in_sl"] / denom if denom else None
        out["asa_s"] = s["wait"] / n["answered"] if n["answered"] else None
        for part in ("talk", "hold", "wrap"):
            out[f"{part}_s"] = s[part] / handled if handled else None
        out["aht_s"] = sum(s[p] for p in parts) / handled if handled else None
        return out


def _sum_sites(cells: dict[tuple[str, str], Cell]) -> dict[tuple[str, str | None], Cell]:
    """Add a site-total cell (queue None) per day."""
    out: dict[tuple[str, str | None], Cell] = dict(cells)
    for (day, _), c in cells.items():
        total = out.setdefault((day, None), Cell())
        total.n.update(c.n)
        total.sums.update(c.sums)
    return out


# --- Anonymous Bank: one tab-separated row per call ---------------------------------------------


def _clock(text: str) -> int:
    h, m, s = text.split(":")
    return int(h) * 3600 + int(m) * 60 + int(s)


def expected_bank(path: Path, preset: str) -> dict[tuple[str, str | None], Cell]:
    _, short_s, causes, _ = RULES[preset]
    cells: dict[tuple[str, str], Cell] = collections.defaultdict(Cell)
    for line in path.read_text().splitlines():
        f = line.split("\t")
        if f[0] == "vru+line" or len(f) != 17:
            continue  # the header; the two malformed October rows are refused by the adapter
        date, typ, vru_entry, vru_exit, q_start, q_time = f[5], f[4], f[6], f[7], f[9], int(f[11])
        outcome, ser_start, ser_time = f[12], f[13], int(f[15])
        if outcome == "PHANTOM":
            continue  # virtual calls, to be ignored (the data's own description)
        day = dt.date(1900 + int(date[:2]), int(date[2:4]), int(date[4:]))
        queued = q_start != "0:00:00"
        # a call counts on the day it was offered: queued -> queue entry (never after midnight of
        # the VRU entry in these files); never queued -> answered (service start, else VRU exit),
        # the next day when that clock is more than 12 h before the VRU entry's
        moment = q_start if queued else (ser_start if ser_start != "0:00:00" else vru_exit)
        if _clock(moment) < _clock(vru_entry) - 12 * 3600:
            day += dt.timedelta(days=1)
        c = cells[(day.isoformat(), typ)]
        if queued:
            c.n["offered"] += 1
            if outcome == "AGENT":
                c.n["answered"] += 1
                c.n["answered_in_sl"] += q_time <= SL_S
                c.sums["wait"] += q_time
            elif causes is None or "caller" in causes:  # HANG: the caller hung up
                c.n["abandoned"] += 1
                c.n["short_abandoned"] += q_time < short_s
        if outcome == "AGENT":
            c.n["unqueued"] += not queued
            if ser_start != "0:00:00":
                c.n["handled"] += 1
                c.sums["talk"] += ser_time
            else:
                c.n["handled_without_times"] += 1
    return _sum_sites(cells)


# --- Asterisk queue_log, PBXware CSV export -----------------------------------------------------

EXITS = {"ABANDON": "caller", "EXITWITHTIMEOUT": "timeout", "EXITEMPTY": "empty", "EXITWITHKEY": "key"}
ENDS = ("COMPLETEAGENT", "COMPLETECALLER", "TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER")
UTC_MINUS_5 = dt.timezone(dt.timedelta(hours=-5))


def expected_queue_log(path: Path, preset: str) -> dict[tuple[str, str | None], Cell]:
    _, short_s, causes, _ = RULES[preset]
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))

    def day_of(epoch: float) -> str:
        return dt.datetime.fromtimestamp(epoch, UTC_MINUS_5).date().isoformat()

    offered: dict[str, tuple[str, str]] = {}  # callid -> (day, queue) where it was offered
    cells: dict[tuple[str, str], Cell] = collections.defaultdict(Cell)
    for r in rows:
        verb, call, queue, t = r["event"], r["callid"], r["queue_name"], int(r["date_time"])
        wait, talk = int(r["htime"]), int(r["ttime"])
        if verb == "ENTERQUEUE":
            offered[call] = (day_of(t), queue)
            cells[offered[call]].n["offered"] += 1
        elif verb == "CONNECT" or verb in EXITS:
            if call not in offered:  # the export starts after it queued: offered `wait` s earlier
                offered[call] = (day_of(t - wait), queue)
                cells[offered[call]].n["offered"] += 1
            c = cells[offered[call]]
            if verb == "CONNECT":
                c.n["answered"] += 1
                c.n["answered_in_sl"] += wait <= SL_S
                c.sums["wait"] += wait
            elif causes is None or EXITS[verb] in causes:
                c.n["abandoned"] += 1
                c.n["short_abandoned"] += wait < short_s
            else:
                c.n["exited"] += 1
        elif verb in ENDS:
            c = cells[offered[call]]
            c.n["handled"] += 1
            c.sums["talk"] += talk
    return _sum_sites(cells)


# --- the engine side ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def read_files() -> dict[str, stats.Read]:
    return {
        rel: stats.read_events(data_file(rel), fmt, site="real", source="file")
        for rel, fmt in (
            (BANK_JAN, "anonymous-bank"),
            (BANK_OCT, "anonymous-bank"),
            (QUEUE_LOG, "asterisk-queue-log"),
        )
    }


def engine_rows(read: stats.Read, preset: str, zone: str | None = None) -> list[dict[str, Any]]:
    defs = DefinitionSet(default=PRESETS[preset].replace(time_zone=zone))
    rows, _ = stats.compute(read.events, defs)
    return rows


def compare(
    rows: list[dict[str, Any]], expected: dict[tuple[str, str | None], Cell], preset: str,
    counts: tuple[str, ...] = COUNTS,
) -> list[str]:
    """Every difference between the engine's rows and the independent cells, as text (``counts``:
    the count fields the rows carry)."""
    got = {(r["day"], r["queue"]): r for r in rows}
    problems = []
    for key in sorted(set(got) | {k for k, c in expected.items() if +c.n}, key=str):
        if key not in got or key not in expected:
            problems.append(f"{key}: only in {'engine' if key in got else 'the raw file'}")
            continue
        want, have = expected[key].figures(preset), got[key]
        for k in counts:
            if have[k] != want[k]:
                problems.append(f"{key} {k}: engine {have[k]}, raw {want[k]}")
        for k in MEANS:
            if (have[k] is None) != (want[k] is None) or (
                want[k] is not None and abs(have[k] - want[k]) > 0.06
            ):
                problems.append(f"{key} {k}: engine {have[k]}, raw {want[k]}")
        sl, want_sl = have["service_level"], want["service_level"]
        if (sl is None) != (want_sl is None) or (want_sl is not None and abs(sl - want_sl) > 5.01e-5):
            problems.append(f"{key} service_level: engine {sl}, raw {want_sl}")
    return problems


CASES: list[tuple[str, str, Callable[[Path, str], dict[tuple[str, str | None], Cell]], str | None]] = (
    [(BANK_JAN, preset, expected_bank, None) for preset in RULES]
    + [(BANK_OCT, preset, expected_bank, None) for preset in ("floorwatch", "asterisk")]
    + [(QUEUE_LOG, preset, expected_queue_log, "Etc/GMT+5") for preset in RULES]
)


@pytest.mark.parametrize(("rel", "preset", "expected", "zone"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_day_figures_equal_the_raw_file(
    read_files: dict[str, stats.Read],
    rel: str,
    preset: str,
    expected: Callable[[Path, str], dict[tuple[str, str | None], Cell]],
    zone: str | None,
) -> None:
    rows = engine_rows(read_files[rel], preset, zone)
    want = expected(data_file(rel), preset)
    assert len(rows) >= 6
    assert compare(rows, want, preset) == []


def test_the_issue_figures_reproduce(read_files: dict[str, stats.Read]) -> None:
    """The figures issue 10 quotes from the raw files (Asterisk's formula, local days)."""
    rows = {(r["day"], r["queue"]): r for r in engine_rows(read_files[QUEUE_LOG], "asterisk", "Etc/GMT+5")}
    assert (rows["2018-12-03", "IT"]["talk_s"], rows["2018-12-04", "IT"]["talk_s"]) == (242.6, 300.6)
    assert round(rows["2018-12-03", "IT"]["service_level"], 3) == 0.377
    assert round(rows["2018-12-04", "IT"]["service_level"], 3) == 0.444
    bank = [r for r in engine_rows(read_files[BANK_JAN], "floorwatch") if r["queue"] is not None]
    assert sum(r["answered"] + r["unqueued"] for r in bank) == 27_060 - 42 + 42  # every AGENT row
    assert sum(r["handled"] + r["handled_without_times"] for r in bank) == 27_060


def test_cli_json_is_the_engine_rows(
    read_files: dict[str, stats.Read], capsys: pytest.CaptureFixture[str]
) -> None:
    path = data_file(QUEUE_LOG)
    code = main(
        [
            "stats",
            str(path),
            "--format",
            "asterisk-queue-log",
            "--tz",
            "Etc/GMT+5",
            "--preset",
            "asterisk",
            "--site",
            "real",
            "--source",
            "file",
            "--json",
        ]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == engine_rows(read_files[QUEUE_LOG], "asterisk", "Etc/GMT+5")
    assert {
        "site",
        "queue",
        "day",
        "offered",
        "answered",
        "abandoned",
        "short_abandoned",
        "answered_in_sl",
        "service_level",
        "asa_s",
        "talk_s",
        "hold_s",
        "wrap_s",
        "aht_s",
        "handled",
        "definitions",
    } <= set(printed[0])
