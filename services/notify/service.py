"""The notifier's shell: feeds the pure dispatchers from the alerts topic and stores what they
decide; delivery (``delivery.py``) sends it.

One :class:`~services.notify.core.Dispatcher` per partition of the alerts topic (transitions are
keyed by site, so a site's alerts meet in one dispatcher). In the consumer's thread, in order:

* on assignment: restore each partition's dispatcher from its snapshot and seek to the offset it
  covers; on revocation: drop it (the new owner restores the last committed snapshot);
* per batch: decode each record (an unreadable one is counted, logged and skipped — it cannot
  stop the notifier), ``on_alert``, then flush what is due;
* after every poll (``on_idle``): flush the dispatchers whose deadline has come.

A flush that decided messages, or consumed records, commits the dispatcher's snapshot, the
offset and the new outbox rows in one transaction, then wakes the receivers' delivery tasks.
Kafka's committed offsets only mirror the snapshot (for lag dashboards).

The database away, a commit that fails keeps its rows (and the newest snapshot and offset) for
the next flush, tried again after ``RETRY_FIRST_S``, doubled up to ``RETRY_MAX_S``; the messages
go out once it is saved. At most ``MAX_UNSAVED`` rows wait: past that the step fails loudly (the
restart decides them again from the last snapshot). Until 2026-12-08 the first failed commit
stopped the notifier, and ``floorwatch up`` with it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from kafka import KafkaConsumer
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition

from services.notify.core import BadTransition, Dispatcher, Ledger, Notification, NotifyConfig, from_wire
from services.notify.core.alert import SCOPE_KEYS
from services.notify.core.render import Templates, render
from services.notify.delivery import Deliverer
from services.notify.metrics import NotifyMetrics
from services.notify.store import NotifyStore
from shared.i18n import load_catalogue
from shared.kafka import Batch
from shared.runtime import LoopThread

logger = logging.getLogger(__name__)


RETRY_FIRST_S = 0.5
RETRY_MAX_S = 5.0
MAX_UNSAVED = 10_000


@dataclass
class Partition:
    dispatcher: Dispatcher
    next_offset: int | None = None


@dataclass
class Unsaved:
    """A partition's commit that failed: kept for the next flush."""

    rows: list[dict[str, Any]]
    notes: list[Notification]


def outbox_row(note: Notification, config: NotifyConfig, templates: Templates, external_url: str,
               now: dt.datetime) -> dict[str, Any]:
    receiver = config.speaking(note.receiver, note.site)  # in its language: its own, else the site's
    msg = render(note, receiver, external_url=external_url, templates=templates)
    scopes = []
    for a in note.alerts:
        labels = a.label_map
        scopes.append({"scope": {k: labels[k] for k in SCOPE_KEYS if k in labels},
                       "labels": {k: v for k, v in labels.items() if k not in SCOPE_KEYS}})
    return {
        "notification_id": note.id, "route": note.route, "receiver": note.receiver, "kind": receiver.kind,
        "group_key": note.group_key, "status": "pending", "alert_status": note.status, "site": note.site,
        "sites": sorted({a.site for a in note.alerts}), "scopes": scopes,
        "fingerprints": [a.fingerprint for a in note.alerts], "alerts": msg.alerts, "shown": msg.shown,
        "content_type": msg.content_type, "body": msg.body, "subject": msg.subject, "html": msg.html,
        "created_at": now, "delivered_at": None, "attempts": 0, "last_error": None,
    }


