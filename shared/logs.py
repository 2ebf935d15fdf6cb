"""Logging, configured once per process by the CLI (``floorwatch/cli.py`` calls :func:`setup_logging`).

On a terminal, readable lines; otherwise (containers, ``floorwatch up`` under a supervisor, files)
one JSON object per line, so a log pipeline can follow one event or one alert through the
services. The ``log_format`` setting (``FLOORWATCH_LOG_FORMAT=json|text``) overrides the choice.

Context travels as ``extra={...}``: every field a call site passes becomes a key of the JSON line
(the message keeps the ``key=value`` form for people). The ids used across the services:

* an event: ``source`` and ``event_id`` (the dedup key ``(source, id)`` of design.md);
* a raw record: ``topic``, ``partition``, ``offset`` (and ``adapter``, ``reason`` for the DLQ);
* an alert: ``fingerprint`` (the instance) and ``transition_id`` (one record of it).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any, TextIO

# attributes every LogRecord has: anything else on a record came from ``extra``
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "service", "msg", …extra, "exc"?}`` on one line."""

    def __init__(self, service: str | None = None) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        if self.service:
            doc["service"] = self.service
        doc["msg"] = record.getMessage()
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in doc:
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


def wants_json(stream: TextIO, setting: str | None) -> bool:
    if setting in ("json", "text"):
        return setting == "json"
    isatty = getattr(stream, "isatty", None)
    return not (isatty is not None and isatty())


def setup_logging(
    level: str = "INFO", *, service: str | None = None, stream: TextIO | None = None, fmt: str | None = None
) -> None:
    """Configure the root logger once (a no-op when it already has handlers, e.g. under pytest).
    ``fmt``: the ``log_format`` setting (``json``, ``text``, or ``auto``/None: JSON unless a tty)."""
    stream = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(stream)
    if wants_json(stream, fmt):
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), handlers=[handler])
    logging.getLogger("kafka").setLevel(logging.WARNING)
