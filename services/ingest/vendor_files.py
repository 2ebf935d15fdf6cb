"""Recorded vendor files, read from disk: the shell around the pure splitter of
``services/ingest/adapters/files.py`` (for ``floorwatch replay``, ``rules backtest``, ``stats``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from services.ingest.adapters.files import FORMATS, Record, check_format, split_records

__all__ = ["FORMATS", "Record", "iter_records"]


def iter_records(path: str | Path, fmt: str) -> Iterator[Record]:
    """The records of the file at ``path`` in format ``fmt``, as ``(key, value)`` pairs; line
    formats are read as they are split, so a large file is never held whole."""
    check_format(fmt)  # before the file is opened: an unknown format is the user's first error
    with Path(path).open("rb") as fh:
        yield from split_records(fh, fmt)
