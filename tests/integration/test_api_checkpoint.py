"""The API starts from the alerts checkpoints plus the tail (``services/api/checkpoint.py``), on the
real broker, and ends up exactly where reading the whole alerts topic gets it.

Timeline (one topic prefix of this test's own, 2 partitions, 3 sites):

    old topics only ── 1,500 transitions ── feed D (no checkpoint topic: full read, writes none)
    + checkpoint topic ── feed A reads all, writes one checkpoint per alerts partition
    ── 700 more transitions (the tail; among them redelivered copies of older transitions)
    ── feed B (checkpoints) and feed C (use_checkpoints=False: the whole topic) compared

B must hold the same active alerts and rules as C, read only the tail's records, and pass on the
tail's transitions exactly as C does; D must hold what a plain fold of the produced transitions
(written in this test) gives. Last, a forged checkpoint of partition 0 that does not match the
topic is refused: feed E reads that partition whole and still equals C.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import orjson
import pytest

from services.api.checkpoint import AlertMirror
from services.api.kafka_feed import KafkaFeed
from services.api.state import LiveState, Update
from shared.config import Settings
from shared.kafka import ensure_topics, make_producer, service_topics

pytestmark = pytest.mark.kafka

SITES = ("bj-01", "sh-02", "gz-03")


def transitions(rng: random.Random, count: int, held: dict[str, str], start: int) -> list[dict[str, Any]]:
    """``count`` transitions of 90 alerts (30 per site): each moves pending -> firing -> resolved
    and may start again; ``held`` is each alert's state so far (updated)."""
    out = []
    for n in range(start, start + count):
        site = rng.choice(SITES)
        fp = f"{site}/rule-{rng.randrange(3)}/q{rng.randrange(10)}"
        state = {"pending": "firing", "firing": "resolved"}.get(held.get(fp, "resolved"), "pending")
        held[fp] = state
        out.append({"id": fp, "fingerprint": fp, "transition_id": f"t{n}", "rule": fp.split("/")[1],
                    "kind": "threshold", "severity": "warning", "state": state,
                    "scope": {"site": site, "queue": fp.split("/")[2]}, "value": float(n),
                    "threshold": 10.0, "started_at": f"2026-12-01T08:{n // 60 % 60:02d}:{n % 60:02d}+00:00",
                    "updated_at": f"2026-12-01T09:{n // 60 % 60:02d}:{n % 60:02d}+00:00"})
    return out


def produce(settings: Settings, docs: list[dict[str, Any]]) -> None:
    producer = make_producer(settings)
    for d in docs:
        producer.send(settings.topic("alerts"), key=d["scope"]["site"].encode(), value=orjson.dumps(d))
    producer.flush()
    producer.close()


class Run:
    """A feed pumped into a LiveState as the API's pump does, until caught up and quiet."""

    def __init__(self, feed: KafkaFeed) -> None:
        self.feed = feed
        self.live = LiveState()
        self.accepted: list[tuple[str, str]] = []  # (kind, transition id or "") in pump order
        self.ready = False

    async def run(self, *, then: float = 0.0, limit_s: float = 60.0) -> Run:
        def on_ready() -> None:
            self.ready = True

        self.feed.set_ready_callback(on_ready)
        count = 0

        async def pump() -> None:
            nonlocal count
            async for item in self.feed:
                result = self.live.apply(item)
                count += 1
                if isinstance(result, Update):
                    self.accepted.append((result.kind, str(result.doc.get("transition_id", ""))))

        task = asyncio.create_task(pump())
        deadline = time.monotonic() + limit_s
        seen = -1
        while time.monotonic() < deadline and not (self.ready and seen == count):
            seen = count
            await asyncio.sleep(0.5)
        assert self.ready, "the feed never caught up"
        await asyncio.sleep(then)
        await self.feed.aclose()
        await asyncio.wait_for(task, 10)
        return self


def fold(docs: list[dict[str, Any]]) -> dict[str, str]:
    """Plain reading of the transitions: the last state of each alert that is still active."""
    last: dict[str, str] = {}
    for d in docs:
        last[d["fingerprint"]] = d["state"]
    return {fp: s for fp, s in last.items() if s != "resolved"}


