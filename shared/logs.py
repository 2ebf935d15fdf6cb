"""Logging, configured once per process by the CLI (``floorwatch/cli.py`` calls :func:`setup_logging`).

On a terminal, readable lines; otherwise (containers, ``floorwatch up`` under a supervisor, files)
one JSON object per line, so a log pipeline can follow one event or one alert through the
services. The ``log_format`` setting (``FLOORWATCH_LOG_FORMAT=json|text``) overrides the choice.

Context travels as ``extra={...}``: every field a call site passes becomes a key of the JSON line
(the message keeps the ``key=value`` form for people). The ids used across the services:

* an event: ``source`` and ``event_id`` (the dedup key ``(source, id)`` of design.md);
* a raw record: ``topic``, ``partition``, ``offset`` (and ``adapter``, ``reason`` for the DLQ);
* an alert: ``fingerprint`` (the instance) and ``transition_id`` (one record of it).

Lines are written by a thread of their own (:class:`_Enqueue` → a ``QueueListener``): the thread
that logs only makes the record and queues it. Formatting and writing a line in the alerts
engine's thread, one ``write`` per line, cost it ~28 % of its throughput at the default level
INFO (two lines per alert transition; ``docs/benchmarks.md``, *The alerts service's own cost*):
every ``write`` hands the interpreter lock to another thread and waits to get it back. The queue
is emptied into the stream when the process exits normally, when ``logging.shutdown()`` runs
(the API's forked workers call it before ``os._exit``), and a forked child starts a queue and a
writer of its own. Only a hard exit (``os._exit``, SIGKILL) can lose the lines still queued.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import logging
import os
import queue
import sys
from logging.handlers import QueueHandler, QueueListener
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
        return _ENCODE(doc)


_ENCODE = json.JSONEncoder(ensure_ascii=False, default=str).encode  # json.dumps(doc, ensure_ascii=False, ...)


class _Enqueue(QueueHandler):
    """Hands records to a writer thread (module docstring). The message is rendered here, at the
    call, so arguments changed later cannot change it; the rest is formatted by the writer."""

    def __init__(self, target: logging.Handler) -> None:
        super().__init__(queue.SimpleQueue())
        self.target = target
        self.listener = QueueListener(self.queue, target)
        self.listener.start()
        self.forked = False

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record.msg = record.getMessage()
        record.args = None
        return record

    def enqueue(self, record: logging.LogRecord) -> None:
        if self.forked:
            self.forked = False
            self.listener = QueueListener(self.queue, self.target)
            self.listener.start()
        self.queue.put_nowait(record)

    def forget_parent(self) -> None:
        """After a fork: the parent's writer thread is not here, and what its queue held is the
        parent's to write. A fresh queue, and a writer of our own at the first line (not here: a
        child that only runs ``exec`` must not start threads)."""
        self.queue = queue.SimpleQueue()
        self.listener = QueueListener(self.queue, self.target)
        self.forked = True

    def flush(self) -> None:
        """Write what is queued: stop the writer (it empties the queue) and start a new one."""
        if self.listener._thread is not None:
            self.listener.stop()
            self.listener.start()
        self.target.flush()

    def close(self) -> None:
        if self.listener._thread is not None:
            self.listener.stop()
        self.target.flush()
        super().close()


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
    if logging.getLogger().handlers:
        return
    stream = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(stream)
    if wants_json(stream, fmt):
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    enqueue = _Enqueue(handler)
    atexit.register(enqueue.close)
    os.register_at_fork(after_in_child=enqueue.forget_parent)
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), handlers=[enqueue])
    logging.getLogger("kafka").setLevel(logging.WARNING)
