"""Queue side of the floor reducer: calls waiting, offered / answered / abandoned counters.

Robustness rules (real feeds repeat and reorder events):

* A call waits in at most one queue. Queuing again in another queue (a transfer) moves it;
  queuing again in the same queue while waiting keeps the earliest arrival.
* ``call.queued`` that is not newer than the call's last answer/abandon in that same queue is a
  stale re-delivery and is ignored; a newer one is a genuine re-queue (e.g. transferred back).
* ``call.answered`` / ``call.abandoned`` for a call not waiting in that queue (the queued event
  was lost or comes later) still counts: the call is offered at ``ts - wait_s`` (wait 0 when the
  source gives no ``wait_s``). A second answer/abandon in the same queue is a duplicate.
* Windowed counters only ever grow by one per fact, so they never go negative.
"""

from __future__ import annotations

from shared.events import CallAbandoned, CallAnswered, CallQueued

from .kpis import ABANDONED, ANSWERED, ANSWERED_WITHIN, OFFERED, SHORT_ABANDONED, WAIT_SUM, Agg, FloorConfig
from .state import QueueFloor, SiteFloor
from .touches import C_ABANDONED, C_ANSWERED, C_OFFERED, F_WAIT, F_WINDOW, Touches, touch


def get_queue(cfg: FloorConfig, s: SiteFloor, name: str) -> QueueFloor:
    q = s.queues.get(name)
    if q is None:
        q = s.queues[name] = QueueFloor(agg=Agg.new(cfg.minutes, timed=False))
    return q


def _count(s: SiteFloor, q: QueueFloor, t: float, *amounts: tuple[int, float]) -> None:
    q.agg.win.add_many(t, amounts)
    s.total.win.add_many(t, amounts)


def _unwait(s: SiteFloor, call: str, touches: Touches) -> tuple[str | None, float | None]:
    """Take ``call`` out of the queue it waits in: (queue, queued_at) or (None, None)."""
    name = s.waiting_in.pop(call, None)
    if name is None:
        return None, None
    touch(touches, "queue", name, F_WAIT)
    return name, s.queues[name].remove(call)


def on_queued(cfg: FloorConfig, s: SiteFloor, ev: CallQueued, t: float, touches: Touches) -> None:
    last = s.resolved.get(ev.call)
    if last is not None and last[0] == ev.queue and last[1] >= t:
        return
    q = get_queue(cfg, s, ev.queue)
    if s.waiting_in.get(ev.call) == ev.queue:
        if t < q.waiting[ev.call]:
            q.remove(ev.call)
            q.put(ev.call, t)
            touch(touches, "queue", ev.queue, F_WAIT)
            touch(touches, "site", s.site, F_WAIT)
        return
    _unwait(s, ev.call, touches)
    q.put(ev.call, t)
    s.waiting_in[ev.call] = ev.queue
    _count(s, q, t, (OFFERED, 1.0))
    touch(touches, "queue", ev.queue, F_WAIT | F_WINDOW | C_OFFERED)
    touch(touches, "site", s.site, F_WAIT | F_WINDOW | C_OFFERED)


def _leave(
    cfg: FloorConfig,
    s: SiteFloor,
    call: str,
    queue: str,
    t: float,
    wait_s: float | None,
    touches: Touches,
    counters: int,
) -> tuple[QueueFloor, float | None] | None:
    """Common part of answer/abandon: None for a duplicate, else (queue, wait or None if unknown).
    ``counters`` = the ``C_*`` bits of the window counters the caller adds to."""
    where = s.waiting_in.get(call)
    if where != queue:
        last = s.resolved.get(call)
        if last is not None and last[0] == queue:
            return None
    q = get_queue(cfg, s, queue)
    _, queued_at = _unwait(s, call, touches) if where is not None else (None, None)
    if where != queue:  # never seen waiting here: it was offered here now
        queued_at = None
        _count(s, q, t - (wait_s or 0.0), (OFFERED, 1.0))
        counters |= C_OFFERED
    s.resolved.put(call, (queue, t))
    touch(touches, "queue", queue, F_WAIT | F_WINDOW | counters)
    touch(touches, "site", s.site, F_WAIT | F_WINDOW | counters)
    if wait_s is not None:
        return q, wait_s
    return q, (max(0.0, t - queued_at) if queued_at is not None else None)


def on_answered(cfg: FloorConfig, s: SiteFloor, ev: CallAnswered, t: float, touches: Touches) -> None:
    left = _leave(cfg, s, ev.call, ev.queue, t, ev.wait_s, touches, C_ANSWERED)
    if left is None:
        return
    q, wait = left
    wait = 0.0 if wait is None else wait
    within = 1.0 if wait <= cfg.sl_threshold_s else 0.0
    _count(s, q, t, (ANSWERED, 1.0), (WAIT_SUM, wait), (ANSWERED_WITHIN, within))


def on_abandoned(cfg: FloorConfig, s: SiteFloor, ev: CallAbandoned, t: float, touches: Touches) -> None:
    left = _leave(cfg, s, ev.call, ev.queue, t, ev.wait_s, touches, C_ABANDONED)
    if left is None:
        return
    q, wait = left
    short = 1.0 if wait is not None and wait < cfg.short_abandon_s else 0.0
    _count(s, q, t, (ABANDONED, 1.0), (SHORT_ABANDONED, short))
