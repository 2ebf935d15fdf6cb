"""``floorwatch stats``: day or interval figures of a recorded file, computed by the live engine.

The events are read with ingest's adapters, put in the floor's event order (``floor/order.py``:
event time, then the step of a call's life, then source and id) and fed to the same
:class:`~services.alerts.core.Engine` that runs the live floor, with no rules and a ledger that
keeps every day. The rows are the engine's own (:meth:`Engine.figures`): what the live floor shows
for the same events, per site, queue and day.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from services.alerts.core import Engine, FloorConfig, RuleSet
from services.alerts.core.floor.definitions import DefinitionSet
from services.alerts.core.floor.order import order_key
from shared.events import Event, InvalidEvent

# the columns of --csv and of the text table, in order (the definitions follow in --csv)
COLUMNS = (
    "site",
    "queue",
    "day",
    "interval_start",
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "answered_in_sl",
    "service_level",
    "abandon_rate",
    "asa_s",
    "handled",
    "talk_s",
    "hold_s",
    "wrap_s",
    "aht_s",
    "handled_without_times",
    "unqueued",
    "exited",
)


@dataclass
class Read:
    events: list[Event] = field(default_factory=list)
    records: int = 0
    unreadable: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


def read_events(
    path: Path, fmt: str, *, site: str, source: str, progress: Callable[[int, int], None] | None = None
) -> Read:
    """Every event of ``path`` read with adapter ``fmt``; unreadable records counted by reason
    (a line over the reader's cap among them). Raises ``EventFileUnreadable`` (a ``ValueError``)
    for a file that cannot be read at all."""
    from services.ingest.adapters import get_adapter
    from services.ingest.vendor_files import check_event_file, iter_records, too_long_reason

    adapter = get_adapter(fmt, site=site, source=source)
    out = Read()
    check_event_file(path)
    size = path.stat().st_size
    done = 0
    for key, value in iter_records(path, fmt):
        out.records += 1
        done += len(value) + 1
        try:
            reason = too_long_reason(value)
            if reason is not None:
                done += value.size  # type: ignore[attr-defined]
                raise InvalidEvent(reason)
            out.events.extend(adapter.decode(value, key))
        except InvalidEvent as exc:
            out.unreadable += 1
            reason = str(exc)[:80]
            out.reasons[reason] = out.reasons.get(reason, 0) + 1
        if progress is not None and out.records % 2000 == 0:
            progress(min(done, size), size)
    return out


def compute(
    events: Iterable[Event],
    definitions: DefinitionSet,
    *,
    by: str = "day",
    rules: RuleSet | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[dict[str, Any]], Engine]:
    """Feed ``events`` in event-time order to a fresh engine; its figures and the engine."""
    ordered = sorted(events, key=order_key)
    engine = Engine(rules or RuleSet(()), config=FloorConfig(definitions=definitions, ledger_days=None))
    n = len(ordered)
    for i, ev in enumerate(ordered):
        engine.on_event(ev)
        if progress is not None and i % 5000 == 0:
            progress(i, n)
    if progress is not None:
        progress(n, n)
    return engine.figures(by), engine


def render_csv(rows: list[dict[str, Any]], out: TextIO) -> None:
    names = sorted({k for r in rows for k in r["definitions"]}) if rows else []
    w = csv.writer(out, lineterminator="\n")
    w.writerow([*COLUMNS, *names])
    for r in rows:
        w.writerow([_cell(r.get(c)) for c in COLUMNS] + [_cell(r["definitions"].get(n)) for n in names])


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return "+".join(str(x) for x in v)
    return str(v)


def render_table(rows: list[dict[str, Any]], out: TextIO) -> None:
    cols = [c for c in COLUMNS if c != "site"] if len({r["site"] for r in rows}) <= 1 else list(COLUMNS)
    cols = [c for c in cols if any(r.get(c) is not None for r in rows) or c in ("queue",)]
    table = [[("(site)" if c == "queue" and r[c] is None else _cell(r.get(c))) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in table)) if table else len(c) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)), file=out)
    for row in table:
        print(
            "  ".join(
                v.rjust(w) if i > 1 else v.ljust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))
            ),
            file=out,
        )


class Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.on = self.stream.isatty()
        self.label = label

    def __call__(self, done: int, total: int) -> None:
        if not self.on or total <= 0:
            return
        frac = done / total
        bar = "#" * int(frac * 30)
        self.stream.write(f"\r{self.label} [{bar:<30}] {frac:6.1%}")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def parse_by(text: str) -> tuple[str, int | None]:
    """``day`` -> ("day", None); ``interval:30m`` / ``interval:900s`` / ``interval:1h`` ->
    ("interval", seconds)."""
    if text == "day":
        return "day", None
    if text.startswith("interval"):
        spec = text.partition(":")[2] or "30m"
        units = {"s": 1, "m": 60, "h": 3600}
        num, unit = spec[:-1], spec[-1:]
        if unit not in units or not num.isdigit():
            raise ValueError(f"--by interval:N(s|m|h), e.g. interval:30m; got {text!r}")
        return "interval", int(num) * units[unit]
    raise ValueError(f"--by day or interval:30m; got {text!r}")
