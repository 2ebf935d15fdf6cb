"""Kafka plumbing: client factories with settings that work on Apache Kafka and on Tansu alike,
topic creation, and the one-thread-owns-the-consumer batch loop.

kafka-python's consumer is not thread-safe, so :class:`BatchLoop` runs it in one thread:
``poll`` → ``handle(batch)`` → commit what was handled. A handler that raises stops the loop
without committing that batch (a bug is not bad input); the service then exits loudly and the
batch is consumed again on restart. A handler that raises :class:`RetryLater` (its database is
unreachable) gets the same batch again after a back-off, and nothing past it is committed.
"""

from __future__ import annotations

import collections
import contextlib
import inspect
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka import __version__ as kafka_version
from kafka.admin import NewTopic
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.partitioner.default import DefaultPartitioner
from kafka.structs import OffsetAndMetadata, TopicPartition

from shared.config import Settings
from shared.kafka_records import read_header_names_leniently

logger = logging.getLogger(__name__)
read_header_names_leniently()  # every consumer of the process: shared/kafka_records.py

Batch = list[ConsumerRecord]
RECONNECT_BACKOFF_MAX_MS = 1000


def service_topics(settings: Settings) -> list[str]:
    names = ["events", "dlq", "alerts", "floor", "control", "rules", "alerts-checkpoint"]
    vendor = [s.topic for s in settings.sources]
    return [*settings.raw_topic_list, *vendor, *(settings.topic(n) for n in names)]


