"""Vendor file formats → the per-record payloads each adapter's ``decode`` takes (pure, no I/O).

``split_records(lines, fmt)`` takes a file's content as the lines a binary file yields (any
iterable of ``bytes`` chunks ending in ``\n``; the shell that reads files,
``services/ingest/vendor_files.py``, passes the open file) and yields ``(key, value)`` pairs,
exactly what a Kafka record of that vendor topic would carry (the key is always ``None``: files
carry no partition key). It only splits: whether a record means anything is the adapter's call,
and a record that cannot be read is yielded anyway (raw) so the adapter rejects it with a reason,
as ingest would put it on the DLQ. Line formats are split as the lines come (a file of millions
of rows is never held whole); the other formats need the whole text.

========================  ==================================================================
format                    one record is
========================  ==================================================================
canonical                 one line (JSON Lines); blank lines skipped
asterisk-queue-log        one line: stock ``epoch|callid|…`` or a PBXware CSV row (header skipped)
asterisk-ami              one ``Key: Value`` event block, out of a raw AMI stream or a console
                          capture (``manager set debug on``) with verbose lines between blocks
amazon-connect-agent,     one JSON object: the elements of a JSON array, a lone object, or JSON
amazon-connect-ctr        Lines; ``//`` comments, trailing commas and a stray ``}`` are repaired
                          (see ``jsonc``); an element beyond repair comes out as its raw text
anonymous-bank            one tab-separated row (header skipped, CRLF or LF)
========================  ==================================================================

A line of the line formats and of ``asterisk-ami`` is at most :data:`MAX_LINE_BYTES` (4 MiB, the
largest record ``floorwatch replay``'s producer sends; a canonical event is refused above 64 KiB
anyway). The reader (``vendor_files``) hands a longer line over as a :class:`TooLong` in its
place, which comes out as a record of its own: callers count it unreadable with
:func:`too_long_reason` and do not decode it. The JSON formats are read whole (an export may be
one long line), so no cap applies to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

from services.ingest.adapters.ami import iter_ami_blocks
from services.ingest.adapters.jsonc import split_records as split_json_records

Record = tuple[bytes | None, bytes]

_LINE_FORMATS: Final = {
    "canonical": (),
    "asterisk-queue-log": (b"uid,",),
    "anonymous-bank": (b"vru+line",),
}
_JSON_FORMATS: Final = ("amazon-connect-agent", "amazon-connect-ctr")
FORMATS: Final = (*_LINE_FORMATS, "asterisk-ami", *_JSON_FORMATS)
MAX_LINE_BYTES: Final = 4 * 1024 * 1024


class TooLong(bytes):
    """Stands for a line over :data:`MAX_LINE_BYTES` that was skipped unread; empty, with the
    line's ``size`` (bytes, its newline included)."""

    size: int

    def __new__(cls, size: int) -> TooLong:
        self = super().__new__(cls)
        self.size = size
        return self


def too_long_reason(value: bytes) -> str | None:
    """Why a record is unreadable if it stands for an over-long line, else ``None``."""
    if isinstance(value, TooLong):
        mib = MAX_LINE_BYTES // (1024 * 1024)
        return f"line too long: {value.size} bytes, over the {mib} MiB a line may have"
    return None


def line_bounded(fmt: str) -> bool:
    """Whether ``fmt``'s lines are capped at :data:`MAX_LINE_BYTES` (all but the JSON formats)."""
    return fmt not in _JSON_FORMATS


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")


def split_records(lines: Iterable[bytes], fmt: str) -> Iterator[Record]:
    """Split a file's content (its raw lines) into the records the ``fmt`` adapter decodes one by one."""
    check_format(fmt)
    if fmt in _LINE_FORMATS:
        yield from _lines(lines, _LINE_FORMATS[fmt])
    elif fmt == "asterisk-ami":
        yield from _ami(lines)
    else:
        text = b"".join(lines).decode("utf-8-sig", errors="replace")
        yield from ((None, rec) for rec in split_json_records(text))


def _ami(lines: Iterable[bytes]) -> Iterator[Record]:
    """The blocks of the text between over-long lines, each over-long line a record of its own."""
    part: list[bytes] = []
    for line in lines:
        if isinstance(line, TooLong):
            yield from ((None, block) for block in iter_ami_blocks(b"".join(part)))
            part = []
            yield (None, line)
        else:
            part.append(line)
    yield from ((None, block) for block in iter_ami_blocks(b"".join(part)))


def _lines(lines: Iterable[bytes], headers: tuple[bytes, ...]) -> Iterator[Record]:
    for number, raw in enumerate(lines):
        if isinstance(raw, TooLong):
            yield (None, raw)
            continue
        line = raw.rstrip(b"\r\n")
        if number == 0:
            line = line.removeprefix(b"\xef\xbb\xbf")
            if headers and line.startswith(headers):
                continue
        if line.strip():
            yield (None, line)
