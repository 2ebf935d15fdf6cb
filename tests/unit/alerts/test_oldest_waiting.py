"""The oldest waiting call per queue and site: the same answer as a scan of the waiting calls, at a
cost that does not grow with the number of calls waiting (a burst queued in the same second)."""

from __future__ import annotations

import random
from typing import Any

from services.alerts.core.floor.kpis import FloorConfig
from services.alerts.core.floor.reducer import Floor

from .feed import Feed, epoch

SITE = "bj-01"


class CountingDict(dict[str, float]):
    """A ``waiting`` dict that counts the entries handed out by whole-dict reads (scans)."""

    scanned = 0

    def values(self) -> Any:
        vals = list(super().values())
        CountingDict.scanned += len(vals)
        return vals

    def items(self) -> Any:
        items = list(super().items())
        CountingDict.scanned += len(items)
        return items

    def __iter__(self) -> Any:
        keys = list(super().__iter__())
        CountingDict.scanned += len(keys)
        return iter(keys)


def test_oldest_matches_a_plain_model_through_bursts_ties_and_moves() -> None:
    rng = random.Random(20261128)
    floor, feed = Floor(config=FloorConfig()), Feed()
    queues = ("q1", "q2", "q3")
    for queue in queues:  # create the queues, then watch how much of their waiting calls is read
        floor.apply(feed("queued", 0, call=f"x-{queue}", queue=queue))
        floor.apply(feed("abandoned", 0, call=f"x-{queue}", queue=queue))
        floor.sites[SITE].queues[queue].waiting = CountingDict()
    CountingDict.scanned = 0
    model: dict[str, tuple[str, float]] = {}  # call -> (queue, queued at)
    n = 0
    for step in range(4000):
        roll = rng.random()
        if roll < 0.5 or not model:
            # a new call, often several in the same second (1-s resolution bursts)
            n += 1
            call, queue, t = f"c{n}", rng.choice(queues), float(rng.randint(0, 40))
            floor.apply(feed("queued", t, call=call, queue=queue))
            model[call] = (queue, t)
        elif roll < 0.6:
            # queued again in the same queue while waiting, earlier: keeps the earliest arrival
            call = rng.choice(sorted(model))
            queue, was = model[call]
            t = was - rng.randint(0, 3)
            floor.apply(feed("queued", t, call=call, queue=queue))
            model[call] = (queue, min(was, t))
        elif roll < 0.7:
            # moved to another queue (a transfer): waits there from the new time
            call = rng.choice(sorted(model))
            queue, was = model[call]
            other = rng.choice([q for q in queues if q != queue])
            t = was + rng.randint(1, 5)
            floor.apply(feed("queued", t, call=call, queue=other))
            model[call] = (other, t)
        else:
            # answered or abandoned, mostly the oldest ones (as a queue serves them)
            waiting = sorted(model, key=lambda c: (model[c][1], c))
            call = waiting[0] if rng.random() < 0.6 else rng.choice(waiting)
            queue, _ = model.pop(call)
            kind = "answered" if rng.random() < 0.5 else "abandoned"
            extra = {"agent": "a1"} if kind == "answered" else {}
            floor.apply(feed(kind, 45, call=call, queue=queue, **extra))
        s = floor.sites[SITE]
        for queue in queues:
            times = [t for q, t in model.values() if q == queue]
            want = epoch(min(times)) if times else None
            got = s.queues[queue].oldest if queue in s.queues else None
            assert got == want, (step, queue)
        all_times = [t for _, t in model.values()]
        assert s.oldest_waiting() == (epoch(min(all_times)) if all_times else None), step
    # bounded work: no scan of all waiting calls per answer (only rare compactions)
    assert CountingDict.scanned <= 2 * 4000
    for queue in queues:
        q = floor.sites[SITE].queues[queue]
        assert len(q.heap) <= 2 * len(q.waiting) + 33  # entries of calls gone are compacted


def test_answers_of_a_same_second_burst_do_not_rescan_every_waiting_call() -> None:
    n, served = 20_000, 2_000
    floor, feed = Floor(config=FloorConfig()), Feed()
    floor.apply(feed("queued", 0, call="first", queue="q"))
    q = floor.sites[SITE].queues["q"]
    counting = CountingDict(q.waiting)
    q.waiting = counting
    for i in range(n):
        floor.apply(feed("queued", 1, call=f"c{i}", queue="q"))  # an ACD burst, same second
    floor.apply(feed("abandoned", 1.5, call="first", queue="q"))
    CountingDict.scanned = 0
    for i in range(served):
        floor.apply(feed("abandoned", 1.5, call=f"c{i}", queue="q"))
        assert q.oldest == epoch(1)
    # a scan per abandon would read ~ served * n entries; allow a few whole rebuilds at most
    assert CountingDict.scanned <= 4 * (n + 1)
    for i in range(served, n):
        floor.apply(feed("abandoned", 2, call=f"c{i}", queue="q"))
    assert q.oldest is None and floor.sites[SITE].oldest_waiting() is None
