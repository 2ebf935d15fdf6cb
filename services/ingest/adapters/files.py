"""Vendor files → the per-record payloads each adapter's ``decode`` takes (for ``floorwatch replay``).

``iter_records(path, fmt)`` yields ``(key, value)`` pairs, exactly what a Kafka record of that
vendor topic would carry (the key is always ``None``: files carry no partition key). It only
splits: whether a record means anything is the adapter's call, and a record that cannot be read
is yielded anyway (raw) so the adapter rejects it with a reason, as ingest would put it on the DLQ.

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
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final

from services.ingest.adapters.ami import iter_ami_blocks
from services.ingest.adapters.jsonc import split_records

Record = tuple[bytes | None, bytes]

_LINE_FORMATS: Final = {
    "canonical": (),
    "asterisk-queue-log": (b"uid,",),
    "anonymous-bank": (b"vru+line",),
}
_JSON_FORMATS: Final = ("amazon-connect-agent", "amazon-connect-ctr")
FORMATS: Final = (*_LINE_FORMATS, "asterisk-ami", *_JSON_FORMATS)


def iter_records(path: str | Path, fmt: str) -> Iterator[Record]:
    """Split the file at ``path`` into the records the ``fmt`` adapter decodes one by one."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    path = Path(path)
    if fmt in _LINE_FORMATS:
        yield from _lines(path, _LINE_FORMATS[fmt])
    elif fmt == "asterisk-ami":
        yield from ((None, block) for block in iter_ami_blocks(path.read_bytes()))
    else:
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
        yield from ((None, rec) for rec in split_records(text))


def _lines(path: Path, headers: tuple[bytes, ...]) -> Iterator[Record]:
    with path.open("rb") as fh:
        for number, raw in enumerate(fh):
            line = raw.rstrip(b"\r\n")
            if number == 0:
                line = line.removeprefix(b"\xef\xbb\xbf")
                if headers and line.startswith(headers):
                    continue
            if line.strip():
                yield (None, line)
