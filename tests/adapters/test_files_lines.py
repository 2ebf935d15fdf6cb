"""The file reader's limits: a line over the cap costs bounded memory and is one unreadable
record (the lines after it are read), a directory or FIFO is refused before it is opened, and a
UTF-16/UTF-32 file is refused with that reason (until 2026-12-08 a huge line was read whole, to a
MemoryError, a FIFO without a writer blocked forever and UTF-16 gave a reason per record)."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

from services.ingest.vendor_files import MAX_LINE_BYTES, EventFileUnreadable, iter_records, too_long_reason

GOOD = b'{"a": 1}\n'


def test_an_over_long_line_is_one_record_with_a_reason_and_the_lines_after_it_are_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "e.jsonl"
    long_line = b"x" * (MAX_LINE_BYTES + 10) + b"\n"
    path.write_bytes(GOOD + long_line + GOOD)
    recs = [value for _, value in iter_records(path, "canonical")]
    assert len(recs) == 3
    assert recs[0] == recs[2] == GOOD.rstrip(b"\n")
    assert too_long_reason(recs[0]) is None
    reason = f"line too long: {len(long_line)} bytes, over the 4 MiB a line may have"
    assert too_long_reason(recs[1]) == reason


def test_a_line_at_the_cap_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "e.txt"
    line = b"y" * MAX_LINE_BYTES + b"\n"  # the cap does not count the newline
    path.write_bytes(line + b"z" * (MAX_LINE_BYTES + 1) + b"\n")
    first, second = (value for _, value in iter_records(path, "asterisk-queue-log"))
    assert first == line.rstrip(b"\n") and too_long_reason(first) is None
    assert too_long_reason(second) is not None


@pytest.mark.parametrize("fmt", ["canonical", "asterisk-queue-log", "anonymous-bank", "asterisk-ami"])
def test_a_huge_line_costs_bounded_memory(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "huge"
    with path.open("wb") as fh:
        fh.write(b"Event: QueueCallerJoin\n" if fmt == "asterisk-ami" else GOOD)
        fh.write(b"q" * (32 * 1024 * 1024))  # one 32 MiB line, no newline at the end
    tracemalloc.start()
    try:
        recs = [value for _, value in iter_records(path, fmt)]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * MAX_LINE_BYTES, peak  # the line read whole would be 32 MiB
    assert [too_long_reason(v) is not None for v in recs][-1]


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EventFileUnreadable, match="a directory, not a regular file"):
        list(iter_records(tmp_path, "canonical"))


@pytest.mark.timeout(20)
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(EventFileUnreadable, match="a FIFO, not a regular file"):
        list(iter_records(fifo, "anonymous-bank"))


@pytest.mark.parametrize(
    ("codec", "name"),
    [("utf-16", "UTF-16 (little-endian)"), ("utf-16-be", "UTF-16 (big-endian)"),
     ("utf-32", "UTF-32 (little-endian)"), ("utf-32-be", "UTF-32 (big-endian)")],
)
def test_a_utf16_or_utf32_file_is_refused_with_its_encoding(tmp_path: Path, codec: str, name: str) -> None:
    path = tmp_path / "u.jsonl"
    bom = "\ufeff".encode(codec) if codec.endswith("-be") else b""  # utf-16 / utf-32 write their own (LE)
    path.write_bytes(bom + '{"a": 1}\n'.encode(codec))
    with pytest.raises(EventFileUnreadable) as exc:
        list(iter_records(path, "canonical"))
    assert str(exc.value).startswith(f"{path}: {name} text (byte-order mark ")
    assert "\n" not in str(exc.value)
