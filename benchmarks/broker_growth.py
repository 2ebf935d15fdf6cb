"""The embedded broker's cost per fetch against what it holds: records and batches.

    .venv/bin/python -m benchmarks.broker_growth [--points 6000x600,6000x6000,60000x600,60000x6000]
        [--seconds 10] [--idle 5] [--rate 50] [--consumers 3] [--partitions 3]

For each ``RECORDSxBATCHES`` point, on a fresh :class:`EmbeddedBroker` (Tansu, memory storage):

1. fill one topic (3 partitions) with RECORDS records of 250 bytes in exactly BATCHES produce
   batches, round-robin over the partitions;
2. ``--consumers`` consumer groups, one thread each, made by ``shared.kafka.make_consumer`` with the
   services' settings (``fetch_max_wait_ms`` 25, ``max_poll_records`` 2000, from the earliest
   offset), read the whole topic (timed, group join included) and then keep polling its end;
3. *idle*: ``--idle`` s with nothing produced;
4. *live*: ``--seconds`` s in which a producer (``linger_ms=0``) adds ``--rate`` records/s, one per
   batch, as a running stack does, so most fetches find a new record;
5. ``--fetches`` fetches that each find one batch (seek to the last record of partition 0, poll).

Prints, per point: the broker's RSS after the fill, the read-from-start time, the broker's share
of one core (``/proc/<pid>/stat`` utime + stime over wall time) while idle and while live, the
live records' ``send`` → out of ``poll`` time (p50 / p99 over every consumer) and the one-batch
fetch round trip (p50). Every point starts its own broker.
"""

from __future__ import annotations

import argparse
import os
import statistics
import struct
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.structs import TopicPartition

from benchmarks.procstat import cpu_s, rss_mb
from shared.broker import EmbeddedBroker
from shared.config import Settings
from shared.kafka import make_consumer, make_producer

RECORD_BYTES = 250
def parse_points(text: str) -> list[tuple[int, int]]:
    points = []
    for item in text.split(","):
        records, batches = (int(x) for x in item.lower().split("x"))
        if batches < 1 or records < batches:
            raise SystemExit(f"bad point {item!r}: need RECORDS >= BATCHES >= 1")
        points.append((records, batches))
    return points


@dataclass
class Result:
    records: int
    batches: int
    rss_mib: float
    catch_up_s: float
    idle_cpu: float
    live_cpu: float
    live_batches: int
    p50_ms: float
    p99_ms: float
    fetch_ms: float


