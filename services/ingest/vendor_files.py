"""Recorded vendor files, read from disk: the shell around the pure splitter of
``services/ingest/adapters/files.py`` (for ``floorwatch replay``, ``rules backtest``, ``stats``).

Only a regular file is read (a directory, a FIFO or a device is refused before it is opened: a
FIFO without a writer would block forever), and a file that starts with a UTF-16 or UTF-32
byte-order mark is refused with that reason (every supported format is UTF-8 text). Both raise
:class:`EventFileUnreadable`, a ``ValueError`` whose message is one line naming the file, as does
any ``OSError`` met opening or reading it.

Lines are read at most :data:`MAX_LINE_BYTES` at a time: a longer line is skipped to its end in
bounded chunks and comes out as a :class:`~services.ingest.adapters.files.TooLong` record (its
reason says how long it was), so one huge line costs no more memory than a normal one.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from services.ingest.adapters.files import (
    FORMATS,
    MAX_LINE_BYTES,
    Record,
    TooLong,
    check_format,
    line_bounded,
    split_records,
    too_long_reason,
)

__all__ = [
    "FORMATS",
    "MAX_LINE_BYTES",
    "EventFileUnreadable",
    "Record",
    "TooLong",
    "check_event_file",
    "iter_records",
    "too_long_reason",
]

_CHUNK = 1024 * 1024  # how much of an over-long line is read at a time while skipping it

# the byte-order marks of text that is not UTF-8, longest first (UTF-32 LE starts like UTF-16 LE)
_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32 (little-endian)"),
    (b"\x00\x00\xfe\xff", "UTF-32 (big-endian)"),
    (b"\xff\xfe", "UTF-16 (little-endian)"),
    (b"\xfe\xff", "UTF-16 (big-endian)"),
)


class EventFileUnreadable(ValueError):
    """An events file that cannot be read at all; the message is one line naming the file."""


def check_event_file(path: str | Path) -> None:
    """Raise :class:`EventFileUnreadable` unless ``path`` is a regular file (checked without
    opening it: opening a FIFO blocks until a writer comes)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise EventFileUnreadable(f"{path}: no such file") from None
    except OSError as exc:
        raise EventFileUnreadable(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        kind = (
            "a directory" if stat.S_ISDIR(mode)
            else "a FIFO" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "not a regular file"
        )
        raise EventFileUnreadable(f"{path}: {kind}, not a regular file; give a recorded events file")


def iter_records(path: str | Path, fmt: str) -> Iterator[Record]:
    """The records of the file at ``path`` in format ``fmt``, as ``(key, value)`` pairs; line
    formats are read as they are split, so a large file is never held whole."""
    check_format(fmt)  # before the file is opened: an unknown format is the user's first error
    check_event_file(path)
    try:
        with Path(path).open("rb") as fh:
            _check_bom(fh, path)
            yield from split_records(bounded_lines(fh) if line_bounded(fmt) else fh, fmt)
    except OSError as exc:
        raise EventFileUnreadable(f"{path}: cannot be read: {exc.strerror or exc}") from None


def _check_bom(fh: BinaryIO, path: str | Path) -> None:
    head = fh.read(4)
    fh.seek(0)
    for bom, name in _BOMS:
        if head.startswith(bom):
            raise EventFileUnreadable(
                f"{path}: {name} text (byte-order mark {bom.hex(' ').upper()}); the formats are UTF-8: "
                f"convert it first, e.g. iconv -f {name.split()[0]} -t UTF-8"
            )


def bounded_lines(fh: BinaryIO, limit: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """The lines of ``fh`` (each with its ``\\n``), none longer than ``limit``: a longer line is
    read past in chunks and yields a :class:`TooLong` in its place."""
    readline = fh.readline
    while True:
        line = readline(limit + 1)
        if len(line) <= limit or line.endswith(b"\n"):
            if not line:
                return
            yield line
            continue
        size = len(line)
        del line
        while True:
            chunk = readline(_CHUNK)
            size += len(chunk)
            if not chunk or chunk.endswith(b"\n"):
                break
        yield TooLong(size)
