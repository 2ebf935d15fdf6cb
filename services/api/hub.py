"""The fan-out: every feed update is offered to every session that may see it, without ever waiting.

Design (python-websockets' broadcast pattern, plus what a floor needs):

* A message is encoded once per distinct scope (alerts: never re-encoded, the feed's bytes are
  spliced; floor snapshots: re-encoded only for partial scopes). What is queued per session is the
  envelope *tail* (``,"alert":{…}}``); the writer splices ``{"type":"alert","seq":N`` in front when
  it sends, so ``seq`` counts exactly the messages that session sent.
* Each session has one ordered pending map. A floor update for a site replaces the one still
  pending for that site (coalescing, counted as ``floor_coalesced``). Alerts are never coalesced;
  when more than ``max_alert_backlog`` are pending, the pending data is dropped (counted as
  ``alert_overflow``) and the session owes a ``resync`` — a fresh hello-like snapshot built from
  live state at the moment it is sent; until then the session gets nothing (the snapshot will
  contain it). More than ``max_resyncs`` resyncs within ``resync_window_s`` marks a connected
  session as stuck: its writer closes it with 4008.
* Fast path: a connected session with nothing owed, whose writer is not mid-send and whose
  connection has a ``FrameSink`` (a transport it can write to without awaiting, see ``direct.py``)
  gets the frame handed to the sink right here, seq assigned only if the sink took it. Otherwise (sink
  refuses: write buffer above its limit, or no sink) the frame goes to the pending map and the
  session's writer task is woken — the slow path above, where coalescing and resync happen. A
  lagging client thus falls back to the slow path by itself and comes back once it has caught up.
* No garbage collection runs inside a fan-out (``publish`` pauses the collector until the next
  loop iteration has flushed the batched frames, so a burst published in one iteration is not
  interrupted either): the loop allocates a few objects per client, enough to trigger
  many generation-1 collections (5–20 ms each here, ~3 per 1,000 clients) and, with ~250 tracked
  objects per connection held by the server stack, a full collection at 10,000 clients takes ~2 s.
  The pause is process-wide (``gc.disable``), so it is bounded: once a pause has lasted
  ``gc_pause_max_s`` (0.5 s), the next ``publish`` turns the collector back on and no new pause
  starts before the next loop iteration. The collector is thus off for at most ``gc_pause_max_s``
  plus one fan-out (~0.2 s of CPU at 10,000 clients) at a time; ``gc_pause_max_s = 0`` never pauses.
  Full collections themselves are kept short by freezing what is connected (``gcfreeze.py``,
  ``gc_freeze_step``): with it a full collection at 10,000 clients no longer walks their state.
* A client's control replies (``pong``, ``error``, heartbeats queued behind a send) are bounded by
  ``max_controls``: a client that keeps sending ops without reading the replies is closed 4008
  (``control``), so a connection can hold at most ``max_controls`` replies, each small (``ws.py``
  clips whatever it echoes).
* Every sent frame is logged (bounded by ``replay_size``) so that a client reconnecting with its
  session id can ``resume`` from its last seq. A ``hello`` / ``resync`` is logged as a mark only
  (a whole floor each, ``replay_size`` of them would be megabytes per client): a resume from
  before one is not covered, and the client gets a fresh ``hello``. A disconnected session keeps
  collecting (and coalescing) for ``resume_ttl_s``, then expires.
* ``subscribe`` (a fresh ``hello`` each) is limited to ``max_subscribes`` per ``subscribe_window_s``
  per session; beyond, it is refused with an ``error`` and the scope is left as it is.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import orjson

from services.api.auth import Principal, Scope
from services.api.gcfreeze import GcFreezer
from services.api.metrics import ApiMetrics
from services.api.scoping import alert_visible, filter_floor
from services.api.state import LiveState, Update

logger = logging.getLogger(__name__)
CLOSE_TOO_SLOW = 4008
Snapshot = Literal["hello", "resync"]


class FrameSink(Protocol):
    def write_text(self, prefix: bytes, tail: bytes) -> bool:
        """Take the text frame ``prefix + tail`` for the connection, without awaiting, and return
        True (it goes out ahead of anything the connection's writer sends later); or take nothing
        and return False (the connection is closing or its write buffer is too full)."""
        ...


@dataclass(frozen=True, slots=True)
class HubOptions:
    max_alert_backlog: int = 1000
    replay_size: int = 2048
    heartbeat_s: float = 15.0
    send_timeout_s: float = 10.0
    max_resyncs: int = 3
    resync_window_s: float = 60.0
    resume_ttl_s: float = 60.0
    max_sessions: int = 10_000
    direct_write_limit: int = 32 * 1024  # fast path while a client's write buffer is ≤ this; 0 = off
    max_controls: int = 64  # control replies queued for one client; more: it is closed 4008
    gc_pause_max_s: float = 0.5  # longest garbage-collector pause for one burst of fan-outs; 0 = none
    gc_freeze_step: int = 256  # gc.freeze() every this many new connections (gcfreeze.py); 0 = never
    max_subscribes: int = 20  # subscribes (each answered with a whole hello) per session ...
    subscribe_window_s: float = 60.0  # ... within this long; more are refused


class Session:
    """One client's stream: its scope, seq counter, pending messages and sent log."""

    __slots__ = ("alert_backlog", "closing", "connected", "controls", "detached_at", "id", "keys", "log",
                 "next_beat", "pending", "principal", "resumable", "resumed", "resyncs", "scope", "sending",
                 "seq", "sink", "snapshot_due", "subscribes", "wake", "writer_gen")

    def __init__(self, principal: Principal, replay_size: int) -> None:
        self.id = secrets.token_urlsafe(12)
        self.principal = principal
        self.scope: Scope = principal.scope
        self.seq = 0
        self.pending: OrderedDict[Any, tuple[str, str]] = OrderedDict()
        self.controls: deque[tuple[str, str]] = deque()
        self.keys = itertools.count()
        self.alert_backlog = 0
        self.snapshot_due: Snapshot | None = "hello"
        self.resumed: bool | None = None
        self.log: deque[tuple[int, str, str | None]] = deque(maxlen=replay_size)  # tail None: a snapshot
        self.wake = asyncio.Event()
        self.resyncs: deque[float] = deque()
        self.subscribes: deque[float] = deque()
        self.closing: int | None = None
        self.resumable = True
        self.connected = False
        self.detached_at: float | None = None
        self.writer_gen = 0
        self.sink: FrameSink | None = None
        self.sending = False  # the writer has a frame (seq assigned) not yet handed to the connection
        self.next_beat = 0.0  # with a sink: when ``Hub.beat`` owes the next heartbeat (hub clock)


def frame(kind: str, seq: int, tail: str) -> str:
    """``{"type":kind,"seq":seq`` + tail; ``tail`` is ``}`` or ``,"key":value…}``."""
    return '{"type":"' + kind + '","seq":' + str(seq) + tail


_PREFIXES = {kind: ('{"type":"' + kind + '","seq":').encode() for kind in ("alert", "floor", "heartbeat")}


def _tail(body: dict[str, Any]) -> str:
    encoded = orjson.dumps(body).decode()
    return "}" if encoded == "{}" else "," + encoded[1:]


class Hub:
    def __init__(self, live: LiveState, metrics: ApiMetrics, options: HubOptions | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.live = live
        self.metrics = metrics
        self.options = options or HubOptions()
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._scopes: dict[Scope, Scope] = {}  # _interned
        self._gc_paused = False  # this hub turned the collector off, and has not turned it on again
        self._gc_paused_at = 0.0
        self._gc_resume_due = False  # a resume is scheduled for the next loop iteration
        self.gc_freezer = GcFreezer(self.options.gc_freeze_step)

    # -- sessions ------------------------------------------------------------------------------
    def open(self, principal: Principal) -> Session:
        """A new session owing a ``hello``; evicts the oldest detached sessions beyond the limit."""
        while len(self._sessions) >= self.options.max_sessions and self._evict_one():
            pass
        session = Session(principal, self.options.replay_size)
        session.scope = self._interned(session.scope)
        self._sessions[session.id] = session
        self.metrics.ws_sessions.set(len(self._sessions))
        return session

    def _interned(self, scope: Scope) -> Scope:
        """One object per distinct scope: the fan-out decides visibility once per scope object
        (``_publish_alert``), and a token store that builds a principal per connection (the SQL
        one) gives equal scopes as distinct objects. Bounded: cleared at ``max_sessions``."""
        held = self._scopes.get(scope)
        if held is None:
            if len(self._scopes) >= self.options.max_sessions:
                self._scopes.clear()
            held = self._scopes[scope] = scope
        return held

    def find(self, session_id: str, principal: Principal) -> Session | None:
        """A held session owned by the same credential, else None."""
        session = self._sessions.get(session_id)
        if session is None or session.principal.key != principal.key or session.closing is not None:
            return None
        return session

    def attach(self, session: Session) -> int:
        """Mark ``session`` connected; returns the writer generation (an older writer must stop)."""
        session.writer_gen += 1
        session.sink = None
        session.sending = False
        session.connected = True
        session.detached_at = None
        session.wake.set()
        return session.writer_gen

    def detach(self, session: Session, gen: int) -> None:
        """The connection of writer ``gen`` ended; keep the session for a resume unless it was closed
        for good (shutdown). A session closed as too slow stays resumable: replay + pending is the
        cheapest way back for that client. Call once per connection: each one ended is counted for
        ``gc_freezer``, one taken over by a resume (an older ``gen``) too."""
        self.gc_freezer.detached()
        if session.writer_gen != gen:
            return
        session.sink = None
        session.connected = False
        session.detached_at = self._clock()
        if session.closing is not None:
            if not session.resumable:
                self.discard(session)
                return
            session.closing = None
            session.resyncs.clear()

    def set_sink(self, session: Session, gen: int, sink: FrameSink | None) -> None:
        """Let ``publish`` write to writer ``gen``'s connection directly (``None``: slow path only).
        Call once that connection's replayed frames are out, so nothing can overtake them."""
        if session.writer_gen == gen and session.connected:
            session.sink = sink
            session.next_beat = self._clock() + self.options.heartbeat_s
            self.gc_freezer.attached()  # the connection's objects are all made by now: freeze them

    def discard(self, session: Session) -> None:
        if self._sessions.pop(session.id, None) is not None:
            lost = sum(1 for kind, _ in session.pending.values() if kind in ("alert", "floor"))
            if lost:
                self.metrics.dropped["session_expired"].inc(lost)
            session.pending.clear()
            self.metrics.ws_sessions.set(len(self._sessions))

    def reap(self) -> None:
        """Expire detached sessions older than ``resume_ttl_s``. Call periodically."""
        limit = self._clock() - self.options.resume_ttl_s
        for session in list(self._sessions.values()):
            if not session.connected and session.detached_at is not None and session.detached_at < limit:
                self.discard(session)

    def _evict_one(self) -> bool:
        detached = [s for s in self._sessions.values() if not s.connected]
        if not detached:
            return False
        self.discard(min(detached, key=lambda s: s.detached_at or 0.0))
        return True

    def sessions(self) -> list[Session]:
        return list(self._sessions.values())

    # -- fan-out (never awaits) ----------------------------------------------------------------
    def publish(self, update: Update) -> None:
        pause = self._gc_pause_begin()
        try:
            if update.kind == "alert":
                self._publish_alert(update)
            else:
                self._publish_floor(update)
        finally:
            if pause:
                self._pause_gc_until_next_iteration()

    def _gc_pause_begin(self) -> bool:
        """Turn the collector off for this fan-out (a collection mid-loop would delay every client
        after it, module docstring); True when this call paused it. Inside a pause that has
        lasted ``gc_pause_max_s``, turn it back on instead (and pause no more this iteration)."""
        limit = self.options.gc_pause_max_s
        if self._gc_paused:
            if self._clock() - self._gc_paused_at > limit:
                self._gc_paused = False
                gc.enable()
            return False
        if limit <= 0 or self._gc_resume_due or not gc.isenabled():
            return False
        gc.disable()
        self._gc_paused = True
        self._gc_paused_at = self._clock()
        return True

    @property
    def gc_paused(self) -> bool:
        return self._gc_paused

    def _pause_gc_until_next_iteration(self) -> None:
        """Keep the collector off for the rest of this loop iteration (the other updates of a
        burst) and the flushes of the next one, which were scheduled before this."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called outside a loop (tests): nothing batches, resume now
            self._resume_gc()
            return
        self._gc_resume_due = True
        loop.call_soon(self._resume_gc)

    def _resume_gc(self) -> None:
        self._gc_resume_due = False
        if self._gc_paused:
            self._gc_paused = False
            gc.enable()

    def _publish_alert(self, update: Update) -> None:
        visible: dict[int, bool] = {}  # by id(scope): hashing the dataclass per client costs more
        tail: str | None = None
        tail_bytes = b""
        prefix = _PREFIXES["alert"]
        direct = 0
        for session in self._sessions.values():
            if session.snapshot_due is not None or session.closing is not None:
                continue
            scope = session.scope
            ok = visible.get(id(scope))
            if ok is None:
                # the team and queues it was first shown under: for its resolve only (a firing of an
                # agent who moved is shown by where the agent is now, as a hello would)
                shown = update.shown if update.doc.get("state") == "resolved" else None
                ok = visible[id(scope)] = self._alert_visible(update.doc, scope, shown)
            if not ok:
                continue
            if tail is None:
                tail = ',"alert":' + update.raw.decode() + "}"
                tail_bytes = b',"alert":' + update.raw + b"}"
            sink = session.sink
            if sink is not None and not (session.pending or session.controls or session.sending):
                seq = session.seq + 1
                if sink.write_text(prefix + b"%d" % seq, tail_bytes):
                    session.seq = seq
                    session.log.append((seq, "alert", tail))
                    direct += 1
                    continue
            session.pending[next(session.keys)] = ("alert", tail)
            session.alert_backlog += 1
            if session.alert_backlog > self.options.max_alert_backlog:
                self._overflow(session)
            session.wake.set()
        if direct:
            self.metrics.sent["alert"].inc(direct)

    def _alert_visible(self, alert: dict[str, Any], scope: Scope,
                       shown: dict[str, Any] | None = None) -> bool:
        """``alert_visible``, by the agent's current row or, for an agent's alert, by the team and
        queues ``shown`` it was first accepted under (``Update.shown``: a ``resolved`` reaches the
        screens that showed it firing after the agent logged out or moved). An alert it cannot
        judge (a shape ``LiveState`` let through) is not visible: it must not stop the fan-out,
        nor every hello of the scope."""
        try:
            if alert_visible(alert, scope, self.live.agent, self.live.floor):
                return True
            return shown is not None and alert_visible(alert, scope, lambda _site, _agent: shown,
                                                       self.live.floor)
        except Exception as exc:  # noqa: BLE001 - logged; the alert is then hidden from this scope
            logger.warning("alert hidden from a scope: deciding its visibility raised fingerprint=%.64s "
                           "reason=%r", alert.get("fingerprint"), exc)
            return False

    def _publish_floor(self, update: Update) -> None:
        tails: dict[tuple[Scope, frozenset[str] | None], tuple[str, bytes] | None] = {}
        key = ("floor", update.site)
        site_json = orjson.dumps(update.site).decode()
        prefix = _PREFIXES["floor"]
        coalesced = direct = 0
        for session in self._sessions.values():
            if session.snapshot_due is not None or session.closing is not None:
                continue
            seen_as = (session.scope, session.principal.scope.sites)
            if seen_as in tails:
                tails_of_scope = tails[seen_as]
            else:
                tails_of_scope = tails[seen_as] = self._floor_tail(update, *seen_as, site_json)
            if tails_of_scope is None:
                continue
            tail, tail_bytes = tails_of_scope
            sink = session.sink
            if sink is not None and not (session.pending or session.controls or session.sending):
                seq = session.seq + 1
                if sink.write_text(prefix + b"%d" % seq, tail_bytes):
                    session.seq = seq
                    session.log.append((seq, "floor", tail))
                    direct += 1
                    continue
            coalesced += key in session.pending
            session.pending[key] = ("floor", tail)
            session.wake.set()
        if coalesced:
            self.metrics.dropped["floor_coalesced"].inc(coalesced)
        if direct:
            self.metrics.sent["floor"].inc(direct)

    @staticmethod
    def _floor_tail(update: Update, scope: Scope, named_sites: frozenset[str] | None,
                    site_json: str) -> tuple[str, bytes] | None:
        if not scope.allows_site(update.site):
            return None
        if scope.partial:
            doc = _filtered_floor(update.doc, scope, named_sites)
            if doc is None:
                return None
            body = orjson.dumps(doc).decode()
        else:
            body = update.raw.decode()
        tail = ',"site":' + site_json + ',"floor":' + body + "}"
        return tail, tail.encode()

    def _overflow(self, session: Session) -> None:
        lost = sum(1 for kind, _ in session.pending.values() if kind == "alert")
        self.metrics.dropped["alert_overflow"].inc(lost)
        session.pending.clear()
        session.alert_backlog = 0
        session.snapshot_due = "resync"
        self.metrics.resyncs.inc()
        if not session.connected:
            return
        now = self._clock()
        session.resyncs.append(now)
        while session.resyncs and session.resyncs[0] < now - self.options.resync_window_s:
            session.resyncs.popleft()
        if len(session.resyncs) > self.options.max_resyncs:
            self.close(session, CLOSE_TOO_SLOW, resumable=True)
            self.metrics.slow_closes.inc()

    def beat(self, body: dict[str, Any]) -> None:
        """Heartbeats for the sessions with a sink (the others' writers keep their own timer): every
        ``heartbeat_s``, written directly when the session is idle, else queued for its writer.
        Call about every second. One ticker instead of a timer and a wake-up per client: at 10,000
        clients the writers' heartbeat timers alone kept the API ~16% busy."""
        now = self._clock()
        tail: str | None = None
        tail_bytes = b""
        prefix = _PREFIXES["heartbeat"]
        direct = 0
        for session in self._sessions.values():
            sink = session.sink
            if sink is None or session.next_beat > now or session.closing is not None:
                continue
            session.next_beat = now + self.options.heartbeat_s
            if tail is None:
                tail = _tail(body)
                tail_bytes = tail.encode()
            if session.snapshot_due is None and not (session.pending or session.controls or session.sending):
                seq = session.seq + 1
                if sink.write_text(prefix + b"%d" % seq, tail_bytes):
                    session.seq = seq
                    session.log.append((seq, "heartbeat", tail))
                    direct += 1
                    continue
            self._queue_control(session, "heartbeat", tail)
        if direct:
            self.metrics.sent["heartbeat"].inc(direct)

    def close(self, session: Session, code: int, *, resumable: bool = False) -> None:
        """Ask the session's writer to close the connection with ``code``; unless ``resumable``,
        the session is discarded once its connection has ended."""
        session.closing = code
        session.resumable = resumable
        session.wake.set()
        if not session.connected:
            self.discard(session)

    # -- client requests -----------------------------------------------------------------------
    def control(self, session: Session, kind: str, body: dict[str, Any]) -> None:
        """Queue a reply (``pong``, ``error``, ``heartbeat``) ahead of data (after an owed hello /
        resync). Never dropped while the client reads: one that lets more than ``max_controls``
        pile up is closed 4008 instead (it sends ops without reading the answers)."""
        self._queue_control(session, kind, _tail(body))

    def _queue_control(self, session: Session, kind: str, tail: str) -> None:
        if session.closing is not None:
            return
        if len(session.controls) >= self.options.max_controls:
            session.controls.clear()
            self.metrics.slow_closes.inc()
            self.close(session, CLOSE_TOO_SLOW, resumable=True)
            return
        session.controls.append((kind, tail))
        session.wake.set()

    def subscribe(self, session: Session, sites: list[str] | None, teams: list[str] | None,
                  queues: list[str] | None) -> Scope | None:
        """Narrow the session to the token scope ∩ request; the client then gets a fresh ``hello``.
        None, and nothing changed, when the session has subscribed ``max_subscribes`` times within
        ``subscribe_window_s`` already."""
        now = self._clock()
        while session.subscribes and session.subscribes[0] <= now - self.options.subscribe_window_s:
            session.subscribes.popleft()
        if len(session.subscribes) >= self.options.max_subscribes:
            return None
        session.subscribes.append(now)
        session.scope = self._interned(session.principal.scope.narrow(sites, teams, queues))
        session.pending.clear()
        session.alert_backlog = 0
        session.snapshot_due = "hello"
        session.wake.set()
        return session.scope

    def replay(self, session: Session, since: int) -> list[str] | None:
        """Frames after ``since`` from the sent log (original seqs), or None when not covered: the log
        does not reach back to ``since``, or a ``hello`` / ``resync`` was sent since (logged as a
        mark only)."""
        if since < 0 or since > session.seq:
            return None
        oldest = session.log[0][0] if session.log else session.seq + 1
        if since < oldest - 1:
            return None
        frames = []
        for seq, kind, tail in session.log:
            if seq > since:
                if tail is None:
                    return None
                frames.append(frame(kind, seq, tail))
        return frames

    # -- the writer's side ---------------------------------------------------------------------
    def next_frame(self, session: Session) -> str | None:
        """The next frame to send (seq assigned and logged now), or None when nothing is owed."""
        kind: str
        if session.snapshot_due is not None:  # a hello is always a session's first message
            kind, tail = session.snapshot_due, self.snapshot_tail(session)
            session.snapshot_due = None
            session.resumed = None
        elif session.controls:
            kind, tail = session.controls.popleft()
        elif session.pending:
            _, (kind, tail) = session.pending.popitem(last=False)
            if kind == "alert":
                session.alert_backlog -= 1
        else:
            return None
        session.seq += 1
        session.log.append((session.seq, kind, None if kind in ("hello", "resync") else tail))
        self.metrics.sent[kind].inc()
        return frame(kind, session.seq, tail)

    def snapshot_tail(self, session: Session) -> str:
        """The body of a ``hello`` / ``resync``: role, scope, visible floor and active alerts."""
        scope = session.scope
        named = session.principal.scope.sites  # a subscription never reveals a site the token does not name
        floor = {}
        for site in self.live.sites():
            doc = self.live.floor(site)
            filtered = _filtered_floor(doc, scope, named) if doc is not None else None
            if filtered is not None:
                floor[site] = filtered
        alerts = [a for a in self.live.alerts() if self._alert_visible(a, scope)]
        body: dict[str, Any] = {"session": session.id, "role": session.principal.role,
                                "scope": scope.to_json(), "heartbeat_s": self.options.heartbeat_s,
                                "floor": floor, "alerts": alerts}
        if session.resumed is not None:
            body["resumed"] = session.resumed
        return _tail(body)

    def close_key(self, key: str, code: int) -> int:
        """Close (not resumable) every session opened with the credential ``key``; returns how many
        were connected. Used when a token is revoked."""
        connected = 0
        for session in list(self._sessions.values()):
            if session.principal.key == key and session.closing is None:
                connected += session.connected
                self.close(session, code)
        return connected

    def credentials(self) -> set[str]:
        """The credentials of the sessions held now."""
        return {s.principal.key for s in self._sessions.values() if s.closing is None}

    def close_all(self, code: int) -> None:
        self._resume_gc()  # shutdown: the loop may stop before the scheduled resume runs
        for session in list(self._sessions.values()):
            self.close(session, code)


def _filtered_floor(snapshot: dict[str, Any], scope: Scope,
                    named_sites: frozenset[str] | None) -> dict[str, Any] | None:
    """``filter_floor``, with a snapshot it cannot cut (a shape ``LiveState`` let through) not
    visible to ``scope``: it must not stop the fan-out, nor every hello of the scope."""
    try:
        return filter_floor(snapshot, scope, named_sites)
    except Exception as exc:  # noqa: BLE001 - logged; the snapshot is then hidden from this scope
        logger.warning("floor snapshot hidden from a scope: cutting it raised site=%.64s reason=%r",
                       snapshot.get("site"), exc)
        return None
