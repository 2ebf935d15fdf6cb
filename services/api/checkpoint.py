"""Alerts checkpoints: the API starts from the active alerts plus the tail, not the whole topic.

The alerts topic keeps every transition for its retention (a week in ``deploy/``); reading it all
at start grows without bound. A *checkpoint* of alerts partition ``p`` at offset ``O`` is exactly
what reading ``p`` from its beginning up to ``O`` leaves in ``LiveState``: the last transition of
every active alert, the transition ids seen last (for dedup) and the rules seen. An API starts
from the latest complete checkpoint of each partition and reads only the records from ``O`` on;
a partition without one (an old deployment, a fresh topic) is read from its beginning.

Who writes them: every API instance, for what it has read itself (``AlertMirror``, fed in order
by the feed's consumer thread). A checkpoint is thus correct by construction, whoever published the
transitions (any engine, a handover, a replay) and without relying on compaction, which the
embedded broker does not perform. Several API instances write several checkpoints; each is exact
at its own offset and a reader takes the one with the highest offset.

Records on ``floorwatch.alerts-checkpoint.v1`` (key ``<alerts topic>/<p>``, partition ``p`` modulo
the topic's partitions) are JSON; one checkpoint is split into ``chunks`` records sharing an
``id`` (Kafka's default record limit is 1 MiB): ``{"type": "alerts_checkpoint", "v": 1, "id",
"topic", "partition", "offset", "chunk", "chunks", "alerts": [...], "written_at"}``, plus on chunk
0 ``recent_ids`` and ``rules``. Nothing here does I/O; the Kafka side is ``kafka_feed.py``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import orjson

from services.api.ports import FeedItem
from services.api.state import LiveState, Update

CHECKPOINT_TYPE = "alerts_checkpoint"
ALERTS_PER_CHUNK = 200  # ~1 KiB each: a chunk stays well under Kafka's 1 MiB record limit
RECENT_IDS = 2000  # transition ids carried for dedup of redeliveries across the checkpoint
MAX_OPEN_CHECKPOINTS = 64  # incomplete checkpoints a reader holds chunks of at once
MAX_CHUNKS = 10_000  # chunks of one checkpoint (2 million active alerts)
MAX_PARTITIONS = 10_000  # partitions of the alerts topic a checkpoint may name


class AlertMirror:
    """What ``LiveState`` knows about one alerts partition, and the next offset it has read."""

    def __init__(self, dedup_size: int = 10_000) -> None:
        self.state = LiveState(dedup_size=dedup_size)
        self.position: int | None = None  # next offset of the partition; None: nothing read yet

    def apply(self, value: bytes, offset: int) -> bool:
        """Apply the record at ``offset``; False when it is a duplicate (the reader may drop it)."""
        self.position = offset + 1
        result = self.state.apply(FeedItem("alert", "", value))
        return isinstance(result, Update) or result.reason != "duplicate"

    def restore(self, checkpoint: Checkpoint) -> None:
        for item in checkpoint.items():
            self.state.apply(item)
        self.position = checkpoint.offset

    def encode(self, topic: str, partition: int, ckpt_id: str, written_at: str) -> list[bytes]:
        """This mirror as checkpoint records (at least one, even with no active alert)."""
        alerts = self.state.alerts()
        chunks = [alerts[i:i + ALERTS_PER_CHUNK] for i in range(0, len(alerts), ALERTS_PER_CHUNK)] or [[]]
        head = {"type": CHECKPOINT_TYPE, "v": 1, "id": ckpt_id, "topic": topic, "partition": partition,
                "offset": self.position, "chunks": len(chunks), "written_at": written_at}
        out = []
        for n, chunk in enumerate(chunks):
            doc: dict[str, Any] = {**head, "chunk": n, "alerts": chunk}
            if n == 0:
                doc["recent_ids"] = self.state.recent_transition_ids(RECENT_IDS)
                doc["rules"] = [{"info": info, "sites": sorted(sites)} for info, sites in self.state.rules()]
            out.append(orjson.dumps(doc))
        return out


@dataclass
class Checkpoint:
    """One complete checkpoint of an alerts partition."""

    topic: str
    partition: int
    offset: int
    alerts: list[dict[str, Any]] = field(default_factory=list)
    recent_ids: list[str] = field(default_factory=list)
    rules: list[Any] = field(default_factory=list)

    def items(self) -> list[FeedItem]:
        """What a reader yields before the tail: each active alert as a transition, then the seen
        ids and the rules as of the checkpoint (``LiveState._apply_checkpoint``)."""
        out = [FeedItem("alert", str((a.get("scope") or {}).get("site", "")), orjson.dumps(a))
               for a in self.alerts]
        head = {"recent_ids": self.recent_ids, "rules": self.rules}
        return [*out, FeedItem("checkpoint", "", orjson.dumps(head))]


class CheckpointPicker:
    """Fed checkpoint records (any order, any writers), keeps per alerts partition the complete
    checkpoint with the highest offset. Records that do not parse, of another topic or with
    missing chunks are ignored: the partition then falls back to an older one or a full read.

    What it holds is bounded whatever it is fed: the best checkpoint per partition, and the
    chunks of at most ``max_open`` checkpoints still incomplete that could beat it (the oldest
    started is dropped first). A reader may thus feed it a whole topic."""

    def __init__(self, topic: str, max_open: int = MAX_OPEN_CHECKPOINTS) -> None:
        self.topic = topic
        self.max_open = max_open
        self._best: dict[int, Checkpoint] = {}
        self._open: OrderedDict[str, dict[int, dict[str, Any]]] = OrderedDict()  # id -> chunk -> doc
        self._broken: OrderedDict[str, None] = OrderedDict()  # ids whose chunks disagree
        self.ignored = 0

    def add(self, value: bytes | None) -> None:
        try:
            doc = orjson.loads(value or b"")
        except orjson.JSONDecodeError:
            self.ignored += 1
            return
        if not _well_formed(doc) or doc["topic"] != self.topic:
            self.ignored += 1
            return
        held = self._best.get(doc["partition"])
        if (held is not None and held.offset >= doc["offset"]) or doc["id"] in self._broken:
            return  # cannot win
        chunks = self._open.setdefault(doc["id"], {})
        where = (doc["offset"], doc["partition"], doc["chunks"])
        if any((c["offset"], c["partition"], c["chunks"]) != where for c in chunks.values()):
            del self._open[doc["id"]]
            self._broken[doc["id"]] = None
            if len(self._broken) > self.max_open:
                self._broken.popitem(last=False)
            return
        chunks[doc["chunk"]] = doc
        if len(chunks) == doc["chunks"]:
            del self._open[doc["id"]]
            self._complete(chunks)
        elif len(self._open) > self.max_open:
            self._open.popitem(last=False)

    def _complete(self, chunks: dict[int, dict[str, Any]]) -> None:
        first = chunks[0]
        self._best[first["partition"]] = Checkpoint(
            self.topic, first["partition"], first["offset"],
            [a for n in range(first["chunks"]) for a in chunks[n]["alerts"]],
            [t for t in first.get("recent_ids") or [] if isinstance(t, str)],
            list(first.get("rules") or []))
        beaten = [i for i, c in self._open.items()
                  if next(iter(c.values()))["partition"] == first["partition"]
                  and next(iter(c.values()))["offset"] <= first["offset"]]
        for ckpt_id in beaten:
            del self._open[ckpt_id]

    def latest(self) -> dict[int, Checkpoint]:
        return dict(self._best)


def _well_formed(doc: Any) -> bool:
    if not isinstance(doc, dict) or doc.get("type") != CHECKPOINT_TYPE or doc.get("v") != 1:
        return False
    ints = ("partition", "offset", "chunk", "chunks")
    if not all(isinstance(doc.get(k), int) and doc[k] >= 0 for k in ints) or doc["chunk"] >= doc["chunks"]:
        return False
    # bounds a writer of ours never reaches: what a picker holds per checkpoint and per partition
    if doc["chunks"] > MAX_CHUNKS or doc["partition"] >= MAX_PARTITIONS:
        return False
    return (isinstance(doc.get("id"), str) and isinstance(doc.get("topic"), str)
            and isinstance(doc.get("alerts"), list))
