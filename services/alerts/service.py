"""The alerts shell: feeds the pure engine from Kafka and performs what it decides.

One engine per partition of the events topic (events are keyed by site, so a site lives in one
partition and one engine). All of it runs in the consumer's thread, in this order:

* on assignment: restore each partition's engine from its snapshot and seek to the offsets the
  snapshot covers (events and control); on revocation: snapshot, then drop.
* per batch: events → ``engine.on_event``; control commands (ack, silence) → the engine; the
  transitions it returns are published (unless a previous owner already did: a replay after a
  crash or a handover, checked against what the alerts topic held at the assignment, or the
  history where that cannot be read exactly) and recorded.
* after every poll (``on_idle``): ``engine.advance({site: now})`` with one clock per site that
  follows that site's event time (its newest event, then the wall clock's pace), so one site's
  clock — even an event dated 2099 — never holds back or pushes another's; coalesced floor
  snapshots of the sites that changed, periodic engine snapshots. A periodic snapshot is encoded
  in a forked child (``forked.py``; here if that is off or failed) and written on the event loop
  without waiting (after the transitions queued before it); its offsets are committed at a later
  step once it is written, and a failed write stops the loop there. A save on revocation or at a
  stop first waits for that write, then writes its own.
* an engine step (one batch, one ``on_idle``) running longer than ``stall_s`` makes ``/readyz``
  fail (``problem()``); ``floorwatch_alerts_engine_busy_seconds`` and the per-site event lag are
  read at scrape time, so both keep moving while the consumer thread is stuck.
* a handover (another instance's partitions after it stopped or died): the new owner restores the
  snapshot, resumes each site's clock where it left it, replays the events after the snapshot
  (checking what it re-derives against what the previous owner published) and only then lets
  the clocks advance.
* the active rule set (``core/ruleswire.py``) on the rules topic, key ``ruleset``: at start, after
  every reload, and every ``RULES_REPUBLISH_S`` so a topic's retention never loses it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition
from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.alerts.core import Engine, EventRefused
from services.alerts.core.rules.ruleset import RuleSet
from services.alerts.core.rules.wire import ruleset_doc
from services.alerts.export import FloorExport
from services.alerts.forked import ForkedEncodeFailed, encode_forked
from services.alerts.reload import RulesWatcher
from services.alerts.store import AlertStore
from shared.events import InvalidEvent, decode_event
from shared.kafka import Batch, fetched_end
from shared.runtime import LoopThread

logger = logging.getLogger(__name__)
Offsets = dict[TopicPartition, OffsetAndMetadata]

HEARTBEAT_S = 5.0
RULES_REPUBLISH_S = 600.0
RULES_KEY = b"ruleset"
ALERTS_EXPORT_S = 1.0
LAG_EVERY_S = 5.0
# After a partition is assigned, its engine may re-derive on the clock grid transitions the
# previous owner published before it stopped (it was at least as far on): check them for this
# long (docs/reliability.md, "The handover check").
HANDOVER_CHECK_S = 60.0
# At most this many records of the alerts topic are read at an assignment (what the previous owners
# published since their snapshot); beyond it the history is asked instead, batch by batch.
PUBLISHED_READ_LIMIT = 100_000
# All of an assignment's reads together get at most this long by default (the runner passes half
# the consumer's max_poll_interval_ms: past that, kafka-python leaves the group, and the same read
# would come back at the next assignment); partitions left unread are checked against the history.
PUBLISHED_READ_BUDGET_S = 2.5
# a snapshot encoder child that has not delivered by then is killed (its save is skipped)
FORKED_ENCODE_TIMEOUT_S = 120.0


def _log_cause(transitions: list[Any], event: Any) -> None:
    """The event that caused transitions, so an alert can be followed back to its input."""
    if logger.isEnabledFor(logging.INFO):
        for t in transitions:
            logger.info(
                "event caused alert transition source=%s id=%s fingerprint=%s transition_id=%s",
                event.source, event.id, t.fingerprint, t.transition_id,
                extra={"source": event.source, "event_id": event.id, "site": event.site,
                       "fingerprint": t.fingerprint, "transition_id": t.transition_id},
            )


class EventLag(Collector):
    """``floorwatch_alerts_event_lag_seconds{site}``, computed at scrape time from ``read()``
    (site -> newest event time applied, epoch seconds) and the wall clock: a stuck engine shows a
    growing lag instead of its last value."""

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self.read: Callable[[], dict[str, float]] = dict
        self.wall = wall

    def collect(self):  # type: ignore[no-untyped-def]
        family = GaugeMetricFamily(
            "floorwatch_alerts_event_lag_seconds",
            "Wall clock minus the newest event time applied",
            labels=["site"],
        )
        now = self.wall()
        for site, newest in sorted(self.read().items()):
            family.add_metric([site], now - newest)
        yield family


# The history (recordings of transitions, engine snapshots) is off the live path: the database
# away, transitions still reach the screens. A recording is tried until it is done, waiting
# record_retry_s, doubled at each try, up to RECORD_RETRY_MAX_S between tries; the transitions
# waiting are kept as JSON (~1 KB each), at most MAX_UNRECORDED of them: past that the step fails
# loudly (the restart re-derives them from the last snapshot, which is never saved past them).
RECORD_RETRY_MAX_S = 5.0
MAX_UNRECORDED = 100_000
# How long a snapshot the shell waits for (a revoked partition, a clean stop) may take, the
# recordings before it included; past it the snapshot is not saved: the next owner replays more.
SAVE_WAIT_S = 5.0
# A partition assigned while its snapshot cannot be read waits, paused, and is tried again after
# RESTORE_RETRY_S, doubled at each try up to RESTORE_RETRY_MAX_S.
RESTORE_RETRY_S = 1.0
RESTORE_RETRY_MAX_S = 10.0
RESTORE_WAIT_S = 1.0  # how long one such try may hold the consumer thread (then: a failed try)
_MISSING: Any = object()


def _text(cmd: dict[str, Any], key: str, default: Any = _MISSING) -> Any:
    """A command's string field (``default`` when absent or null, if one is given)."""
    value = cmd.get(key)
    if value is None and default is not _MISSING:
        return default
    if not isinstance(value, str):
        raise TypeError(f"{key!r} must be a string, not {type(value).__name__}")
    if len(value) > 10_000:
        raise ValueError(f"{key!r} is longer than 10,000 characters")
    return value


