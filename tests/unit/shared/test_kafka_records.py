"""shared/kafka_records.py: kafka-python's record reader, with header names that are not UTF-8
read as Apache Kafka's Java client reads them, on batches built by kafka-python's own builder."""

from __future__ import annotations

import random

import pytest
from kafka.errors import CorruptRecordError
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder

import shared.kafka  # noqa: F401  (installs the lenient reader, as every service does)
from shared.kafka_records import batch_problems, read_header_names_leniently, read_record


class RawName(str):
    """A header name the builder writes as the given bytes (it encodes names with ``encode``)."""

    raw: bytes

    def __new__(cls, raw: bytes) -> RawName:
        name = super().__new__(cls, "raw")
        name.raw = raw
        return name

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return self.raw


def build(records: list[tuple[bytes | None, bytes | None, list]], compression: int = 0) -> bytearray:
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=compression, is_transactional=False,
                                        producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                        batch_size=1 << 20)
    for offset, (key, value, headers) in enumerate(records):
        assert builder.append(offset, 1_700_000_000_000 + offset * 7, key, value, headers) is not None
    return builder.build()


def read(buf: bytearray) -> list[tuple[int, int, bytes | None, bytes | None, list]]:
    return [(r.offset, r.timestamp, r.key, r.value, list(r.headers)) for r in DefaultRecordBatch(bytes(buf))]


def test_the_installed_kafka_python_has_what_the_reader_uses_and_it_is_wrapped() -> None:
    assert batch_problems() == []
    assert read_header_names_leniently() is True  # already, by shared.kafka's import; once only
    assert getattr(DefaultRecordBatch._read_msg, "lenient", False)
    batch = DefaultRecordBatch(bytes(build([(b"k", b"v", [])])))
    assert isinstance(batch._buffer, (bytes, bytearray, memoryview)) and batch._pos >= 0


@pytest.mark.parametrize("compression", [0, 1])  # none, gzip
def test_names_that_are_not_utf8_read_with_replacement_and_the_batch_goes_on(compression: int) -> None:
    buf = build([
        (b"a", b"first", [("ok", b"1")]),
        (None, b"second", [(RawName(b"trace-\xff\xfe"), b"x"), ("ok", None), (RawName(b"\xc3"), b"")]),
        (b"c", None, []),
    ], compression)
    assert read(buf) == [
        (0, 1_700_000_000_000, b"a", b"first", [("ok", b"1")]),
        (1, 1_700_000_000_007, None, b"second",
         [("trace-\ufffd\ufffd", b"x"), ("ok", None), ("\ufffd", b"")]),
        (2, 1_700_000_000_014, b"c", None, []),
    ]


def test_the_reader_reads_any_valid_record_as_kafka_python_does() -> None:
    rng = random.Random(7)

    def blob() -> bytes | None:
        return None if rng.random() < 0.2 else rng.randbytes(rng.choice([0, 1, 5, 63, 64, 300]))

    for _ in range(200):
        records = [(blob(), blob(), [(rng.choice(["", "a", "名字", "x" * 130]), blob())
                                     for _ in range(rng.choice([0, 1, 3]))])
                   for _ in range(rng.randint(1, 5))]
        buf = bytes(build(records))
        strict = list(DefaultRecordBatch(buf))
        batch = DefaultRecordBatch(buf)
        batch._maybe_uncompress()
        mine = [read_record(batch) for _ in strict]
        assert batch._pos == len(batch._buffer)
        assert [(r.offset, r.timestamp, r.timestamp_type, r.key, r.value, r.headers, r.size_in_bytes)
                for r in mine] == [
            (r.offset, r.timestamp, r.timestamp_type, r.key, r.value, r.headers, r.size_in_bytes)
            for r in strict]


def _one_bad_record(tail: bytes) -> bytearray:
    """A batch of one record whose header name is not UTF-8, its headers replaced by ``tail``
    (count and headers), lengths left as they were: the reader must refuse, not read past."""
    buf = build([(b"k", b"v", [(RawName(b"\xff"), b"x")])])
    body = bytearray(buf)
    i = body.rindex(b"\x02\x02\xff\x02x")  # count 1, name length 1, name, value length 1, value
    body[i:i + 5] = tail.ljust(5, b"\x00")[:5]
    return body


@pytest.mark.parametrize("tail", [
    b"\xfe\xff\xff\xff\x0f",  # a count of two thousand million headers
    b"\x02\x7e\xff\x02x",  # a name of 63 bytes in a record of a few
    b"\x02\x01\xff\x02x",  # a name of length -1 (null)
    b"\x01\x02\xff\x02x",  # a count of -1
    b"\x02\x02\xff\x00\x00",  # fields that end before the record does
])
def test_a_record_whose_lengths_do_not_add_up_is_still_refused(tail: bytes) -> None:
    body = _one_bad_record(tail)
    with pytest.raises(CorruptRecordError):  # through the batch, as a consumer reads it
        read(body)
    batch = DefaultRecordBatch(bytes(body))
    batch._maybe_uncompress()
    batch._buffer = bytes(batch._buffer) + b"\x02\x02\x02" * 50  # more bytes after the record
    with pytest.raises(CorruptRecordError):  # the reader itself: it never reads past its record
        read_record(batch)
