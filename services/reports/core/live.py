"""The live fold: one roll-up fold kept between refreshes, fed only the events stored since.

A whole-day rebuild folds every event of the day again; this keeps the fold (its open calls,
agents' states and legs, and the roll-ups of the business days still open) and feeds it the new
events, so a refresh costs in proportion to them. :meth:`LiveFold.take` hands the shell what changed
since the previous take — the keys whose rows changed, the rows appended — with the open agent
states booked up to the newest event exactly as a rebuild books them (``_Folder.tail``: never
booked into the fold itself, so the next events continue from the same state).

It only ever goes forward in event time: events older than :attr:`LiveFold.frontier` are not fed
here; the shell re-folds their days whole (docs/reports.md, "Late and corrected events").

Memory is bounded: :meth:`LiveFold.prune` drops the roll-ups of business days nothing open can
still book into (no open call, leg or agent state reaches back to them; never more than
``KEEP_S`` back), and the fold's bookkeeping of those days. A later event that would book into a
dropped day is reported in ``Delta.reopened``: the shell re-folds from that day whole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from shared.events import Event

from .rollup import (
    FollowUp,
    OutcomeKey,
    ReasonKey,
    RollupKey,
    Rollups,
    Span,
    _Folder,
    accumulate,
    event_order,
)

_AFTER: Final = 1 << 62  # the place of a key not yet in the fold's rows: after every one that is
KEEP_S: Final = 32 * 3600  # the oldest state the live fold keeps: twice the rebuild's 16 h lookback
Wrap = tuple[str, dt.date, str, str, dt.datetime]


@dataclass(slots=True)
class Delta:
    """What to write: a key mapped to ``None`` has no row any more."""

    rows: dict[RollupKey, list[float] | None] = field(default_factory=dict)
    days: dict[RollupKey, list[float] | None] = field(default_factory=dict)
    reasons: dict[ReasonKey, float | None] = field(default_factory=dict)
    outcomes: dict[OutcomeKey, int] = field(default_factory=dict)
    follow_ups: list[FollowUp] = field(default_factory=list)
    wraps: list[Wrap] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)  # closed spans: added for good
    tail_spans: list[Span] = field(default_factory=list)  # open states so far: replace the last take's
    reopened: set[dt.date] = field(default_factory=set)  # dropped days events booked into

    def size(self) -> int:
        return (len(self.rows) + len(self.days) + len(self.reasons) + len(self.outcomes)
                + len(self.follow_ups) + len(self.wraps) + len(self.spans) + len(self.tail_spans))


class LiveFold:
    """``folder`` has been fed every stored event from ``window_start`` on (up to ``frontier``), in
    event-time order; its roll-ups of business days ``first`` on are the ones written (earlier
    ones are its lookback, as a rebuild's)."""

    def __init__(self, folder: _Folder, first: dt.date, window_start: float, frontier: float,
                 contacts: dict[tuple[str, str], str]) -> None:
        self.folder = folder
        self.first = first
        self.floor = first  # rows of days before it are not held (lookback, or dropped when closed)
        self.window_start = window_start
        self.frontier = frontier
        # the fold order (time, step of a call's life, source, id) of the last event fed: one of
        # the same second but earlier in that order is late too (fed after, a call.queued stored
        # after its call.answered of the same second was booked as a call never queued)
        self.last: tuple[float, int, str, str] | None = None
        self.contacts = contacts  # the folder's own mapping: new events' contacts are added to it
        self._tail = Rollups()  # the open states booked at the last take (written provisionally)
        self._seen = (len(folder.out.follow_ups), len(folder.out.wraps), len(folder.out.spans))
        self.sites: set[str] = {s for s, _ in folder.agents} | {s for s, _ in folder.calls}
        self._contacts_mark = 0
        self._lookback_dropped = False
        self._prefix: dict[RollupKey, tuple[int, list[float] | None]] = {}  # day key -> (n, sum of n)
        folder.dirty.clear()  # what it holds now has been written whole
        folder.dirty_reasons.clear()
        folder.dirty_outcomes.clear()

    def seed(self, tail: Rollups) -> None:
        """The open states as the whole-day write booked them (``folder.tail(frontier)``)."""
        self._tail = tail

    def is_late(self, ev: Event) -> bool:
        """Whether ``ev`` comes before what was fed last (in the fold's order): not to be fed."""
        return ev.ts.timestamp() < self.frontier or (self.last is not None and event_order(ev) < self.last)

    def tail_spans(self) -> set[Span]:
        """The spans of the open states as last written: replaced at the next take."""
        return set(self._tail.spans)

    def feed(self, events: Iterable[Event], contacts: dict[tuple[str, str], str]) -> int:
        """Feed ``events`` (event-time order, none before :attr:`frontier`)."""
        self.contacts.update(contacts)
        n = 0
        feed = self.folder.feed
        for ev in events:
            t = ev.ts.timestamp()
            key = event_order(ev)
            if t < self.frontier or (self.last is not None and key < self.last):
                raise ValueError("the live fold only goes forward in event order: re-fold instead")
            self.frontier, self.last = t, key
            self.sites.add(ev.site)
            feed(ev)
            n += 1
        return n

    def take(self) -> Delta:
        """What changed since the last take (rows with the open states booked up to the frontier)."""
        f = self.folder
        out = f.out
        tail = f.tail(self.frontier)
        prev = self._tail
        d = Delta()
        floor = self.floor

        def keep(day: dt.date, booked: bool = True) -> bool:
            if day >= floor:
                return True
            if booked:
                # an event booked into a written day whose roll-ups were dropped, or into a day
                # before the first (the fold's lookback: it holds part of it only): re-fold it
                # whole. An open state's provisional share of such a day (the tail) is not new:
                # it was written while the day was held, or by the day's own fold, and it does not
                # change (a state open longer than KEEP_S books into days already dropped)
                d.reopened.add(day)
            return False

        tail_new: dict[RollupKey, list[RollupKey]] = {}
        for k in tail.rows:
            if k not in out.rows:
                tail_new.setdefault(k._replace(bucket=0), []).append(k)
        for k in f.dirty | prev.rows.keys() | tail.rows.keys():
            if keep(k.day, k in f.dirty):
                d.rows[k] = _plus(out.rows.get(k), tail.rows.get(k))
        # a day row is its 15-minute rows summed in order (as Rollups.days): the running sum up to
        # the first row that changed is kept from the last take, only the rest is added again
        changed_at: dict[RollupKey, int] = {}
        for k in d.rows:
            dk = k._replace(bucket=0)
            at = f.pos.get(k, _AFTER)
            if at < changed_at.get(dk, _AFTER):
                changed_at[dk] = at
            else:
                changed_at.setdefault(dk, at)
        for dk, at in changed_at.items():
            keys = f.by_day.get(dk, [])
            m, total = self._prefix.get(dk, (0, None))
            if m > at:
                m, total = 0, None
            elif total is not None:
                total = list(total)
            stop = min(at, len(keys))
            for j in range(m, len(keys)):
                if j == stop:
                    self._prefix[dk] = (j, None if total is None else list(total))
                row, more = out.rows[keys[j]], tail.rows.get(keys[j])
                v = row if more is None else [a + b for a, b in zip(row, more, strict=True)]
                if total is None:
                    total = list(v)
                else:
                    accumulate(total, v)
            if stop >= len(keys):
                self._prefix[dk] = (len(keys), None if total is None else list(total))
            for k in tail_new.get(dk, ()):
                v = tail.rows[k]
                total = list(v) if total is None else _acc(total, v)
            d.days[dk] = total
        for rk in f.dirty_reasons | prev.reasons.keys() | tail.reasons.keys():
            if keep(rk.day, rk in f.dirty_reasons):
                base, extra = out.reasons.get(rk), tail.reasons.get(rk)
                d.reasons[rk] = extra if base is None else (base if extra is None else base + extra)
        for ok in f.dirty_outcomes:
            if keep(ok.day):
                d.outcomes[ok] = out.outcomes[ok]
        n_fu, n_wr, n_sp = self._seen
        d.follow_ups = [x for x in out.follow_ups[n_fu:] if keep(x.day)]
        d.wraps = [w for w in out.wraps[n_wr:] if keep(w[1])]
        d.spans = [s for s in out.spans[n_sp:] if keep(s.day)]
        d.tail_spans = [s for s in tail.spans if keep(s.day, False)]
        f.dirty.clear()
        f.dirty_reasons.clear()
        f.dirty_outcomes.clear()
        self._tail = tail
        # appended rows are written once: not held (open follow-ups stay with the fold to close)
        out.follow_ups.clear()
        out.wraps.clear()
        out.spans.clear()
        self._seen = (0, 0, 0)
        return d

    def prune(self) -> dt.date:
        """Drop what belongs to business days before the earliest one anything open can still book
        into (at most ``KEEP_S`` back from the frontier). Call right after :meth:`take`. Returns
        the new floor."""
        f = self.folder
        reach = self.frontier
        oldest = self.frontier - KEEP_S
        for key, c in list(f.calls.items()):
            at = min((x for x in (c.anchor, c.queued_at) if x is not None), default=reach)
            if at < oldest and c.legs <= 0:
                del f.calls[key]  # waiting longer than KEEP_S: the live fold forgets it
                continue
            reach = min(reach, at)
        for a in f.agents.values():
            if a.state is not None:
                reach = min(reach, a.since)
            for leg in a.legs.values():
                for x in (leg.offered_at, leg.answered_at, leg.ended_at):
                    if x is not None:
                        reach = min(reach, x)
        reach = max(reach, oldest)
        when = dt.datetime.fromtimestamp(reach, dt.UTC)
        cals = f.calendars
        floor = min((cals.get(s, f.default_calendar).business_day(when) for s in self.sites or {""}),
                    default=self.floor)
        if floor <= self.floor:
            if self._lookback_dropped:
                return self.floor
            floor = self.floor  # the rebuild's lookback days are held yet: drop them now
        self.floor = floor
        self._lookback_dropped = True
        out = f.out
        out.rows = {k: v for k, v in out.rows.items() if k.day >= floor}
        f.by_day = {k: v for k, v in f.by_day.items() if k.day >= floor}
        f.pos = {k: v for k, v in f.pos.items() if k.day >= floor}
        self._prefix = {k: v for k, v in self._prefix.items() if k.day >= floor}
        out.reasons = {k: v for k, v in out.reasons.items() if k.day >= floor}
        out.outcomes = {k: v for k, v in out.outcomes.items() if k.day >= floor}
        out.follow_ups = [x for x in out.follow_ups if x.day >= floor]
        out.wraps = [w for w in out.wraps if w[1] >= floor]
        out.spans = [s for s in out.spans if s.day >= floor]
        self._seen = (len(out.follow_ups), len(out.wraps), len(out.spans))
        self._tail = Rollups(rows={k: v for k, v in self._tail.rows.items() if k.day >= floor},
                             reasons={k: v for k, v in self._tail.reasons.items() if k.day >= floor})
        # follow-ups of dropped days can no longer be written: nothing needs to close them here
        for key, ups in list(f.open_follow_ups.items()):
            ups[:] = [x for x in ups if x.day >= floor]
            if not ups:
                del f.open_follow_ups[key]
        # contacts named more than a floor advance (about a day) ago: their calls are long over
        names = list(self.contacts)
        for k in names[:self._contacts_mark]:
            del self.contacts[k]
        self._contacts_mark = len(self.contacts)
        horizon = reach - 86400
        f._days = {k: v for k, v in f._days.items() if k[1] >= horizon}
        return floor

    def memory(self) -> dict[str, int]:
        """How much the live fold holds (the benchmark prints it)."""
        f = self.folder
        return {"rows": len(f.out.rows), "reasons": len(f.out.reasons), "spans": len(f.out.spans),
                "calls": len(f.calls), "agents": len(f.agents), "contacts": len(self.contacts)}


def _acc(total: list[float], v: list[float]) -> list[float]:
    accumulate(total, v)
    return total


def _plus(base: list[float] | None, extra: list[float] | None) -> list[float] | None:
    if extra is None:
        return None if base is None else list(base)
    if base is None:
        return list(extra)
    return [a + b for a, b in zip(base, extra, strict=True)]