def fill(settings: Settings, topic: str, partitions: int, records: int, batches: int) -> None:
    """``records`` records in exactly ``batches`` produce batches (one per partition per flush)."""
    producer = make_producer(settings, linger_ms=60_000, batch_size=1 << 20, acks=1)
    value = b"x" * RECORD_BYTES
    per_batch = [records // batches + (1 if i < records % batches else 0) for i in range(batches)]
    try:
        for start in range(0, batches, partitions):
            for i in range(start, min(start + partitions, batches)):
                for _ in range(per_batch[i]):
                    producer.send(topic, value, partition=i % partitions)
            producer.flush()
    finally:
        producer.close()


def tail(settings: Settings, topic: str, records: int, ready: threading.Barrier,
         stop: threading.Event, out: dict[str, Any]) -> None:
    """One consumer group: read the topic from the start, then keep polling its end."""
    consumer = make_consumer(settings, f"bench-{uuid.uuid4().hex[:8]}", [topic])
    latencies: list[float] = []
    try:
        started, seen = time.monotonic(), 0
        while seen < records and not stop.is_set():
            seen += sum(len(v) for v in consumer.poll(timeout_ms=500).values())
        out["catch_up_s"] = time.monotonic() - started
        ready.wait()
        while not stop.is_set():
            for recs in consumer.poll(timeout_ms=100).values():
                got = time.monotonic()
                latencies += [got - struct.unpack("!d", r.value[1:9])[0] for r in recs if r.value[:1] == b"T"]
    finally:
        out["latencies"] = latencies
        consumer.close()


def one_batch_fetches(settings: Settings, topic: str, count: int) -> list[float]:
    """Round trips of a fetch that finds data: seek to the last record of partition 0, poll it."""
    tp = TopicPartition(topic, 0)
    consumer = make_consumer(settings, None)
    consumer.assign([tp])
    last = consumer.end_offsets([tp])[tp] - 1
    times = []
    try:
        for i in range(count + 1):
            consumer.seek(tp, last)
            started = time.monotonic()
            while not consumer.poll(timeout_ms=1000):
                pass
            if i:  # the first one also connects
                times.append((time.monotonic() - started) * 1000)
    finally:
        consumer.close()
    return sorted(times)


def measure(records: int, batches: int, args: argparse.Namespace) -> Result:
    with EmbeddedBroker() as broker:
        pid = broker.pid
        assert pid is not None
        settings = Settings(kafka_bootstrap=broker.bootstrap)
        topic = f"growth.{uuid.uuid4().hex[:8]}"
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, client_id="bench-admin")
        admin.create_topics([NewTopic(topic, args.partitions, 1)])
        admin.close()
        fill(settings, topic, args.partitions, records, batches)
        rss = rss_mb(pid)

        ready, stop = threading.Barrier(args.consumers + 1), threading.Event()
        outs: list[dict[str, Any]] = [{} for _ in range(args.consumers)]
        threads = [
            threading.Thread(target=tail, args=(settings, topic, records, ready, stop, out), daemon=True)
            for out in outs
        ]
        for t in threads:
            t.start()
        try:
            ready.wait(timeout=300)  # every consumer has read the whole topic
        except threading.BrokenBarrierError:
            stop.set()
            raise SystemExit("the consumers did not read the topic within 300 s") from None

        # idle: every consumer polling at the end of the topic, nothing new
        cpu0, t0 = cpu_s(pid), time.monotonic()
        time.sleep(args.idle)
        idle_cpu = (cpu_s(pid) - cpu0) / (time.monotonic() - t0)

        # live: a trickle of one-record batches, polled as they arrive
        producer = make_producer(settings, linger_ms=0)
        interval, sent = 1.0 / args.rate, 0
        cpu0, t0 = cpu_s(pid), time.monotonic()
        while (now := time.monotonic()) - t0 < args.seconds:
            payload = b"T" + struct.pack("!d", now) + b"x" * (RECORD_BYTES - 9)
            producer.send(topic, payload, partition=sent % args.partitions)
            sent += 1
            time.sleep(max(0.0, t0 + sent * interval - time.monotonic()))
        live_cpu = (cpu_s(pid) - cpu0) / (time.monotonic() - t0)
        stop.set()
        for t in threads:
            t.join(timeout=10)
        producer.close()
        fetch_ms = one_batch_fetches(settings, topic, args.fetches)

    latencies = sorted(x for out in outs for x in out.get("latencies", []))
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
    return Result(
        records, batches, rss,
        catch_up_s=max(out.get("catch_up_s", float("nan")) for out in outs),
        idle_cpu=idle_cpu, live_cpu=live_cpu, live_batches=sent,
        p50_ms=q[49] * 1000, p99_ms=q[98] * 1000,
        fetch_ms=statistics.median(fetch_ms),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", default="6000x600,6000x6000,60000x600,60000x6000",
                    help="RECORDSxBATCHES[,...] (default: %(default)s)")
    ap.add_argument("--seconds", type=float, default=10, help="live window per point")
    ap.add_argument("--idle", type=float, default=5, help="idle window per point")
    ap.add_argument("--rate", type=float, default=50, help="records/s in the live window, one per batch")
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--fetches", type=int, default=20, help="one-batch fetches timed at the end")
    ap.add_argument("--consumers", type=int, default=3,
                    help="consumer groups tailing the topic, one thread each")
    args = ap.parse_args()

    print(f"load average at start {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)", flush=True)
    rows = []
    for records, batches in parse_points(args.points):
        r = measure(records, batches, args)
        rows.append(r)
        print(f"  {records}x{batches} done, load average {os.getloadavg()[0]:.2f}", flush=True)

    print()
    print("| records | batches | broker RSS | read from start | broker CPU idle | broker CPU live"
          " | live send→poll p50 / p99 | one-batch fetch (p50) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r.records:,} | {r.batches:,} | {r.rss_mib:.0f} MiB | {r.catch_up_s:.1f} s"
              f" | {r.idle_cpu:.0%} | {r.live_cpu:.0%} | {r.p50_ms:.0f} / {r.p99_ms:.0f} ms"
              f" | {r.fetch_ms:.1f} ms |")
    print(f"\nlive window: {args.rate:g} one-record batches/s for {args.seconds:g} s "
          f"(+{rows[0].live_batches} batches); load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