def ensure_topics(settings: Settings, topics: Iterable[str] | None = None, timeout_s: float = 30) -> None:
    """Create the topics Floorwatch uses if they are missing (idempotent)."""
    wanted = list(topics or service_topics(settings))
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="floorwatch-admin")
            break
        except Exception as exc:
            if time.monotonic() > deadline:
                raise
            logger.info("waiting for kafka bootstrap=%s error=%s", settings.kafka_bootstrap, exc)
            time.sleep(0.5)
    try:
        existing = set(admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another service created them first
                admin.create_topics([NewTopic(t, settings.partitions, 1) for t in missing])
            logger.info("created topics %s", missing)
    finally:
        admin.close()


def partition_count(settings: Settings, topic: str) -> int:
    """How many partitions ``topic`` has (0 if it does not exist)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="floorwatch-admin")
    try:
        found = [t for t in admin.describe_topics([topic])
                 if t.get("name") == topic and not t.get("error_code")]
        return len(found[0]["partitions"]) if found else 0
    finally:
        admin.close()


class KeyCachingPartitioner(DefaultPartitioner):
    """kafka-python's default (murmur2, as the Java client) with the answer cached per key.

    Floorwatch keys by site: a handful of keys, hashed in pure Python on every send otherwise
    (7 % of ingest's time). Same partitions as any other client's default partitioner.
    """

    def __init__(self, max_keys: int = 100_000):
        self._cache: dict[tuple[str, bytes], tuple[int, int]] = {}
        self._max_keys = max_keys

    def partition(self, topic, key, serialized_key, value, serialized_value, cluster):  # type: ignore[no-untyped-def]
        if serialized_key is None:
            return super().partition(topic, key, serialized_key, value, serialized_value, cluster)
        count = len(cluster.partitions_for_topic(topic) or ())
        hit = self._cache.get((topic, serialized_key))
        if hit is not None and hit[0] == count:
            return hit[1]
        chosen = super().partition(topic, key, serialized_key, value, serialized_value, cluster)
        if len(self._cache) >= self._max_keys:
            self._cache.clear()
        self._cache[(topic, serialized_key)] = (count, chosen)
        return chosen


def make_producer(settings: Settings, **overrides: Any) -> KafkaProducer:
    config: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "client_id": "floorwatch",
        "acks": "all",
        "linger_ms": 5,
        "batch_size": 256 * 1024,
        "max_request_size": 4 * 1024 * 1024,
        "partitioner": KeyCachingPartitioner(),
        # kafka-python backs off reconnects exponentially up to 30 s: after a broker outage a
        # service would wait up to that long to notice the broker is back (docs/reliability.md)
        "reconnect_backoff_max_ms": RECONNECT_BACKOFF_MAX_MS,
    }
    config.update(overrides)
    return KafkaProducer(**config)


FETCH_WAIT_CAP_MS = 5_000  # how far a consumer widens its fetch wait (below request_timeout_ms)
EMPTY_TO_WIDEN = 3  # fetch answers with nothing although behind that make a consumer widen its wait ...
EMPTY_WITHIN_S = 30.0  # ... within this long


class Consumer(KafkaConsumer):
    """kafka-python's consumer, widening its fetch wait when the broker answers fetches with no
    records although the partition holds more past the fetch offset.

    The embedded Tansu broker does that once a partition holds many batches: its fetch lists
    every batch of the partition and gives the listing up when the request's ``max_wait_ms`` is
    spent, answering with nothing (docs/benchmarks.md, *When a partition holds too many
    batches*). At the services' 25 ms that starts at ~40,000 batches in a partition, now and then
    at first, then on every fetch: the consumer would get nothing from it again. So each fetch
    answer is checked: a partition that was behind when the fetch was sent (its last known high
    watermark past the fetch offset) and comes back with no records is an empty answer;
    ``EMPTY_TO_WIDEN`` of them within ``EMPTY_WITHIN_S``, from fetches sent at the current wait,
    double the wait, up to ``FETCH_WAIT_CAP_MS``, with a warning in the log.
    The wait stays widened: the partition only grows on that broker. On Apache Kafka such answers
    do not happen, and a longer wait would cost nothing there: it answers a waiting fetch as soon
    as data arrives.
    """

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self._watch_if_possible()

    def _watch_if_possible(self) -> None:
        problems = watch_problems(self)
        if problems:
            # another kafka-python than the ones checked (pyproject.toml): a plain consumer then,
            # loudly, rather than a service that cannot start
            logger.warning("%s: fetch answers not watched, the fetch wait will not widen on a broker "
                           "that answers with nothing (kafka-python %s: %s)",
                           self.config["client_id"], kafka_version, "; ".join(problems))
        else:
            self._watch_fetches()

    def _watch_fetches(self) -> None:
        self._empty: collections.deque[float] = collections.deque()
        self._widened_at = time.monotonic()
        self._cap_logged = False
        self._check_failed_logged = False
        handle = self._fetcher._handle_fetch_response

        def checked(node_id: Any, fetch_offsets: Any, send_time: float, response: Any) -> Any:
            try:
                self._check_answer(fetch_offsets, send_time, response)
            except Exception:  # a check must never lose a fetch answer
                if not self._check_failed_logged:  # once: it would fail on every fetch alike
                    self._check_failed_logged = True
                    logger.exception("fetch answer check failed (logged once per consumer)")
            return handle(node_id, fetch_offsets, send_time, response)

        self._fetcher._handle_fetch_response = checked

    @property
    def fetch_wait_ms(self) -> int:
        return int(self._fetcher.config["fetch_max_wait_ms"])

    def _check_answer(self, fetch_offsets: Any, send_time: float, response: Any) -> None:
        if send_time < self._widened_at:
            return  # sent at the wait before the last widening
        empty = []
        states = self._subscription.assignment
        for topic_data in response.responses:
            for part in topic_data.partitions:
                tp = TopicPartition(topic_data.topic, part.partition_index)
                offset = fetch_offsets.get(tp)
                state = states.get(tp)
                if part.error_code or part.records or offset is None or state is None:
                    continue
                # Behind already when sent (the last answer's high watermark past the offset): the
                # broker's first look lists with the whole wait. A fetch sent at the end waits, and
                # a later look has only what is left of the wait to list news: an empty answer
                # from that is no sign, the next fetch gets the whole wait again.
                behind = state.highwater is not None and state.highwater > offset
                if behind and part.high_watermark > offset:
                    empty.append(tp)
        if empty:
            self._empty_answer(time.monotonic(), empty)

    def _empty_answer(self, now: float, empty: list[TopicPartition]) -> None:
        while self._empty and now - self._empty[0] > EMPTY_WITHIN_S:
            self._empty.popleft()
        self._empty.append(now)
        if len(self._empty) < EMPTY_TO_WIDEN:
            return
        self._empty.clear()
        wait = self.fetch_wait_ms
        where = ",".join(f"{tp.topic}[{tp.partition}]" for tp in empty)
        if wait >= FETCH_WAIT_CAP_MS:
            if not self._cap_logged:
                self._cap_logged = True
                logger.error(
                    "%s: the broker answered %d fetches with nothing although there is more in %s, "
                    "at a %d ms fetch wait (the most it widens to): it cannot list these partitions "
                    "in time; on the embedded broker, restart it, or run Apache Kafka",
                    self.config["client_id"], EMPTY_TO_WIDEN, where, wait)
            return
        widened = min(FETCH_WAIT_CAP_MS, wait * 2)
        self._fetcher.config["fetch_max_wait_ms"] = widened
        self._widened_at = now
        logger.warning(
            "%s: the broker answered %d fetches with nothing although there is more in %s; fetch wait "
            "%d -> %d ms (the embedded broker must list a partition's every batch within it)",
            self.config["client_id"], EMPTY_TO_WIDEN, where, wait, widened)


def watch_problems(consumer: KafkaConsumer) -> list[str]:
    """What the fetch watch needs of kafka-python's private parts and does not find (empty when
    all is there): the fetcher's answer handler (node, offsets, send time, answer), its config
    with ``fetch_max_wait_ms`` (read for every fetch it builds) and the subscription's
    assignment. Read in kafka-python 3.0.0, 3.0.6 and 3.0.12 (the tests run on the installed one);
    tests/unit/shared/test_kafka_private_parts.py fails, naming the part, on a release that
    changes one."""
    problems = []
    fetcher = getattr(consumer, "_fetcher", None)
    handle = getattr(fetcher, "_handle_fetch_response", None)
    if not callable(handle):
        problems.append("Fetcher._handle_fetch_response: not there")
    else:
        try:
            params = list(inspect.signature(handle).parameters)
        except (TypeError, ValueError):
            params = []
        if params != ["node_id", "fetch_offsets", "send_time", "response"]:
            problems.append(f"Fetcher._handle_fetch_response: takes {params}, not "
                            "(node_id, fetch_offsets, send_time, response)")
    config = getattr(fetcher, "config", None)
    if not isinstance(config, dict) or not isinstance(config.get("fetch_max_wait_ms"), int):
        problems.append("Fetcher.config['fetch_max_wait_ms']: not there")
    if not isinstance(getattr(getattr(consumer, "_subscription", None), "assignment", None), dict):
        problems.append("SubscriptionState.assignment: not a dict")
    return problems


def make_consumer(
    settings: Settings, group_id: str | None, topics: Sequence[str] = (), **overrides: Any
) -> Consumer:
    config: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "client_id": f"floorwatch-{group_id or 'reader'}",
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "fetch_max_wait_ms": settings.fetch_max_wait_ms,
        "max_poll_interval_ms": settings.max_poll_interval_ms,
        "session_timeout_ms": settings.session_timeout_ms,
        "heartbeat_interval_ms": max(1000, settings.session_timeout_ms // 5),
        "max_poll_records": settings.ingest_batch,
        "reconnect_backoff_max_ms": RECONNECT_BACKOFF_MAX_MS,
    }
    config.update(overrides)
    consumer = Consumer(**config)
    if topics:
        consumer.subscribe(list(topics))
    return consumer


def fetched_end(consumer: KafkaConsumer, tp: TopicPartition, stated: int) -> int | None:
    """Where ``tp`` really ends, no earlier than ``stated`` (its end as ``end_offsets`` gave it),
    once a fetch has answered since: the fetch's high watermark. None before. The stated end alone
    is no proof: the embedded Tansu broker states a partition's end as the first offset + 1 of its
    last batch, while a fetch's high watermark is exact. A watermark below ``stated`` comes from a
    fetch older than the statement (or a revoked assignment's): None too."""
    high = consumer.highwater(tp)
    return None if high is None or high < stated else high


def next_offsets(batch: Batch) -> dict[TopicPartition, OffsetAndMetadata]:
    """The offsets to commit after ``batch``: last offset + 1 per partition."""
    last: dict[TopicPartition, int] = {}
    for rec in batch:
        tp = TopicPartition(rec.topic, rec.partition)
        if rec.offset >= last.get(tp, -1):
            last[tp] = rec.offset
    return {tp: OffsetAndMetadata(off + 1, "", -1) for tp, off in last.items()}


class Outcome:
    """What a handler returns when its batch's effects (Kafka sends) settle later.

    ``track(future)`` each send; the batch's offsets are committed once every tracked send is
    acknowledged. A failed send fails the batch: the loop stops without committing it.
    """

    def __init__(self) -> None:
        self._pending = 0
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._settled = threading.Event()
        self._settled.set()

    def track(self, future: Any) -> None:
        with self._lock:
            self._pending += 1
            self._settled.clear()
        future.add_callback(self._ok)
        future.add_errback(self._failed)

    def _ok(self, _metadata: Any) -> None:
        with self._lock:
            self._pending -= 1
            if self._pending == 0:
                self._settled.set()

    def _failed(self, exc: BaseException) -> None:
        self._error = exc
        self._ok(None)

    def done(self) -> bool:
        return self._settled.is_set()

    def wait(self, timeout: float | None = None) -> None:
        if not self._settled.wait(timeout):
            raise TimeoutError("Kafka sends not acknowledged in time")
        self.raise_if_failed()

    def raise_if_failed(self) -> None:
        if self._error is not None:
            raise RuntimeError(f"a send of this batch failed: {self._error!r}") from self._error


class RetryLater(Exception):
    """Raised by a handler when a batch cannot be handled now — a dependency (the database) is
    unreachable — and nothing of it took effect. :class:`BatchLoop` keeps the batch, commits
    nothing past it, pauses fetching while it keeps polling (so the consumer stays in its group),
    and hands the very same batch list to the handler again after a back-off."""


RETRY_FIRST_S = 0.5
RETRY_MAX_S = 5.0


class BatchLoop:
    """Owns one consumer in one thread: poll → ``handle(batch)`` → commit.

    A handler that returns an :class:`Outcome` lets the loop go on to the next batch while the
    sends settle (at most ``max_inflight`` batches); offsets are committed in order, only for
    settled batches.

    ``on_idle`` runs after every poll (also empty ones), in the same thread — for time-driven
    work such as ticks and coalesced publication; ``on_stop`` once on a clean stop, before the
    consumer closes (e.g. a last snapshot). ``stop()`` is idempotent; the loop finishes the
    batch in hand, commits it, and closes the consumer.
    """

    def __init__(
        self,
        consumer: KafkaConsumer,
        handle: Callable[[Batch], Outcome | None],
        *,
        on_idle: Callable[[], None] | None = None,
        on_stop: Callable[[], None] | None = None,
        commit: bool = True,
        max_inflight: int = 2,
        poll_timeout_ms: int = 50,
        name: str = "consumer",
    ):
        self.consumer = consumer
        self._handle = handle
        self._on_idle = on_idle
        self._on_stop = on_stop
        self._commit = commit
        self._poll_timeout_ms = poll_timeout_ms
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self._last: dict[TopicPartition, OffsetAndMetadata] | None = None
        self._inflight: collections.deque[tuple[dict[TopicPartition, OffsetAndMetadata], Outcome | None]] = (
            collections.deque()
        )
        self._max_inflight = max_inflight
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.last_turn: float | None = None  # time.monotonic() when the loop last completed a turn
        self.waiting: str | None = None  # why the batch in hand waits (RetryLater), while it does
        self._waiting_since = 0.0
        self._trouble_logged = -1e9

    def start(self) -> BatchLoop:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def problem(self, stall_s: float = 30.0) -> str | None:
        """Why this loop is not ready (``/readyz``), or None: it has polled and handled at least
        once and is still turning — a handler stuck longer than ``stall_s`` is not ready."""
        if self.error is not None:
            return f"{self.thread.name} failed: {self.error!r}"
        if self._stop.is_set():
            return f"{self.thread.name} is stopping"
        if self.waiting is not None:
            since = time.monotonic() - self._waiting_since
            return f"{self.thread.name} waiting {since:.0f} s to retry a batch: {self.waiting}"
        last = self.last_turn
        if last is None:
            return f"{self.thread.name} has not polled yet"
        if time.monotonic() - last > stall_s:
            return f"{self.thread.name} has not completed a poll for {time.monotonic() - last:.0f} s"
        return None

    def _broker_trouble(self, exc: BaseException) -> None:
        """Log a broker outage at most every 10 s (the client itself logs every failed attempt)."""
        now = time.monotonic()
        if now - self._trouble_logged >= 10.0:
            self._trouble_logged = now
            logger.warning("%s: broker unreachable, retrying: %s", self.thread.name, exc)

    def _commit_done(self) -> None:
        """Commit, in order, every batch whose outcome is settled; raise if one failed."""
        ready: dict[TopicPartition, OffsetAndMetadata] = {}
        while self._inflight:
            offsets, outcome = self._inflight[0]
            if outcome is not None:
                if not outcome.done():
                    break
                outcome.raise_if_failed()
            self._inflight.popleft()
            ready.update(offsets)
        if ready:
            self._last = {**(self._last or {}), **ready}
            if self._commit:
                # Asynchronous: a commit lost to a crash only means the batch is consumed again,
                # which every consumer here survives; waiting would add a round trip per batch.
                try:
                    self.consumer.commit_async(ready)
                except KafkaError as exc:
                    if not exc.retriable:
                        raise
                    self._broker_trouble(exc)  # committed with a later batch, or consumed again

    def _handle_until_done(self, batch: Batch) -> Outcome | None:
        """``handle(batch)``, again and again while it raises :class:`RetryLater` (until stopped)."""
        delay, logged = RETRY_FIRST_S, -1e9
        while True:
            try:
                outcome = self._handle(batch)
            except RetryLater as exc:
                now = time.monotonic()
                if self.waiting is None:
                    self._waiting_since = now
                self.waiting = str(exc)[:300]
                if now - logged >= 10.0:
                    logged = now
                    logger.warning("%s: batch of %d records waits, retrying: %s", self.thread.name,
                                   len(batch), exc)
                if not self._wait_paused(delay):
                    return None
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            if self.waiting is not None:
                logger.warning("%s: batch handled after %.1f s of retries", self.thread.name,
                               time.monotonic() - self._waiting_since)
                self.waiting = None
                self.consumer.resume(*self.consumer.paused())
            return outcome

    def _wait_paused(self, seconds: float) -> bool:
        """Poll with every partition paused for ``seconds`` (group membership, heartbeats, the
        commits of earlier batches go on); False if the loop was stopped meanwhile."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._stop.is_set():
                return False
            self.consumer.pause(*self.consumer.assignment())
            try:
                polled = self.consumer.poll(timeout_ms=self._poll_timeout_ms)
            except Exception as exc:  # noqa: BLE001 - the broker may be away too; waiting anyway
                logger.debug("%s: poll while waiting failed: %s", self.thread.name, exc)
                self._stop.wait(0.2)
                continue
            for tp, recs in polled.items():  # assigned meanwhile, so not paused yet: fetch later
                if recs:
                    self.consumer.seek(tp, recs[0].offset)
            self._commit_done()
            self.last_turn = time.monotonic()
        return True

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    polled = self.consumer.poll(timeout_ms=self._poll_timeout_ms)
                except KafkaError as exc:
                    # kafka-python 3 raises connection errors out of poll() while the broker is
                    # unreachable (coordinator or metadata look-up): that is an outage to ride
                    # out, not a bug — nothing was handed to the handler, nothing to commit.
                    if not exc.retriable:
                        raise
                    self._broker_trouble(exc)
                    self._stop.wait(0.2)
                    continue
                batch: Batch = [rec for recs in polled.values() for rec in recs]
                if batch:
                    outcome = self._handle_until_done(batch)
                    if self._stop.is_set() and self.waiting is not None:
                        break  # stopped while the batch waited: it is not committed
                    self._inflight.append((next_offsets(batch), outcome))
                    # Bounded pipelining: at most max_inflight batches awaiting their sends.
                    while len(self._inflight) > self._max_inflight:
                        self._inflight[0][1].wait()  # type: ignore[union-attr]
                        self._commit_done()
                self._commit_done()
                if self._on_idle is not None:
                    self._on_idle()
                self.last_turn = time.monotonic()
            for _, outcome in self._inflight:
                if outcome is not None:
                    outcome.wait()
            self._commit_done()
            if self._on_stop is not None:  # a clean stop only: never after a failed batch
                self._on_stop()
            if self._commit and self._last is not None:
                self.consumer.commit(self._last)  # the final position, synchronously
        except BaseException as exc:
            self.error = exc
            logger.exception(
                "%s loop stopped by an error; the batch in hand was not committed", self.thread.name
            )
            self._stop.set()
        finally:
            try:
                self.consumer.close(autocommit=False)
            except Exception:
                logger.warning("closing %s consumer failed", self.thread.name, exc_info=True)


class BrokerProbe:
    """Can this process reach the broker right now? For ``/readyz``.

    The services' own consumers do not tell: during an outage ``poll`` just returns nothing, so a
    consumer loop keeps turning and looks healthy. The probe sends the broker the smallest Kafka
    request there is — ApiVersions v0, which every broker version answers — on a fresh socket to
    each bootstrap address in turn, with ``timeout_s`` for connect + answer, at most once per
    ``cache_s`` whatever the probe rate. Plain sockets on purpose: no client threads or event
    loops to leak or to wedge while the broker is away. Thread-safe; ``problem()`` blocks for at
    most ``timeout_s`` per bootstrap address.
    """

    _API_VERSIONS = 18

    def __init__(self, settings: Settings, topic: str = "", *, timeout_s: float = 2.0, cache_s: float = 1.0):
        self.bootstrap = settings.kafka_bootstrap
        self.timeout_s = timeout_s
        self.cache_s = cache_s
        self._lock = threading.Lock()
        self._checked = -1e9
        self._answer: str | None = None
        self._correlation = 0

    def problem(self) -> str | None:
        with self._lock:
            if time.monotonic() - self._checked >= self.cache_s:
                self._answer = self._check()
                self._checked = time.monotonic()
            return self._answer

    def _check(self) -> str | None:
        errors = []
        for address in self.bootstrap.split(","):
            host, _, port = address.strip().rpartition(":")
            try:
                self._ask(host, int(port))
                return None
            except (OSError, ValueError) as exc:
                errors.append(f"{address.strip()}: {type(exc).__name__}: {exc}")
        return ("broker unreachable: " + "; ".join(errors))[:300]

    def _ask(self, host: str, port: int) -> None:
        self._correlation = (self._correlation + 1) % 2**31
        client = b"floorwatch-probe"
        body = struct.pack(">hhih", self._API_VERSIONS, 0, self._correlation, len(client)) + client
        with socket.create_connection((host, port), timeout=self.timeout_s) as sock:
            sock.settimeout(self.timeout_s)
            sock.sendall(struct.pack(">i", len(body)) + body)
            head = _recv_exactly(sock, 4)
            (size,) = struct.unpack(">i", head)
            if not 6 <= size <= 1 << 20:
                raise ValueError(f"implausible response size {size}")
            answer = _recv_exactly(sock, size)
        correlation, error = struct.unpack(">ih", answer[:6])
        if correlation != self._correlation:
            raise ValueError(f"answer to request {correlation}, expected {self._correlation}")
        if error != 0:
            raise ValueError(f"ApiVersions error code {error}")

    def close(self) -> None:
        """Nothing held between checks (kept so that owners can treat it like a client)."""


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("connection closed by the broker")
        data += chunk
    return data
