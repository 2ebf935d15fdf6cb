"""API start-up with a long alerts topic: the whole topic vs the latest checkpoint plus the tail.

    .venv/bin/python -m benchmarks.api_start [--transitions 1000000] [--alerts 5000] [--tail 10000]
                                             [--kafka HOST:PORT] [--partitions 3] [--no-check]

An embedded Tansu broker (memory storage, as ``floorwatch up``) unless ``--kafka`` names one. A
topic prefix of its own; ``--transitions`` alert transitions (~500 bytes, the wire shape) over
``--alerts`` alerts on 20 sites, each alert cycling pending → firing → resolved. Then:

1. ``full``: an API feed (``KafkaFeed`` + ``LiveState``, what the API's pump runs) starting with
   no checkpoint: it reads every partition from the beginning — what every start did before
   checkpoints. Once caught up it writes one checkpoint per alerts partition.
2. ``--tail`` more transitions.
3. ``checkpoint``: a new feed starting from those checkpoints, reading only the tail.
4. (unless ``--no-check``) ``reference``: a feed that ignores checkpoints (reads everything);
   ``same_active`` / ``same_rules``: whether it holds exactly the active alerts and rules of 3.

Per start: ``ready_s`` (the feed reached the end offsets it saw at start: what ``/readyz`` waits
for), ``applied_s`` (the last item applied to the live state), records read, active alerts. Only
the feed: uvicorn's own start (~0.3 s) is the same either way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
import uuid
from typing import Any

import orjson

from services.api.kafka_feed import KafkaFeed
from services.api.state import LiveState
from shared.broker import EmbeddedBroker
from shared.config import Settings
from shared.kafka import ensure_topics, make_producer


def produce(settings: Settings, count: int, alerts: int, held: dict[str, str], start: int) -> None:
    rng = random.Random(start)
    producer = make_producer(settings, linger_ms=20, batch_size=1024 * 1024)
    topic = settings.topic("alerts")
    for n in range(start, start + count):
        a = rng.randrange(alerts)
        site = f"site-{a % 20:02d}"
        fp = f"{site}/aht-spike/queue-{a:05d}"
        state = {"pending": "firing", "firing": "resolved"}.get(held.get(fp, "resolved"), "pending")
        held[fp] = state
        doc = {"id": fp, "fingerprint": fp, "transition_id": f"{fp}/{n}", "rule": "aht-spike",
               "kind": "aht_spike", "severity": "warning", "state": state, "previous": None,
               "scope": {"site": site, "queue": f"queue-{a:05d}"},
               "summary": "AHT 412 s vs 290 s baseline (+42%)", "value": 412.0, "threshold": 290.0,
               "started_at": "2026-12-01T08:00:00+00:00", "updated_at": "2026-12-01T08:00:01+00:00",
               "event_time": "2026-12-01T08:00:01+00:00", "ack": None, "labels": {"team": "a"},
               "details": {"metric": "aht_s", "op": ">", "for_s": 60}}
        producer.send(topic, key=site.encode(), value=orjson.dumps(doc))
    producer.flush()
    producer.close()


async def start(settings: Settings, *, use_checkpoints: bool = True) -> tuple[dict[str, Any], LiveState]:
    """One feed from start until caught up and applied; then (checkpoint interval permitting) it
    writes its checkpoints before it is closed."""
    feed = KafkaFeed(settings, use_checkpoints=use_checkpoints)
    live = LiveState()
    began = time.monotonic()
    ready_at: list[float] = []
    last_applied = [began]
    feed.set_ready_callback(lambda: ready_at.append(time.monotonic()))

    async def pump() -> None:
        async for item in feed:
            live.apply(item)
            last_applied[0] = time.monotonic()

    task = asyncio.create_task(pump())
    while not ready_at or time.monotonic() - last_applied[0] < 0.5:  # noqa: ASYNC110 - two conditions
        await asyncio.sleep(0.05)
    if settings.api_checkpoint_s > 0:
        while feed.stats["checkpoints_written"] == 0 and time.monotonic() - ready_at[0] < 30:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    await feed.aclose()
    await asyncio.wait_for(task, 30)
    out = {"ready_s": round(ready_at[0] - began, 2), "applied_s": round(last_applied[0] - began, 2),
           "alert_records_read": feed.stats["alert_records_read"],
           "checkpoints_used": feed.stats["checkpoints_used"],
           "checkpoints_written": feed.stats["checkpoints_written"], "active": len(live.alerts())}
    return out, live


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transitions", type=int, default=1_000_000)
    parser.add_argument("--alerts", type=int, default=5000)
    parser.add_argument("--tail", type=int, default=10_000)
    parser.add_argument("--kafka", help="HOST:PORT of a running broker (default: an embedded Tansu)")
    parser.add_argument("--partitions", type=int, default=Settings().partitions)
    parser.add_argument("--no-check", action="store_true", help="skip the full-read reference at the end")
    args = parser.parse_args()
    broker = None if args.kafka else EmbeddedBroker().start()
    try:
        settings = Settings(kafka_bootstrap=args.kafka or broker.bootstrap,  # type: ignore[union-attr]
                            topic_prefix=f"b{uuid.uuid4().hex[:8]}.", partitions=args.partitions,
                            api_checkpoint_s=0.1)
        ensure_topics(settings)
        with open("/proc/loadavg") as f:
            load = "/".join(f.read().split()[:3])
        where = "kafka " + args.kafka if args.kafka else "tansu"
        print(f"cores={os.cpu_count()} load={load} broker={where} partitions={args.partitions} "
              f"transitions={args.transitions} alerts={args.alerts} tail={args.tail}", flush=True)
        held: dict[str, str] = {}
        began = time.monotonic()
        produce(settings, args.transitions, args.alerts, held, 0)
        took = round(time.monotonic() - began, 1)
        print(json.dumps({"produced": args.transitions, "produce_s": took}), flush=True)
        full, _ = asyncio.run(start(settings))
        print(json.dumps({"start": "full", **full}), flush=True)
        produce(settings, args.tail, args.alerts, held, args.transitions)
        quiet = settings.model_copy(update={"api_checkpoint_s": 0.0})
        ckpt, live = asyncio.run(start(quiet))
        print(json.dumps({"start": "checkpoint", **ckpt}), flush=True)
        if not args.no_check:
            ref, reference = asyncio.run(start(quiet, use_checkpoints=False))
            print(json.dumps({"start": "reference", **ref, "same_active": reference.alerts() == live.alerts(),
                              "same_rules": reference.rules() == live.rules(),
                              "active_by_plain_count": sum(1 for s in held.values() if s != "resolved")}),
                  flush=True)
        with open("/proc/loadavg") as f:
            print(f"load after={'/'.join(f.read().split()[:3])}", flush=True)
    finally:
        if broker is not None:
            broker.stop()


if __name__ == "__main__":
    main()
