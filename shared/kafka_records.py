"""A record whose header name is not UTF-8 is read, not refused.

Kafka's protocol calls a header name a string, and Apache Kafka's broker does not check that it is
UTF-8: it stores such a record, and its Java client reads the name with U+FFFD in place of each
byte it cannot decode. kafka-python refuses it instead (``CorruptRecordError`` out of every
``poll``), and as a refused record is never passed, a consumer stays at its offset at every
restart, and the records after it in its batch are never read either: one hostile producer would
stop ingest for good.

So kafka-python's record reader is wrapped: a record it reads is returned as it is; only where it
fails on a header name's UTF-8 is the same record read again, by :func:`read_record`, with the
names decoded as the Java client decodes them. That costs one Python call per record read
(docs/benchmarks.md, *A header name that is not UTF-8*). Anything else that is wrong in a record
(lengths that do not add up, a negative count) is still refused as kafka-python refuses it.
"""

from __future__ import annotations

import logging
from typing import Any

from kafka.errors import CorruptRecordError
from kafka.record.default_records import DefaultRecord, DefaultRecordBatch
from kafka.record.util import decode_varint

logger = logging.getLogger(__name__)

# what the reader needs of kafka-python's record batch, besides the instance's ``_buffer`` (the
# batch's records, uncompressed) and ``_pos`` (where the next record starts): read in
# kafka-python 3.0.12, checked against the installed one by tests/unit/shared/test_kafka_records.py
BATCH_PARTS = ("_read_msg", "is_control_batch", "base_offset", "timestamp_type", "first_timestamp",
               "max_timestamp", "LOG_APPEND_TIME")


def _bytes_at(buf: Any, pos: int, end: int) -> tuple[bytes | None, int]:
    """A length-prefixed nullable byte string at ``pos`` (length -1: null), within ``end``."""
    n, pos = decode_varint(buf, pos)
    if n < 0:
        return None, pos
    if pos + n > end:
        raise CorruptRecordError(f"a field of {n} bytes runs past its record's end")
    return bytes(buf[pos:pos + n]), pos + n


def read_record(batch: Any) -> DefaultRecord:
    """The record at ``batch``'s position, read as the protocol states it (record format v2),
    header names decoded as UTF-8 with U+FFFD for what is not; the batch moves past it.

    Record: length varint, attributes int8, timestamp delta varlong, offset delta varint, key
    (varint length, -1 null), value (same), header count varint, then per header a name (varint
    length, bytes) and a value (varint length, -1 null)."""
    buf = batch._buffer
    length, pos = decode_varint(buf, batch._pos)
    start = pos
    end = start + length
    if length < 0 or end > len(buf):
        raise CorruptRecordError(f"a record of {length} bytes where {len(buf) - start} are left")
    pos += 1  # attributes: unused in format v2
    ts_delta, pos = decode_varint(buf, pos)
    offset_delta, pos = decode_varint(buf, pos)
    key, pos = _bytes_at(buf, pos, end)
    value, pos = _bytes_at(buf, pos, end)
    count, pos = decode_varint(buf, pos)
    if count < 0:
        raise CorruptRecordError(f"a record with {count} headers")
    headers: list[tuple[str, bytes | None]] = []
    for _ in range(count):
        if pos >= end:  # each header takes at least two bytes: a count past them is a lie
            raise CorruptRecordError(f"a record with {count} headers that holds {len(headers)}")
        name, pos = _bytes_at(buf, pos, end)
        if name is None:
            raise CorruptRecordError("a header without a name")
        header_value, pos = _bytes_at(buf, pos, end)
        headers.append((name.decode("utf-8", "replace"), header_value))
    if pos != end:
        raise CorruptRecordError(f"a record of {length} bytes whose fields take {pos - start}")
    if batch.timestamp_type == batch.LOG_APPEND_TIME:
        timestamp = batch.max_timestamp
    else:
        timestamp = batch.first_timestamp + ts_delta
    batch._pos = pos
    return DefaultRecord(length, batch.base_offset + offset_delta, timestamp,
                         batch.timestamp_type, key, value, headers)


def batch_problems() -> list[str]:
    """What :func:`read_header_names_leniently` needs of kafka-python and does not find."""
    return [f"DefaultRecordBatch.{part}: not there" for part in BATCH_PARTS
            if not hasattr(DefaultRecordBatch, part)]


def read_header_names_leniently() -> bool:
    """Wrap kafka-python's record reader (once per process): True when it is wrapped."""
    strict = DefaultRecordBatch.__dict__.get("_read_msg")
    if getattr(strict, "lenient", False):
        return True
    problems = batch_problems()
    if strict is None or problems:
        logger.warning("kafka-python %s: records whose header names are not UTF-8 will stop "
                       "consumers (%s)", _version(), "; ".join(problems) or "no _read_msg")
        return False

    def lenient(self: Any) -> Any:
        try:
            return strict(self)
        except UnicodeDecodeError:
            if self.is_control_batch:
                raise
            return read_record(self)

    lenient.lenient = True  # type: ignore[attr-defined]
    DefaultRecordBatch._read_msg = lenient  # type: ignore[method-assign]
    return True


def _version() -> str:
    from kafka import __version__

    return str(__version__)