class NotifyWorker:
    def __init__(self, *, consumer: KafkaConsumer, store: NotifyStore, loop: LoopThread, config: NotifyConfig,
                 topic: str, metrics: NotifyMetrics, deliverer: Deliverer, wall: Callable[[], dt.datetime],
                 external_url: str = "") -> None:
        self.consumer = consumer
        self.store = store
        self.loop = loop
        self.config = config
        self.topic = topic
        self.metrics = metrics
        self.deliverer = deliverer
        self.wall = wall
        self.external_url = external_url
        self.parts: dict[int, Partition] = {}
        self.ledger = Ledger({r.name: r.rate_limit for r in config.receivers})
        self.templates = Templates(load_catalogue(), on_error=self._template_failed)
        self.unsaved: dict[int, Unsaved] = {}  # partition -> what its failed commits held
        self.db_error: str | None = None  # why the last commit failed (None once one succeeds)
        self._retry_at = 0.0  # monotonic: no commit is tried before, while ``unsaved``
        self._retry_wait = RETRY_FIRST_S
        self.monotonic = time.monotonic

    def problem(self) -> str | None:
        """Why notifications are held back (``/readyz``): the database away; else None."""
        if not self.unsaved:
            return None
        rows = sum(len(u.rows) for u in self.unsaved.values())
        return f"database unavailable: {rows} notifications not saved yet ({self.db_error})"

    # -- rebalance -------------------------------------------------------------------------------
    def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        for tp in assigned:
            if tp.topic != self.topic:
                continue
            prefix = f"p{tp.partition}"
            saved = self.loop.call(self.store.load_snapshot(self.topic, tp.partition))
            if saved is None:
                self.parts[tp.partition] = Partition(Dispatcher(self.config, prefix))
                continue
            offset, data = saved
            dispatcher = Dispatcher.restore(self.config, orjson.loads(data), prefix)
            self.parts[tp.partition] = Partition(dispatcher, offset)
            self.consumer.seek(tp, offset)
            logger.info("partition %s: restored notifier state at offset %s (%d groups)", tp.partition,
                        offset, len(dispatcher.groups))

    def _template_failed(self, exc: BaseException) -> None:
        self.metrics.template_errors.inc()
        logger.warning("a receiver's template failed, the default was used: %s: %.200s",
                       type(exc).__name__, exc)

    def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        for tp in revoked:
            if tp.topic == self.topic:
                self.parts.pop(tp.partition, None)
                self.unsaved.pop(tp.partition, None)  # the new owner decides them again

    # -- per batch ---------------------------------------------------------------------------------
    def handle(self, batch: Batch) -> None:
        now = self.wall().timestamp()
        touched: set[int] = set()
        for rec in batch:
            part = self.parts.get(rec.partition)
            if part is None or rec.topic != self.topic:
                continue
            part.next_offset = rec.offset + 1
            touched.add(rec.partition)
            try:
                alert = from_wire(orjson.loads(rec.value))
            except (BadTransition, orjson.JSONDecodeError) as exc:
                self.metrics.bad_records.inc()
                logger.error("unreadable alert transition at %s[%s]@%s: %s", rec.topic, rec.partition,
                             rec.offset, exc)
                continue
            self.metrics.transitions.inc()
            part.dispatcher.on_alert(alert, now)
        self._flush(now, touched)

    def on_idle(self) -> None:
        now = self.wall().timestamp()
        due = {n for n, p in self.parts.items()
               if (d := p.dispatcher.next_deadline()) is not None and d <= now}
        if due or self.unsaved:
            self._flush(now, set())

    def _flush(self, now: float, touched: set[int]) -> None:
        if self.unsaved and self.monotonic() < self._retry_at:
            return  # the database away: tried again later (what was consumed is flushed then)
        blocked = self.deliverer.blocked()
        wall = self.wall()
        added: Counter[str] = Counter()
        for number, part in self.parts.items():
            deadline = part.dispatcher.next_deadline()
            due = deadline is not None and deadline <= now
            notes = part.dispatcher.flush(now, self.ledger, blocked) if due else []
            if not notes and number not in touched and number not in self.unsaved:
                continue
            rows = [outbox_row(n, self.config, self.templates, self.external_url, wall) for n in notes]
            held = self.unsaved.pop(number, None)
            if held is not None:
                rows, notes = held.rows + rows, held.notes + notes
            if part.next_offset is None:
                if rows:  # restored groups without a consumed record: nothing to resume from
                    logger.error("partition %s decided notifications before any offset is known", number)
                continue
            data = orjson.dumps(part.dispatcher.snapshot())
            try:
                self.loop.call(self.store.commit(self.topic, number, part.next_offset, data, rows, wall))
            except Exception as exc:  # noqa: BLE001 -- the database away: kept for the next flush
                self._not_saved(number, rows, notes, exc)
                continue
            self.db_error, self._retry_wait = None, RETRY_FIRST_S
            for note in notes:
                added[note.receiver] += 1
                self.metrics.notifications.labels(note.route, note.receiver).inc()
                logger.info("notification decided id=%s route=%s receiver=%s alerts=%d status=%s", note.id,
                            note.route, note.receiver, len(note.alerts), note.status)
            self._mirror_offset(number, part.next_offset)
        if added:
            self.deliverer.added(dict(added))

    def _not_saved(self, number: int, rows: list[dict[str, Any]], notes: list[Notification],
                   exc: BaseException) -> None:
        if sum(len(u.rows) for u in self.unsaved.values()) + len(rows) > MAX_UNSAVED:
            raise RuntimeError(f"more than {MAX_UNSAVED} notifications wait for the database "
                               f"({type(exc).__name__}: {exc}); stopping: the restart decides them "
                               "again from the last snapshot") from exc
        self.unsaved[number] = Unsaved(rows, notes)
        first = self.db_error is None
        self.db_error = f"{type(exc).__name__}: {exc}"[:300]
        self._retry_at = self.monotonic() + self._retry_wait
        self._retry_wait = min(RETRY_MAX_S, self._retry_wait * 2)
        if first:
            logger.warning("saving notifications failed (%s); kept and tried again until saved",
                           self.db_error)

    def _mirror_offset(self, number: int, offset: int) -> None:
        try:
            tp = TopicPartition(self.topic, number)
            self.consumer.commit_async({tp: OffsetAndMetadata(offset, "", -1)})
        except KafkaError as exc:
            logger.warning("mirroring the offset of partition %s failed: %s", number, exc)
