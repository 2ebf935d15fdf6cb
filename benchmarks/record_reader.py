"""What reading header names leniently costs a consumer (shared/kafka_records.py).

    .venv/bin/python -m benchmarks.record_reader [--records 200000] [--repeat 5]

Every record a consumer reads passes kafka-python's ``DefaultRecordBatch._read_msg``; Floorwatch
wraps it so that a header name that is not UTF-8 is read instead of stopping the consumer. This
reads the same batches (500 records of ~300 bytes each, two headers, as ingest's raw topic holds
them) through kafka-python's reader as it ships and, in the same process, through the wrapped
one, and prints records/s of each and their ratio, alternating the two per repeat.
"""

from __future__ import annotations

import argparse
import statistics
import time

from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder

import shared.kafka  # noqa: F401  (wraps the reader, as every service's import does)
from shared.kafka_records import read_header_names_leniently

PER_BATCH = 500


def batches(records: int) -> list[bytes]:
    out = []
    value = b'{"v":1,"type":"call.queued","site":"bj-01","queue":"sales",' + b'"x":"' + b"y" * 200 + b'"}'
    for b in range(records // PER_BATCH):
        builder = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False,
                                            producer_id=-1, producer_epoch=-1, base_sequence=-1,
                                            batch_size=1 << 22)
        for i in range(PER_BATCH):
            builder.append(i, 1_700_000_000_000 + i, b"bj-01", value,
                           [("source", b"acd-1"), ("trace", str(b * PER_BATCH + i).encode())])
        out.append(bytes(builder.build()))
    return out


def read_all(raw: list[bytes]) -> float:
    start = time.perf_counter()
    n = 0
    for buf in raw:
        for record in DefaultRecordBatch(buf):
            n += len(record.headers)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    assert read_header_names_leniently()
    lenient = DefaultRecordBatch._read_msg
    strict = lenient.__closure__[0].cell_contents if lenient.__closure__ else lenient
    assert not getattr(strict, "lenient", False), "could not find kafka-python's own reader"
    raw = batches(args.records)
    n = len(raw) * PER_BATCH
    times: dict[str, list[float]] = {"kafka-python's reader": [], "wrapped (lenient names)": []}
    for _ in range(args.repeat):
        for name, reader in (("kafka-python's reader", strict), ("wrapped (lenient names)", lenient)):
            DefaultRecordBatch._read_msg = reader  # type: ignore[method-assign]
            times[name].append(read_all(raw))
    DefaultRecordBatch._read_msg = lenient  # type: ignore[method-assign]
    for name, ts in times.items():
        print(f"{name:26s} {n / statistics.median(ts):>10,.0f} records/s  (median of {args.repeat}; "
              f"best {n / min(ts):,.0f})")
    base, wrapped = (statistics.median(ts) for ts in times.values())
    print(f"wrapped / kafka-python: x{base / wrapped:.3f} of the records/s, "
          f"+{(wrapped - base) / n * 1e9:.0f} ns per record")


if __name__ == "__main__":
    main()