async def test_a_start_from_checkpoints_equals_reading_the_whole_topic(settings: Settings) -> None:
    settings = settings.model_copy(update={"api_checkpoint_s": 0.2})
    old = [t for t in service_topics(settings) if t != settings.topic("alerts-checkpoint")]
    ensure_topics(settings, old)
    rng = random.Random(14)
    held: dict[str, str] = {}
    first = transitions(rng, 1500, held, 0)
    produce(settings, first)

    # an old deployment: no checkpoint topic -> the whole topic, nothing written
    d = await Run(KafkaFeed(settings)).run(then=0.5)
    assert d.feed.stats["checkpoints_used"] == d.feed.stats["checkpoints_written"] == 0
    assert d.feed.stats["alert_records_read"] == 1500
    assert {a["fingerprint"]: a["state"] for a in d.live.alerts()} == fold(first) != {}

    ensure_topics(settings)  # an upgrade creates the checkpoint topic
    a = await Run(KafkaFeed(settings)).run(then=1.0)
    assert a.feed.stats["checkpoints_used"] == 0
    assert a.feed.stats["checkpoints_written"] == 2  # one per alerts partition

    tail = transitions(rng, 700, held, 1500)
    # redelivered copies: of a transition long before the checkpoint, and of the last one before it
    active = fold(first)
    stale = next(t for t in first[:200] if t["state"] == "firing" and t["fingerprint"] not in active)
    tail[100:100] = [stale, first[-1]]
    produce(settings, tail)

    b = await Run(KafkaFeed(settings.model_copy(update={"api_checkpoint_s": 0}))).run()
    c = await Run(KafkaFeed(settings, use_checkpoints=False)).run()
    assert b.feed.stats["checkpoints_used"] == 2
    assert b.feed.stats["alert_records_read"] == len(tail)  # the tail only, not 2,202 records
    assert c.feed.stats["alert_records_read"] == len(first) + len(tail)

    assert b.live.alerts() == c.live.alerts()
    assert {x["fingerprint"]: x["state"] for x in b.live.alerts()} == fold(first + tail)
    assert b.live.rules() == c.live.rules()
    # the tail's transitions reach the hub as they do from a full read (the duplicates dropped)
    restored = b.feed.stats["restored_items"]
    tail_ids = {t["transition_id"] for t in tail} - {stale["transition_id"], first[-1]["transition_id"]}
    site_of = {t["transition_id"]: t["scope"]["site"] for t in first + tail}
    from_b = [tid for _, tid in b.accepted[restored:]]
    from_c = [tid for kind, tid in c.accepted if kind == "alert" and tid in tail_ids]
    for site in SITES:  # order is kept per site (per partition); partitions interleave as polled
        assert [t for t in from_b if site_of[t] == site] == [t for t in from_c if site_of[t] == site]
    assert sorted(from_b) == sorted(from_c) == sorted(tail_ids)
    assert stale["transition_id"] not in from_b  # not revived by a redelivered copy

    # a checkpoint that does not match the topic (as after the topic was recreated): the record
    # before its offset is not one it has seen -> that partition is read from its beginning
    end0 = b.feed._mirrors[0].position
    assert end0 is not None
    forged = AlertMirror()
    forged.position = end0
    producer = make_producer(settings)
    for value in forged.encode(settings.topic("alerts"), 0, "forged", "2026-12-05T00:00:00+00:00"):
        producer.send(settings.topic("alerts-checkpoint"), key=b"forged", value=value, partition=0)
    producer.flush()
    producer.close()
    e = await Run(KafkaFeed(settings.model_copy(update={"api_checkpoint_s": 0}))).run()
    assert e.feed.stats["checkpoints_used"] == 1  # partition 1's; partition 0's forged one refused
    assert e.feed.stats["alert_records_read"] > end0  # all of partition 0, the tail of partition 1
    assert e.live.alerts() == c.live.alerts()