def _aware(cmd: dict[str, Any], key: str) -> dt.datetime:
    at = dt.datetime.fromisoformat(_text(cmd, key))
    if at.utcoffset() is None:
        raise ValueError(f"{key!r} has no UTC offset")
    return at


def _matchers(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not value or len(value) > 100:
        raise TypeError("'matchers' must be an object of 1 to 100 labels")
    for k, v in value.items():
        if not isinstance(v, str) or len(k) > 1_000 or len(v) > 1_000:
            raise TypeError(f"matcher {k[:100]!r} must be a string of at most 1,000 characters")
    return value


@dataclass
class AlertsMetrics:
    events: Counter
    transitions: Counter
    floor_published: Counter
    floor_refused: Counter
    bad_records: Counter
    failed_records: Counter
    lag_s: EventLag
    consumer_lag: Gauge
    busy_s: Gauge
    partitions: Gauge
    unrecorded: Gauge
    snapshot_failures: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> AlertsMetrics:
        return cls(
            events=Counter(
                "floorwatch_alerts_events", "Canonical events applied to the floor", registry=registry
            ),
            transitions=Counter(
                "floorwatch_alerts_transitions",
                "Alert transitions published",
                ["rule", "state", "severity"],
                registry=registry,
            ),
            floor_published=Counter(
                "floorwatch_floor_snapshots", "Floor snapshots published", registry=registry
            ),
            floor_refused=Counter(
                "floorwatch_floor_snapshots_refused",
                "Floor snapshots the producer or the broker refused (too large, broker away): the "
                "site's wallboards keep the last one",
                registry=registry,
            ),
            bad_records=Counter(
                "floorwatch_alerts_bad_records",
                "Records on internal topics that could not be read",
                ["topic"],
                registry=registry,
            ),
            failed_records=Counter(
                "floorwatch_alerts_failed_records",
                "Records whose handling raised (logged with the reason and skipped)",
                ["topic"],
                registry=registry,
            ),
            lag_s=_registered(EventLag(), registry),
            consumer_lag=Gauge(
                "floorwatch_alerts_consumer_lag_records",
                "Events on the owned partitions not applied yet (high watermark - next offset)",
                registry=registry,
            ),
            busy_s=Gauge(
                "floorwatch_alerts_engine_busy_seconds",
                "How long the floor engine's current step (one batch, one tick) has run; 0 when idle",
                registry=registry,
            ),
            partitions=Gauge(
                "floorwatch_alerts_partitions_owned",
                "Events-topic partitions this instance owns now (0: an idle member of the group)",
                registry=registry,
            ),
            unrecorded=Gauge(
                "floorwatch_alerts_unrecorded_transitions",
                "Alert transitions published but not in the history yet (the database away: "
                "retried until recorded; no snapshot is saved past them meanwhile)",
                registry=registry,
            ),
            snapshot_failures=Counter(
                "floorwatch_alerts_snapshot_failures",
                "Engine snapshots not saved (the database away, or the history behind at a "
                "handover): a restart replays from the last one saved",
                registry=registry,
            ),
        )


def _registered(collector: EventLag, registry: CollectorRegistry) -> EventLag:
    registry.register(collector)
    return collector


@dataclass(frozen=True)
class Published:
    """Every transition id on the alerts topic's partition of an events partition's number from the
    offset its snapshot noted (nothing deleted or skipped), and that partition's end when read: any
    later transition is this owner's own."""

    ids: frozenset[str]
    end: int


class NotOnTopic(Exception):
    """The alerts offset a snapshot noted lies past the end of its alerts partition: the topic was
    recreated, or the broker lost its records (the embedded one keeps them in memory only)."""


@dataclass
class Partition:
    """One engine and the bookkeeping the shell keeps beside it."""

    engine: Engine
    next_offset: int | None = None
    control_offset: int | None = None
    # per site: (newest event time applied, monotonic time it was applied) -- the site's clock
    clocks: dict[str, tuple[dt.datetime, float]] = field(default_factory=dict)
    last_floor: dict[str, float] = field(default_factory=dict)
    dirty: set[str] = field(default_factory=set)  # changed since it was last published
    # Up to this events offset the engine may be re-deriving transitions it published before a
    # restart: check them against the history before publishing.
    replay_until: int | None = None
    # False while replay_until is the end the broker stated (ListOffsets) and no fetch's high
    # watermark has been seen yet: Tansu can state an end one batch short (_settle_replay_ends)
    end_settled: bool = True
    assigned_at: float = 0.0  # monotonic; transitions are checked for HANDOVER_CHECK_S after it
    # offset of the alerts topic's partition of the same number from which every transition of
    # this engine published after its snapshot lies (None: unknown), and what a new owner read
    # there: the transitions the previous owner published, recorded in the history or not
    alerts_from: int | None = None
    published_ids: frozenset[str] = frozenset()
    # published_ids is all a previous owner can have published that this engine may re-derive
    # (read whole from the alerts topic): checked in memory, the history is not asked
    exact: bool = False
    alerts_end: int | None = None  # the alerts partition's end when it was read

    def checking(self, mono: float) -> bool:
        """Whether a transition may be one a previous owner published: replaying, or assigned less
        than HANDOVER_CHECK_S ago."""
        return self.replaying or mono - self.assigned_at < HANDOVER_CHECK_S

    @property
    def replaying(self) -> bool:
        """Not caught up yet with what was on the partition when it was assigned."""
        return self.replay_until is None or (self.next_offset or 0) < self.replay_until


class AlertsWorker:
    def __init__(
        self,
        *,
        consumer: KafkaConsumer,
        producer: KafkaProducer,
        store: AlertStore,
        loop: LoopThread,
        rules: RuleSet,
        events_topic: str,
        control_topic: str,
        alerts_topic: str,
        floor_topic: str,
        metrics: AlertsMetrics,
        floor_interval_s: float,
        snapshot_interval_s: float,
        allowed_lateness_s: float,
        wall: Callable[[], dt.datetime],
        monotonic: Callable[[], float] = time.monotonic,
        rules_watcher: RulesWatcher | None = None,
        rules_topic: str | None = None,
        export: FloorExport | None = None,
        stall_s: float = 15.0,
        horizon_s: int = 3600,
        max_sites: int = 10_000,
        read_published: Callable[[int, int, float], Published | None] | None = None,
        read_budget_s: float = PUBLISHED_READ_BUDGET_S,
        fork_snapshots: bool = False,
    ):
        self.consumer = consumer
        self.producer = producer
        self.store = store
        self.loop = loop
        self.rules = rules
        self.events_topic = events_topic
        self.control_topic = control_topic
        self.alerts_topic = alerts_topic
        self.floor_topic = floor_topic
        self.metrics = metrics
        self.floor_interval_s = floor_interval_s
        self.snapshot_interval_s = snapshot_interval_s
        self.allowed_lateness_s = allowed_lateness_s
        self.wall = wall
        self.monotonic = monotonic
        self.rules_watcher = rules_watcher
        self.rules_topic = rules_topic
        self._rules_sent: float | None = None  # monotonic time the rule set was last published
        self.parts: dict[int, Partition] = {}
        self._last_snapshot = monotonic()
        # What /metrics reads (services/alerts/collector.py); the alert tally is refreshed at most
        # every ALERTS_EXPORT_S after transitions, from the engines' own active alerts.
        self.export = export
        self._alerts_changed = True
        self._alerts_exported = -1e9
        self._lag_measured = -1e9
        # engine work in progress (monotonic start), read by /readyz and /metrics from other threads
        self.stall_s = stall_s
        self.horizon_s = horizon_s
        self.max_sites = max_sites
        self._busy_since: float | None = None
        # transition ids on the alerts topic's partition N from an offset on (None: not known exactly,
        # e.g. the alerts topic has another partition count than the events topic)
        self.read_published = read_published  # (partition, offset, timeout_s)
        self.read_budget_s = read_budget_s
        # periodic snapshots encoded in a forked child (services/alerts/forked.py); off for good
        # after a child fails
        self.fork_snapshots = fork_snapshots
        self._published: dict[int, int] = {}  # alerts partition -> next offset after our last send
        # Periodic snapshots being written: partition -> (the write on the loop, the offsets to
        # commit once it is written). The consumer thread only encodes the engine; it no longer
        # waits for the database (and the transitions queued on the loop before it) every interval.
        self._saving: dict[int, tuple[concurrent.futures.Future[None], Offsets]] = {}
        # A step (batch or tick) that raised: the engines may hold events whose transitions were
        # never published or recorded, so no snapshot is saved from them any more. Closing the
        # consumer after the failure revokes the partitions, and a save there would make those
        # transitions impossible to re-derive after the restart.
        self.failed: BaseException | None = None
        # Transitions being recorded in the history (tried until done, _record): a snapshot is
        # written only once those queued before it are recorded. Saved past an unrecorded one, the
        # snapshot would make those transitions impossible to re-derive: they would never be in
        # the history. Bounded: the ones done and recorded are dropped at every step.
        self._recordings: list[concurrent.futures.Future[Any]] = []
        self.record_retry_s = 1.0  # the wait before a recording's second try (doubled at each)
        # transitions handed to a recording and not recorded yet, and why the last try failed
        # (None once every one is recorded): for /readyz, /metrics and the MAX_UNRECORDED bound
        self._unrecorded = 0
        self._unrecorded_lock = threading.Lock()
        self._history_error: str | None = None
        # events partitions assigned whose snapshot could not be read yet (the database away),
        # paused: partition -> (control partition assigned too, monotonic time of the next try,
        # the wait before it, the last error)
        self._unrestored: dict[int, tuple[bool, float, float, str]] = {}
        # Floor snapshots refused per site: monotonic time of the last error logged about it
        self._floor_refused: dict[str, float] = {}
        metrics.busy_s.set_function(self.busy_for)
        metrics.lag_s.read = self.newest_events
        metrics.lag_s.wall = lambda: self.wall().timestamp()

    # -- rebalance -------------------------------------------------------------------------
    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        for tp in assigned:
            if tp.topic != self.events_topic:
                continue
            self._unrestored.pop(tp.partition, None)
            control = TopicPartition(self.control_topic, tp.partition)
            try:
                saved = self.loop.call(self.store.load_snapshot(self.events_topic, tp.partition))
            except Exception as exc:  # noqa: BLE001 -- the database away: this partition waits
                self._wait_for_snapshot(tp, control in assigned, exc)
                continue
            self._restore(tp, saved, control in assigned)
        self._alerts_changed = True
        self.metrics.partitions.set(len(self.parts))
        logger.info("partitions assigned %s", sorted(self.parts))

    def _wait_for_snapshot(self, tp: TopicPartition, with_control: bool, exc: BaseException) -> None:
        """The partition's snapshot cannot be read (the database away): it is paused, and tried
        again at the next steps (``_retry_restores``); the other partitions go on. Until
        2026-12-08 the error left the rebalance listener and stopped the service."""
        tps = [tp, TopicPartition(self.control_topic, tp.partition)] if with_control else [tp]
        self.consumer.pause(*tps)
        self._unrestored[tp.partition] = (with_control, self.monotonic() + RESTORE_RETRY_S,
                                          RESTORE_RETRY_S, f"{type(exc).__name__}: {exc}"[:300])
        logger.warning("partition %s: its snapshot cannot be read (%r); paused, tried again every "
                       "%g s or more", tp.partition, exc, RESTORE_RETRY_S)

    def _retry_restores(self) -> None:
        """Read again the snapshots of the partitions waiting for one, those whose time has come."""
        mono = self.monotonic()
        for number, (with_control, due, wait, _error) in list(self._unrestored.items()):
            if mono < due:
                continue
            tp = TopicPartition(self.events_topic, number)
            try:
                # bounded: this runs in the consumer thread, between the other partitions' steps;
                # a database that stalls would otherwise hold them for its whole timeout
                saved = self.loop.call(self.store.load_snapshot(self.events_topic, number), RESTORE_WAIT_S)
            except Exception as exc:  # noqa: BLE001 -- still away: later, waiting longer
                wait = min(RESTORE_RETRY_MAX_S, wait * 2)
                why = f"{type(exc).__name__}: {exc}"[:300]
                self._unrestored[number] = (with_control, mono + wait, wait, why)
                continue
            del self._unrestored[number]
            self._restore(tp, saved, with_control)
            tps = [tp, TopicPartition(self.control_topic, number)] if with_control else [tp]
            self.consumer.resume(*tps)
            self._alerts_changed = True
            self.metrics.partitions.set(len(self.parts))
            logger.info("partition %s: snapshot read after waiting; resumed", number)

    def _restore(self, tp: TopicPartition, saved: Any, with_control: bool) -> None:
        """Take partition ``tp`` on from its snapshot ``saved`` (None: from the committed offset)."""
        if saved is None:
            part = Partition(self._new_engine())
            logger.info("partition %s: no snapshot, starting from committed/earliest", tp.partition)
        else:
            offset, data, side, saved_at = saved
            try:
                engine = Engine.restore(
                    data, self.rules, horizon_s=self.horizon_s, max_sites=self.max_sites
                )
            except Exception as exc:  # noqa: BLE001 - any reason: the partition replays
                # Not a reason to stop every partition, nor one to go on from the committed
                # offset without the state before it: this one is replayed from the start, and
                # what it re-derives is checked against the alerts topic from its start too.
                logger.error("partition %s: snapshot at offset %s cannot be restored (%r); "
                             "replaying the partition from its first event", tp.partition, offset,
                             exc)
                part = Partition(self._new_engine())
                part.alerts_from = 0
                self.consumer.seek_to_beginning(tp)
                if with_control:
                    self.consumer.seek_to_beginning(TopicPartition(self.control_topic, tp.partition))
                part.assigned_at = self.monotonic()
                self.parts[tp.partition] = part
                return
            part = Partition(engine)
            self._seed_clocks(part, saved_at)
            part.alerts_from = side.get(self.alerts_topic)
            part.next_offset = offset
            self.consumer.seek(tp, offset)
            control = side.get(self.control_topic)
            if control is not None:
                part.control_offset = control
                self.consumer.seek(TopicPartition(self.control_topic, tp.partition), control)
            logger.info("partition %s: restored snapshot at offset %s", tp.partition, offset)
        part.assigned_at = self.monotonic()
        self.parts[tp.partition] = part

    def _seed_clocks(self, part: Partition, saved_at: dt.datetime) -> None:
        """Each site's clock, as the previous owner left it: where the site's grid was when the
        snapshot was saved, run on at the wall clock's pace since. Without it a site with no event
        after the handover would never raise a time-based alert again. The clock only drives
        ``advance`` once the partition has caught up (``Partition.replaying``)."""
        mono = self.monotonic()
        since = max(0.0, (self.wall() - saved_at).total_seconds())
        for site in part.engine.sites():
            at = part.engine.site_time(site)
            if at is not None:
                part.clocks[site] = (dt.datetime.fromtimestamp(at, dt.UTC), mono - since)

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        for tp in revoked:
            if tp.topic == self.events_topic:
                self._unrestored.pop(tp.partition, None)
            if tp.topic == self.events_topic and tp.partition in self.parts:
                # kafka-python runs rebalance listeners on its IO thread: no blocking client calls.
                part = self.parts.pop(tp.partition)
                if self.failed is None:
                    self._save(tp.partition, part, commit=False)
                else:
                    logger.warning("partition %s revoked after a failed step: not saved, the next "
                                   "owner replays from the last snapshot", tp.partition)
                if self.export is not None:
                    self.export.forget_sites(part.last_floor)
        self._alerts_changed = True
        self.metrics.partitions.set(len(self.parts))

    def _new_engine(self) -> Engine:
        return Engine(
            self.rules,
            allowed_lateness_s=self.allowed_lateness_s,
            horizon_s=self.horizon_s,
            max_sites=self.max_sites,
        )

    # -- what other threads read: readiness, busy time, event lag --------------------------------
    def busy_for(self) -> float:
        """Seconds the engine step in progress has run (0 when idle)."""
        since = self._busy_since
        return 0.0 if since is None else max(0.0, self.monotonic() - since)

    def problem(self) -> str | None:
        """Why the engine is not ready: one step running longer than ``stall_s``, or the history
        behind (transitions not recorded: the database away); else None."""
        busy = self.busy_for()
        if busy > self.stall_s:
            return f"the floor engine has been busy with one step for {busy:.0f} s (limit {self.stall_s:g} s)"
        waiting = dict(self._unrestored)
        if waiting:
            return (f"partitions {sorted(waiting)} wait for their snapshots (the database: "
                    f"{next(iter(waiting.values()))[3]})")
        error = self._history_error
        if error is not None:
            return (f"the alert history is behind: {self._unrecorded} transitions not recorded yet "
                    f"({error}); alerts are still published")
        return None

    def newest_events(self) -> dict[str, float]:
        """Site -> newest event time applied (epoch seconds), over the owned partitions."""
        out: dict[str, float] = {}
        for part in list(self.parts.values()):
            for site, (ts, _seen) in list(part.clocks.items()):
                out[site] = ts.timestamp()
        return out

    # -- per batch --------------------------------------------------------------------------
    def handle(self, batch: Batch) -> None:
        self._busy_since = self.monotonic()
        try:
            self._handle(batch)
        except BaseException as exc:
            self.failed = exc
            raise
        finally:
            self._busy_since = None

    def _handle(self, batch: Batch) -> None:
        outs: dict[int, list[Any]] = {}  # partition -> the transitions its engine derived
        self._bound_replays()
        self._settle_replay_ends()
        wall = self.wall().timestamp() if self.export is not None else 0.0
        for rec in batch:
            part = self.parts.get(rec.partition)
            if part is None:  # revoked in the middle of a poll: the new owner replays it
                continue
            out = outs.setdefault(rec.partition, [])
            try:
                if rec.topic == self.events_topic:
                    part.next_offset = rec.offset + 1
                    self._apply_event(part, rec, out, wall)
                elif rec.topic == self.control_topic:
                    part.control_offset = rec.offset + 1
                    out.extend(self._command(part, rec))
            except Exception as exc:
                # Not bad input (that is counted above): a bug met by this record. Loud, and the
                # stream goes on; the event stays in ingest's history for a replay once fixed.
                self.metrics.failed_records.labels(rec.topic).inc()
                logger.exception(
                    "record skipped: handling it raised topic=%s partition=%s offset=%s reason=%r",
                    rec.topic, rec.partition, rec.offset, exc,
                    extra={"topic": rec.topic, "partition": rec.partition, "offset": rec.offset,
                           "reason": repr(exc)[:500]},
                )
        self._emit(outs)

    def _apply_event(self, part: Partition, rec: Any, out: list[Any], wall: float) -> None:
        try:
            event = decode_event(rec.value)
        except InvalidEvent as exc:
            self.metrics.bad_records.labels(rec.topic).inc()
            logger.error("unreadable event on %s@%s: %s", rec.topic, rec.offset, exc)
            return
        duplicates = part.engine.duplicates
        try:
            caused = part.engine.on_event(event)
        except EventRefused as exc:  # bad input the engine will not apply (engine.py, *Bounded work*)
            self.metrics.bad_records.labels(rec.topic).inc()
            logger.error("event refused by the engine on %s@%s: %s", rec.topic, rec.offset, exc)
            return
        if caused:
            _log_cause(caused, event)
            out.extend(caused)
        if self.export is not None and part.engine.duplicates == duplicates:
            self.export.event_applied(event, wall)
        self.metrics.events.inc()
        clock = part.clocks.get(event.site)
        if clock is None or event.ts > clock[0]:
            part.clocks[event.site] = (event.ts, self.monotonic())

    def _bound_replays(self) -> None:
        """For newly assigned partitions: the end offset at assignment bounds the stretch where
        transitions may already have been published by a previous run; what the previous owners
        published since their snapshot (or since the start, without one) is read once, whole, from
        the alerts topic. Partitions whose check is over forget it."""
        mono = self.monotonic()
        for p in self.parts.values():
            if p.published_ids and not p.checking(mono):
                p.published_ids = frozenset()
        fresh = [n for n, p in self.parts.items() if p.replay_until is None]
        if not fresh:
            return
        tps = [TopicPartition(self.events_topic, n) for n in fresh]
        for tp, end in self.consumer.end_offsets(tps).items():
            self.parts[tp.partition].replay_until = end
            self.parts[tp.partition].end_settled = False
        if self.read_published is None:
            return
        deadline = self.monotonic() + self.read_budget_s
        for n in fresh:
            part = self.parts[n]
            left = deadline - self.monotonic()
            if left <= 0:
                logger.warning("no time left at this assignment to read the alerts published on "
                               "partition %s: the history answers", n)
                continue
            try:
                got = self.read_published(n, part.alerts_from if part.alerts_from is not None else 0, left)
            except NotOnTopic as exc:
                # The topic is new to the offset: whatever lies on it now was published after the
                # noted offset, so the next owner is told to read it from the start (noted again,
                # the stale offset would send it past the end too, or past records once it grew).
                logger.warning("partition %s: %s; its alerts are read from 0 from now on, the "
                               "history answers for this assignment", n, exc)
                part.alerts_from = 0
                continue
            except KafkaError as exc:  # the history alone still answers
                logger.warning("reading the alerts published on partition %s failed: %s", n, exc)
                continue
            if got is not None:
                part.published_ids, part.alerts_end, part.exact = got.ids, got.end, True

    def _settle_replay_ends(self) -> None:
        """The replay's end as the broker stated it may be short (``fetched_end``: the embedded
        Tansu broker's end offsets): once a fetch has answered since the assignment, the replay
        runs at least to where it found the end (else the clocks could start before the last
        replayed events are applied)."""
        for number, part in self.parts.items():
            if part.end_settled or part.replay_until is None:
                continue
            tp = TopicPartition(self.events_topic, number)
            try:
                high = fetched_end(self.consumer, tp, part.replay_until)
            except KafkaError:  # revoked meanwhile
                continue
            if high is None:
                continue  # no fetch answered since the assignment yet
            part.end_settled = True
            if high > part.replay_until:
                logger.info("partition %s: replay runs to %s, not to the stated end %s",
                            number, high, part.replay_until)
                part.replay_until = high

    def _command(self, part: Partition, rec: Any) -> list[Any]:
        try:
            cmd = orjson.loads(rec.value)
            if not isinstance(cmd, dict):
                raise TypeError("a command is a JSON object")
            op = cmd["op"]
            at = _aware(cmd, "at")
            if op == "ack":
                result = part.engine.ack(
                    _text(cmd, "fingerprint"), by=_text(cmd, "by"), note=_text(cmd, "note", ""), at=at
                )
            elif op == "silence":
                # typed here: the engine keeps a silence in its snapshot, and a value of another type
                # there would make every later restore of this partition fail
                result = part.engine.silence(
                    _matchers(cmd.get("matchers")),
                    until=_aware(cmd, "until"),
                    by=_text(cmd, "by"),
                    comment=_text(cmd, "comment", ""),
                    at=at,
                    silence_id=_text(cmd, "silence_id", None),
                )
            elif op == "unsilence":
                result = part.engine.unsilence(_text(cmd, "silence_id"), at=at)
            else:
                raise ValueError(f"unknown op {op!r}")
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            self.metrics.bad_records.labels(rec.topic).inc()
            logger.warning("ignored control command at offset %s: %s", rec.offset, exc)
            return []
        if result is None:
            return []
        return list(result) if isinstance(result, list) else [result]

    def _emit(self, outs: dict[int, list[Any]]) -> None:
        """Publish transitions, then record them. Published first: a crash in between republishes
        on restart (consumers dedup on ``transition_id``) rather than losing one. A partition still
        in its handover check drops what a previous owner published: known exactly from the alerts
        topic (``Partition.exact``), else asked of the history."""
        if not any(outs.values()):
            return
        self._alerts_changed = True
        mono = self.monotonic()
        wires: list[tuple[dict[str, Any], bool]] = []  # (transition, whether to ask the history)
        seen: list[dict[str, Any]] = []  # on the topic already: recorded (it may not be), not sent
        for number, transitions in outs.items():
            part = self.parts.get(number)
            check = part is not None and part.checking(mono)
            published = part.published_ids if part is not None and check else frozenset()
            ask = check and part is not None and not part.exact
            for t in transitions:
                w = t.to_wire()
                if w["transition_id"] in published:
                    seen.append(w)
                else:
                    wires.append((w, ask))
        asked = [w["transition_id"] for w, ask in wires if ask]
        known = self._known(asked) if asked else set()
        fresh = [w for w, _ in wires if w["transition_id"] not in known]
        sent = []
        for w in fresh:
            sent.append(self.producer.send(
                self.alerts_topic, key=w["scope"].get("site", "").encode(), value=orjson.dumps(w)
            ))
            self.metrics.transitions.labels(w["rule"], w["state"], w["severity"]).inc()
            logger.info(
                "alert %s %s -> %s site=%s fingerprint=%s transition_id=%s",
                w["rule"], w.get("previous"), w["state"], w["scope"].get("site"), w["fingerprint"],
                w["transition_id"],
                extra={"rule": w["rule"], "state": w["state"], "site": w["scope"].get("site"),
                       "fingerprint": w["fingerprint"], "transition_id": w["transition_id"]},
            )
        self.producer.flush()
        failed = []
        for fut in sent:  # where our transitions went: the next snapshot says where to look
            if fut is None:
                continue
            if fut.succeeded():
                md = fut.value
                self._published[md.partition] = max(self._published.get(md.partition, 0), md.offset + 1)
            elif fut.failed():
                failed.append(fut.exception)
        if failed:
            # Not dropped quietly: the step fails, no snapshot is saved from here on (``failed``),
            # and the restart re-derives these transitions from the last snapshot and sends them.
            raise KafkaError(f"{len(failed)} of {len(sent)} alert transitions not published: {failed[0]!r}")
        # Recording is off the latency path; the loop runs these in order.
        to_record = fresh + seen
        with self._unrecorded_lock:
            if self._unrecorded + len(to_record) > MAX_UNRECORDED:
                raise RuntimeError(
                    f"{self._unrecorded} alert transitions wait for the history ({self._history_error}) "
                    f"and {len(to_record)} more would pass the {MAX_UNRECORDED} kept: stopping; "
                    "the restart re-derives them from the last snapshot")
            self._unrecorded += len(to_record)
        self.metrics.unrecorded.set(self._unrecorded)
        recording = self.loop.submit(self._record(to_record, self.wall()),
                                     what="recording alert transitions")
        if recording is not None:
            self._recordings = [*self._unsettled_recordings(), recording]

    def _known(self, ids: list[str]) -> set[str]:
        """Which of ``ids`` the history holds. The database away, none: a previous owner's
        transitions are then published again, and consumers drop repeats by ``transition_id``
        (a repeat is better than a stopped floor)."""
        try:
            return self.loop.call(self.store.known_transitions(ids))
        except Exception as exc:  # noqa: BLE001 -- any database failure
            logger.warning("the alert history cannot say which of %d transitions a previous owner "
                           "published (%r): all are published", len(ids), exc)
            return set()

    def _unsettled_recordings(self) -> list[concurrent.futures.Future[Any]]:
        """The recordings still running, and the ones that failed."""
        return [f for f in self._recordings if not f.done() or f.exception() is not None]

    async def _record(self, transitions: list[dict[str, Any]], now: dt.datetime) -> None:
        """Record in the history (a transition already recorded is left alone), tried until it is
        done: the database away, alerts are still published, and the snapshots wait for this
        (``_write_snapshot``). While it waits, the transitions are kept as JSON."""
        count, kept = len(transitions), None
        for attempt in itertools.count(1):
            try:
                await self.store.record(transitions if kept is None else [orjson.loads(t) for t in kept], now)
                break
            except Exception as exc:  # noqa: BLE001 -- any database failure: tried again
                if kept is None:
                    kept = [orjson.dumps(t) for t in transitions]
                    transitions = []
                self._history_error = f"{type(exc).__name__}: {exc}"[:300]
                if attempt & (attempt - 1) == 0:  # tries 1, 2, 4, 8, ...: the log is not flooded
                    logger.warning("recording %d alert transitions failed (try %d, tried until it is "
                                   "done; alerts are still published): %r", count, attempt, exc)
                await asyncio.sleep(min(RECORD_RETRY_MAX_S, self.record_retry_s * 2 ** min(attempt - 1, 20)))
        with self._unrecorded_lock:
            self._unrecorded -= count
            if self._unrecorded == 0:
                self._history_error = None
        self.metrics.unrecorded.set(self._unrecorded)

    # -- time-driven work --------------------------------------------------------------------
    def on_idle(self) -> None:
        self._busy_since = self.monotonic()
        try:
            self._on_idle()
        except BaseException as exc:
            self.failed = exc
            raise
        finally:
            self._busy_since = None

    def _on_idle(self) -> None:
        self._settle_saves()
        if self._unrestored:
            self._retry_restores()
        mono = self.monotonic()
        outs: dict[int, list[Any]] = {}
        if self.rules_watcher is not None:
            fresh = self.rules_watcher.poll()
            if fresh is not None:
                self.rules = fresh
                self._rules_sent = None
                for number, part in self.parts.items():
                    # alerts of rules gone resolve at their own site's clock
                    outs[number] = part.engine.replace_rules(fresh)
        self._bound_replays()
        self._settle_replay_ends()
        for number, part in self.parts.items():
            # while replaying, events alone drive the grid (the determinism contract): a clock
            # run ahead of them would apply the rest of the replay late
            if part.clocks and not part.replaying:
                outs.setdefault(number, []).extend(part.engine.advance(self._site_clocks(part, mono)))
        self._emit(outs)
        self._publish_rules(mono)
        self._publish_floors(mono)
        self._export_alerts(mono)
        self._measure_lag(mono)
        if mono - self._last_snapshot >= self.snapshot_interval_s:
            self._last_snapshot = mono
            for number, part in self.parts.items():
                if number not in self._saving:  # else the last one is still being written: next time
                    self._save(number, part, wait=False)

    @staticmethod
    def _site_clocks(part: Partition, mono: float) -> dict[str, dt.datetime]:
        """Each site's event time, flowing between its events at the wall clock's pace."""
        return {site: ts + dt.timedelta(seconds=mono - seen) for site, (ts, seen) in part.clocks.items()}

    def _publish_rules(self, mono: float) -> None:
        """The rule set in force, for the API's /v1/rules (docs/wire.md, *Rule set*)."""
        if self.rules_topic is None:
            return
        if self._rules_sent is not None and mono - self._rules_sent < RULES_REPUBLISH_S:
            return
        doc = ruleset_doc(self.rules)
        doc["published_at"] = self.wall().isoformat()
        self.producer.send(self.rules_topic, key=RULES_KEY, value=orjson.dumps(doc))
        self.producer.flush()
        self._rules_sent = mono
        logger.info("rule set published version=%s rules=%d", doc["version"], len(doc["rules"]))

    def _publish_floors(self, mono: float) -> None:
        sent: list[tuple[str, int, Any, dict[str, Any]]] = []  # (site, bytes, the send's future, snapshot)
        wall = self.wall()
        for part in self.parts.values():
            part.dirty |= part.engine.pop_dirty_sites()
            for site in part.dirty | set(part.last_floor):
                last = part.last_floor.get(site, -1e9)
                # Changed sites at most every floor_interval_s; unchanged ones as a heartbeat.
                if mono - last < (self.floor_interval_s if site in part.dirty else HEARTBEAT_S):
                    continue
                part.dirty.discard(site)
                part.last_floor[site] = mono
                snap = part.engine.floor_snapshot(site)
                value = orjson.dumps(snap)
                try:
                    # raises at once when larger than the producer's max_request_size
                    fut = self.producer.send(self.floor_topic, key=site.encode(), value=value)
                except KafkaError as exc:
                    self._floor_not_published(site, len(value), exc, mono)
                    continue
                sent.append((site, len(value), fut, snap))
        if not sent:
            return
        self.producer.flush()
        for site, size, fut, snap in sent:
            if fut is not None and fut.failed():  # e.g. larger than the broker's message.max.bytes
                self._floor_not_published(site, size, fut.exception, mono)
                continue
            if self.export is not None:
                self.export.floor_published(snap, wall.timestamp())
            self.metrics.floor_published.inc()

    def _floor_not_published(self, site: str, size: int, exc: object, mono: float) -> None:
        """A floor snapshot is state, not an event: the next one replaces it, so one that cannot be
        published (a site so large, or made so by hostile events, that its snapshot passes the
        producer's or the broker's size limit) costs the wallboards that update, not the engine.
        Counted, and logged once a minute per site."""
        self.metrics.floor_refused.inc()
        if mono - self._floor_refused.get(site, -1e9) < 60.0:
            return
        if len(self._floor_refused) >= 10_000:  # bounded: sites come from events
            self._floor_refused.clear()
        self._floor_refused[site] = mono
        logger.error("floor snapshot of site %r not published (%d bytes): %r", site[:100], size, exc,
                     extra={"site": site[:100], "bytes": size, "reason": repr(exc)[:500]})

    def _export_alerts(self, mono: float) -> None:
        if self.export is None or not self._alerts_changed or mono - self._alerts_exported < ALERTS_EXPORT_S:
            return
        self._alerts_changed = False
        self._alerts_exported = mono
        self.export.alerts_changed(itertools.chain.from_iterable(
            p.engine.active_alerts() for p in self.parts.values()
        ))

    def _measure_lag(self, mono: float) -> None:
        """Events not applied yet on the owned partitions, from what the consumer already knows
        (the high watermark of the last fetch: no request to the broker)."""
        if mono - self._lag_measured < LAG_EVERY_S:
            return
        self._lag_measured = mono
        lag = 0
        for number, part in self.parts.items():
            try:
                high = self.consumer.highwater(TopicPartition(self.events_topic, number))
            except KafkaError:  # revoked meanwhile
                continue
            if high is not None and part.next_offset is not None:
                lag += max(0, high - part.next_offset)
        self.metrics.consumer_lag.set(lag)

    def _settle_saves(self) -> None:
        """Commit the offsets of every periodic snapshot written since the last step. A write that
        failed raises here, in the consumer thread, as a waited-for write did: the loop stops loudly."""
        for number, pending in list(self._saving.items()):
            write, offsets = pending
            if not write.done() or self._saving.pop(number, None) is not pending:
                continue
            if self._written(number, write) and number in self.parts:  # not revoked meanwhile
                self._commit_snapshot(number, offsets, wait=False)

    def _finish_save(self, number: int) -> None:
        """Wait for the periodic snapshot of ``number`` still being written, if any, so that a save
        made now lands after it. Its offsets are not committed: the save that follows covers more."""
        pending = self._saving.pop(number, None)
        if pending is not None:
            self._written(number, pending[0])

    def _written(self, number: int, write: concurrent.futures.Future[None]) -> bool:
        """Whether a periodic write succeeded. A failure costs this snapshot: the next interval
        saves another (a database away must not stop the live path). A failed encoder child makes
        later ones be encoded in this thread again."""
        try:
            write.result()
        except ForkedEncodeFailed as exc:
            self.fork_snapshots = False
            self.metrics.snapshot_failures.inc()
            logger.error("snapshot of partition %s not saved: %s; encoding in the consumer thread "
                         "from now on", number, exc)
            return False
        except Exception as exc:  # noqa: BLE001 -- the database away, or refusing this write
            self._not_saved(number, exc)
            return False
        return True

    def _not_saved(self, number: int, exc: BaseException) -> None:
        self.metrics.snapshot_failures.inc()
        logger.warning("snapshot of partition %s not saved (%r): a restart replays from the last one "
                       "saved", number, exc)

    def _commit_snapshot(self, number: int, offsets: Offsets, *, wait: bool = True) -> None:
        # Kafka's committed offsets only mirror the snapshot (for lag dashboards); the snapshot rules,
        # so a commit lost on the way costs nothing and the periodic ones do not wait for the broker.
        def failed(_offsets: Offsets, response: object) -> None:
            if isinstance(response, Exception):
                logger.warning("committing offsets of partition %s failed: %s", number, response)

        try:
            if wait:
                self.consumer.commit(offsets)
            else:
                self.consumer.commit_async(offsets, callback=failed)
        except KafkaError as exc:
            logger.warning("committing offsets of partition %s failed: %s", number, exc)

    def _save(self, number: int, part: Partition, *, commit: bool = True, wait: bool = True) -> None:
        """Snapshot ``part``'s engine with the offsets it covers. ``wait=False``: the database write
        runs on the loop and its offsets are committed at a later step (:meth:`_settle_saves`)."""
        if part.next_offset is None:
            return
        if wait:
            self._finish_save(number)
        side = {self.control_topic: part.control_offset} if part.control_offset is not None else {}
        if part.checking(self.monotonic()):
            # a previous owner's transitions may still be re-derived from this snapshot on: the
            # next owner must read them where that owner's snapshot said they lie
            alerts_from = part.alerts_from
        else:
            noted = (self._published.get(number), part.alerts_from, part.alerts_end)
            known = [o for o in noted if o is not None]
            alerts_from = max(known) if known else None
        if alerts_from is not None:
            side[self.alerts_topic] = part.alerts_from = alerts_from
        data: bytes | concurrent.futures.Future[bytes] | None = None
        if not wait and self.fork_snapshots:
            try:
                data = encode_forked(part.engine.snapshot, timeout_s=FORKED_ENCODE_TIMEOUT_S)
            except OSError as exc:  # nothing was started: this one is encoded here
                logger.warning("snapshot of partition %s encoded in the consumer thread: fork failed: %s",
                               number, exc)
        write = self._write_snapshot(
            number, part.next_offset, part.engine.snapshot() if data is None else data, side, self.wall(),
            self._unsettled_recordings(),
        )
        offsets = {TopicPartition(self.events_topic, number): OffsetAndMetadata(part.next_offset, "", -1)}
        offsets.update({
            TopicPartition(t, number): OffsetAndMetadata(o, "", -1)
            for t, o in side.items()
            if t != self.alerts_topic  # where to look, not a position of this group
        })
        if not wait:
            self._saving[number] = (self.loop.start(write), offsets)
            return
        try:  # bounded: a revocation or a stop does not wait for a database that is away
            self.loop.call(asyncio.wait_for(write, SAVE_WAIT_S))
        except Exception as exc:  # noqa: BLE001 -- not saved: the next owner replays from the last
            self._not_saved(number, exc)
            return
        if commit:
            self._commit_snapshot(number, offsets)

    async def _write_snapshot(
        self, number: int, next_offset: int, data: bytes | concurrent.futures.Future[bytes],
        side: dict[str, int], now: dt.datetime,
        recordings: Sequence[concurrent.futures.Future[Any]] = (),
    ) -> None:
        for recording in recordings:  # raises if one failed: this snapshot is then not written
            # shielded: a save given up (SAVE_WAIT_S) must not cancel the recording it waited for
            await asyncio.shield(asyncio.wrap_future(recording))
        if not isinstance(data, bytes):
            data = await asyncio.wrap_future(data)
        await self.store.save_snapshot(self.events_topic, number, next_offset, data, side, now)

    def save_all(self) -> None:
        for number, part in self.parts.items():
            self._save(number, part)
