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

What counts how follows the queue's :class:`~.definitions.Definitions`: the service-level
threshold, short abandons, which exits are abandons (the others count as ``exited``) and whether a
call answered without having queued (never seen waiting, no wait stated) is left out of the queue
figures (``unqueued``). Every fact also goes to the site's day / interval ledger, in the slot
where its call was offered (``ledger.py``).
"""

from __future__ import annotations

from shared.events import CallAbandoned, CallAnswered, CallQueued

from .kpis import ABANDONED, ANSWERED, ANSWERED_WITHIN, OFFERED, SHORT_ABANDONED, WAIT_SUM, Agg, FloorConfig
from .ledger import L_ABANDONED, L_ANSWERED, L_EXITED, L_OFFERED, L_SHORT, L_UNQUEUED, L_WAIT, L_WITHIN, slot
from .state import QueueFloor, SiteFloor
from .touches import C_ABANDONED, C_ANSWERED, C_OFFERED, F_WAIT, F_WINDOW, Touches, touch


def get_queue(cfg: FloorConfig, s: SiteFloor, name: str) -> QueueFloor:
    q = s.queues.get(name)
    if q is None:
        q = s.queues[name] = QueueFloor(agg=Agg.new(cfg.minutes, timed=False))
    return q


def _count(s: SiteFloor, q: QueueFloor, t: float, *amounts: tuple[int, float]) -> None:
    q.agg.win.add_many(t, amounts)
    if not s.total.win.add_many(t, amounts):
        s.late += 1


def book(cfg: FloorConfig, s: SiteFloor, queue: str | None, at: float, *amounts: tuple[int, float]) -> None:
    """Add ``amounts`` to the day and interval of offer time ``at`` in the site's ledger."""
    day, start = slot(at, cfg.defs.for_site(s.site), s.tz)
    s.ledger.add(day, start, queue, amounts)


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
    book(cfg, s, ev.queue, t, (L_OFFERED, 1.0))
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
    *,
    answer: bool,
) -> tuple[QueueFloor, float | None, float, bool] | None:
    """Common part of answer/abandon: None for a duplicate, else (queue, wait or None if unknown,
    offered at, unqueued). ``counters`` = the ``C_*`` bits of the window counters the caller adds
    to. An unqueued call (an answer never seen waiting, no wait stated) that the definitions
    exclude is not offered and touches no counter."""
    where = s.waiting_in.get(call)
    if where != queue:
        last = s.resolved.get(call)
        if last is not None and last[0] == queue:
            return None
    q = get_queue(cfg, s, queue)
    _, queued_at = _unwait(s, call, touches) if where is not None else (None, None)
    if where != queue:  # never seen waiting here: it was offered here now
        queued_at = None
        offered_at = t - (wait_s or 0.0)
        if (
            answer
            and where is None
            and not wait_s
            and cfg.defs.for_queue(s.site, queue).unqueued == "exclude"
        ):
            s.resolved.put(call, (queue, t))
            return q, None, offered_at, True
        _count(s, q, offered_at, (OFFERED, 1.0))
        book(cfg, s, queue, offered_at, (L_OFFERED, 1.0))
        counters |= C_OFFERED
    else:
        assert queued_at is not None
        offered_at = queued_at
    s.resolved.put(call, (queue, t))
    touch(touches, "queue", queue, F_WAIT | F_WINDOW | counters)
    touch(touches, "site", s.site, F_WAIT | F_WINDOW | counters)
    if wait_s is not None:
        return q, wait_s, offered_at, False
    return q, (max(0.0, t - queued_at) if queued_at is not None else None), offered_at, False


def on_answered(cfg: FloorConfig, s: SiteFloor, ev: CallAnswered, t: float, touches: Touches) -> float | None:
    """Count the answer; returns when the call was offered (None for a duplicate answer)."""
    left = _leave(cfg, s, ev.call, ev.queue, t, ev.wait_s, touches, C_ANSWERED, answer=True)
    if left is None:
        return None
    q, wait, offered_at, unqueued = left
    if unqueued:
        book(cfg, s, ev.queue, offered_at, (L_UNQUEUED, 1.0))
        return offered_at
    wait = 0.0 if wait is None else wait
    within = 1.0 if cfg.defs.for_queue(s.site, ev.queue).within(wait) else 0.0
    _count(s, q, t, (ANSWERED, 1.0), (WAIT_SUM, wait), (ANSWERED_WITHIN, within))
    book(cfg, s, ev.queue, offered_at, (L_ANSWERED, 1.0), (L_WAIT, wait), (L_WITHIN, within))
    return offered_at


def on_abandoned(cfg: FloorConfig, s: SiteFloor, ev: CallAbandoned, t: float, touches: Touches) -> None:
    left = _leave(cfg, s, ev.call, ev.queue, t, ev.wait_s, touches, C_ABANDONED, answer=False)
    if left is None:
        return
    q, wait, offered_at, _ = left
    d = cfg.defs.for_queue(s.site, ev.queue)
    if not d.counts_as_abandon(ev.cause):
        book(cfg, s, ev.queue, offered_at, (L_EXITED, 1.0))
        return
    short = 1.0 if d.is_short(wait) else 0.0
    _count(s, q, t, (ABANDONED, 1.0), (SHORT_ABANDONED, short))
    book(cfg, s, ev.queue, offered_at, (L_ABANDONED, 1.0), (L_SHORT, short))
