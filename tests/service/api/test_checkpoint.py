"""Alerts checkpoints without a broker: a mirror restored from its own checkpoint records holds
what reading the transitions held; the picker takes the newest complete checkpoint and ignores
incomplete, foreign and malformed records."""

from __future__ import annotations

import tracemalloc
from typing import Any

import orjson

from services.api.checkpoint import ALERTS_PER_CHUNK, AlertMirror, CheckpointPicker
from services.api.ports import FeedItem
from services.api.state import LiveState

TOPIC = "floorwatch.alerts.v1"


def alert(n: int, state: str, tid: str) -> bytes:
    return orjson.dumps({"id": f"a{n}", "fingerprint": f"a{n}", "transition_id": tid,
                         "rule": f"r{n % 3}", "kind": "threshold", "severity": "warning", "state": state,
                         "scope": {"site": f"s{n % 2}"},
                         "started_at": f"2026-12-01T09:00:{n % 60:02d}+00:00"})


def records(count: int) -> list[bytes]:
    """``count`` alerts firing, then every third one resolved."""
    out = [alert(n, "firing", f"f{n}") for n in range(count)]
    return out + [alert(n, "resolved", f"r{n}") for n in range(0, count, 3)]


def mirror_of(values: list[bytes]) -> AlertMirror:
    mirror = AlertMirror()
    for offset, value in enumerate(values):
        mirror.apply(value, offset)
    return mirror


def picked(values: list[bytes]) -> dict[int, Any]:
    picker = CheckpointPicker(TOPIC)
    for v in values:
        picker.add(v)
    return picker.latest()


def test_a_checkpoint_in_chunks_restores_what_reading_held() -> None:
    values = records(ALERTS_PER_CHUNK * 3 + 30)
    mirror = mirror_of(values)
    encoded = mirror.encode(TOPIC, 3, "ck-1", "2026-12-05T00:00:00+00:00")
    assert len(encoded) == 3  # 630 alerts, 210 of them resolved: 420 active in chunks of 200
    ckpt = picked(encoded)[3]
    assert ckpt.offset == len(values)
    reader = LiveState()
    for value in values:
        reader.apply(FeedItem("alert", "", value))
    restored = LiveState()
    for item in ckpt.items():
        restored.apply(item)
    assert restored.alerts() == reader.alerts()
    assert restored.rules() == reader.rules()
    # plain count: alerts n not divisible by 3 stay active
    assert len(restored.alerts()) == sum(1 for n in range(ALERTS_PER_CHUNK * 3 + 30) if n % 3)
    # an older transition redelivered after the checkpoint is still a duplicate
    assert restored.apply(FeedItem("alert", "", values[0])).reason == "duplicate"  # type: ignore[union-attr]


def test_the_newest_complete_checkpoint_wins() -> None:
    old = mirror_of(records(10)).encode(TOPIC, 0, "old", "t")
    newer = mirror_of(records(ALERTS_PER_CHUNK * 2)).encode(TOPIC, 0, "new", "t")
    assert len(newer) == 2
    other_part = mirror_of(records(5)).encode(TOPIC, 1, "p1", "t")
    assert picked([*old, *newer, *other_part])[0].offset == len(records(ALERTS_PER_CHUNK * 2))
    # the newer one with a chunk missing is not used: the older complete one is
    got = picked([*old, newer[0], *other_part])
    assert got[0].offset == len(records(10))
    assert got[1].offset == len(records(5))


def test_foreign_and_malformed_records_are_ignored() -> None:
    good = mirror_of(records(4)).encode(TOPIC, 0, "ok", "t")
    foreign = mirror_of(records(40)).encode("other.alerts.v1", 0, "x", "t")
    picker = CheckpointPicker(TOPIC)
    for v in [b"not json", b"[]", b'{"type": "alerts_checkpoint", "v": 1}', None, *foreign, *good]:
        picker.add(v)
    assert picker.ignored == 4 + len(foreign)
    assert picker.latest()[0].offset == len(records(4))


def test_an_empty_partition_still_checkpoints() -> None:
    mirror = mirror_of([alert(1, "firing", "a"), alert(1, "resolved", "b")])
    ckpt = picked(mirror.encode(TOPIC, 0, "e", "t"))[0]
    assert (ckpt.offset, ckpt.alerts) == (2, [])


def test_the_picker_holds_the_best_checkpoint_not_every_record_it_is_fed() -> None:
    """Bounded memory while a reader feeds it a whole checkpoint topic, same choice as before."""
    one = mirror_of(records(30)).encode(TOPIC, 0, "ID", "t")[0]  # 30 alerts, 10 resolved: ~6 KiB
    picker = CheckpointPicker(TOPIC)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(5000):  # ~30 MiB of records, each a complete checkpoint of offset 40
            picker.add(one.replace(b'"ID"', f'"id{n}"'.encode()))
        for n in range(5000):  # and as many incomplete ones (chunk 0 of 2), newer each time
            picker.add(one.replace(b'"ID"', f'"open{n}"'.encode()).replace(b'"chunks":1', b'"chunks":2')
                       .replace(b'"offset":40', f'"offset":{41 + n}'.encode()))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 2 * 1024 * 1024, held
    assert picker.latest()[0].offset == 40
    # holding less, it still takes the newest complete one in any order
    old = mirror_of(records(10)).encode(TOPIC, 0, "old", "t")
    newer = mirror_of(records(ALERTS_PER_CHUNK * 2)).encode(TOPIC, 0, "new", "t")
    other = mirror_of(records(ALERTS_PER_CHUNK * 3)).encode(TOPIC, 0, "other", "t")
    # the newer one first, its chunks interleaved with another writer's; the older one last
    assert picked([newer[0], other[0], newer[1], *old])[0].offset == len(records(ALERTS_PER_CHUNK * 2))
    # chunks sharing an id but not an offset are not one checkpoint
    forged = orjson.loads(newer[1]) | {"offset": 99_999}
    assert picked([newer[0], orjson.dumps(forged), *old])[0].offset == len(records(10))


def test_a_checkpoint_naming_more_chunks_or_partitions_than_any_writer_is_ignored() -> None:
    """Chunks per checkpoint and the partition it names are bounded: one hostile record could
    otherwise make a reader hold chunks without end, or a best checkpoint per any number."""
    one = mirror_of(records(3)).encode(TOPIC, 0, "ID", "t")[0]
    picker = CheckpointPicker(TOPIC)
    picker.add(one.replace(b'"chunks":1', b'"chunks":10001'))
    picker.add(one.replace(b'"partition":0', b'"partition":10000'))
    assert picker.latest() == {} and picker.ignored == 2
    picker.add(one)
    assert list(picker.latest()) == [0]
