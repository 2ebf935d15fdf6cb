"""The floor engine: live floor state + rules + alert lifecycle, the one object the shell drives.

Call order (single owner, no threads):

* ``on_event(ev)`` for every canonical event. Duplicates by ``(source, id)`` (bounded memory,
  ``dedup_capacity``) are ignored and counted in ``duplicates``. Otherwise the event's site clock
  first runs its grid up to ``ev.ts`` (see below), then the event is applied and the rules that
  read what it changed are evaluated at ``ev.ts``.
* ``advance(now)`` (live only; replay never calls it) runs every site's grid up to
  ``now - allowed_lateness``: time-based conditions — waits growing, ``for`` durations, window
  minutes sliding — are evaluated on a fixed 1-second grid aligned to whole epoch seconds.
  ``next_deadline()`` says when calling it is next useful.
* ``pop_dirty_sites()`` / ``floor_snapshot(site)`` to publish floor state; ``active_alerts()``;
  operator actions ``ack(...)``, ``silence(...)``; ``replace_rules(...)``; ``snapshot()`` /
  ``Engine.restore(...)``.

Determinism: each grid point ``g`` of a site is evaluated once, before the first event of that
site whose ``ts >= g`` is applied. ``on_event`` runs the grid to the event's own ``ts`` (not
``ts - lateness``: that would let an extra ``advance`` reorder grid points and events), so an
extra ``advance(now)``
only evaluates grid points that the next event would have evaluated anyway, provided events are
not later than the lateness (every later event of the site has ``ts >= now - lateness``). Hence a
replay and a live run of the same events give identical transitions, and so does a run restored
from ``snapshot()`` in the middle. Grid points with provably nothing to do are skipped.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from floorwatch.shared.events import Event

from .book import AlertBook, alert_labels
from .defaults import default_rules
from .floor import Floor
from .floorview import floor_snapshot
from .kpis import FloorConfig
from .lifecycle import FIRING, PENDING, RESOLVED, AlertState, Decision, ThresholdAlert, fingerprint
from .metrics import read
from .model import SiteFloor, Touches
from .recent import RecentKeys
from .rules import RuleSet, ThresholdRule
from .times import epoch, to_datetime
from .transition import Transition

Key = tuple[str, str, str, str]  # (site, rule, scope kind, scope name)


class EngineState(msgspec.Struct):
    """Everything :meth:`Engine.snapshot` persists (rules are configuration, passed to restore)."""

    floor: Floor
    alerts: list[AlertState]
    book: AlertBook
    dedup: RecentKeys
    grid: dict[str, int]
    duplicates: int
    lateness: float
    version: int = 1


def _scope(site: str, kind: str, name: str) -> dict[str, str]:
    return {"site": site} if kind == "site" else {"site": site, kind: name}


class Engine:
    """See the module docstring for the call order and the determinism contract."""

    def __init__(
        self,
        rules: RuleSet | None = None,
        *,
        config: FloorConfig | None = None,
        allowed_lateness_s: float = 2.0,
        dedup_capacity: int = 100_000,
    ) -> None:
        if allowed_lateness_s < 0:
            raise ValueError("allowed_lateness_s must be >= 0")
        if rules is None:
            rules = default_rules()
        self._floor = Floor(config=config or FloorConfig())
        self._book = AlertBook()
        self._dedup = RecentKeys(dedup_capacity)
        self._grid: dict[str, int] = {}
        self._alerts: dict[Key, ThresholdAlert] = {}
        self._pending: dict[str, dict[Key, ThresholdAlert]] = {}
        self._by_fp: dict[str, Key] = {}
        self._dirty: set[str] = set()
        self.lateness = allowed_lateness_s
        self.duplicates = 0
        self._index(rules)

    # -- rules ---------------------------------------------------------------------------------

    def _index(self, rules: RuleSet) -> None:
        self.rules = rules
        self._rules = {r.name: r for r in rules.rules}
        self._by_kind: dict[str, list[ThresholdRule]] = {}
        for r in rules.rules:
            self._by_kind.setdefault(r.scope, []).append(r)
        self._per_minute = [r for r in rules.rules if r.timings & {"window", "continuous"}]
        self._rising = [r for r in rules.rules if "rising" in r.timings]
        self._rising_calls = any(r.scope != "agent" for r in self._rising)
        self._rising_agents = any(r.scope == "agent" for r in self._rising)
        self._continuous = [r for r in rules.rules if "continuous" in r.timings]
        self._touch_rules: dict[tuple[str, int], list[ThresholdRule]] = {}  # (kind, family mask) -> rules

    def replace_rules(self, rules: RuleSet, *, at: dt.datetime | None = None) -> list[Transition]:
        """Swap the rule set. Alerts whose rule still exists (same name and scope kind, scope still
        matched) keep their state and continue under the new parameters; firing alerts of other
        rules resolve at ``at`` (default: their site's clock), pending ones are dropped silently."""
        out: list[Transition] = []
        old = self._rules
        self._index(rules)
        for key, m in list(self._alerts.items()):
            st = m.st
            rule = self._rules.get(st.rule)
            if rule is not None and rule.scope == st.kind and rule.matches(st.scope()):
                self._alerts[key] = rule.build(st)
                if st.state == PENDING:
                    self._pending[st.site][key] = self._alerts[key]
                continue
            when = epoch(at) if at is not None else float(self._grid.get(st.site, st.updated_at))
            when = max(when, st.last_eval)
            if st.state == FIRING:
                tr = self._book.record(
                    old[st.rule],
                    st,
                    Decision(RESOLVED, FIRING, when, st.value),
                    self._floor.sites[st.site].tz,
                )
                if tr is not None:
                    out.append(tr)
            self._forget(key, st)
        return out

    # -- events and time -----------------------------------------------------------------------

    def on_event(self, ev: Event) -> list[Transition]:
        """Apply one event; return the transitions it caused (see the module docstring)."""
        if not self._dedup.add(f"{ev.source}\x00{ev.id}"):
            self.duplicates += 1
            return []
        t = epoch(ev.ts)
        out: list[Transition] = []
        if ev.site in self._grid:
            self._run_grid(ev.site, t, out)
        else:
            self._grid[ev.site] = math.floor(t)
            self._pending[ev.site] = {}
        touches = self._floor.apply(ev, t)
        if touches:
            self._dirty.add(ev.site)
            self._evaluate_touches(self._floor.sites[ev.site], touches, t, out)
        return out

    def advance(self, now: dt.datetime) -> list[Transition]:
        """Evaluate time-based conditions of every site up to ``now - allowed_lateness``."""
        out: list[Transition] = []
        upto = epoch(now) - self.lateness
        for site in self._grid:
            self._run_grid(site, upto, out)
        return out

    def next_deadline(self) -> dt.datetime | None:
        """Earliest ``now`` at which :meth:`advance` has something to evaluate (UTC), or None."""
        best = min((self._next_point(site, g) for site, g in self._grid.items()), default=None)
        return None if best is None else to_datetime(best + self.lateness)

    def _run_grid(self, site: str, upto: float, out: list[Transition]) -> None:
        limit = math.floor(upto)
        g = self._grid[site]
        while (nxt := self._next_point(site, g)) <= limit:
            self._grid_point(site, nxt, out)
            g = self._grid[site] = nxt
        if limit > g:
            self._grid[site] = limit

    def _needs_second(self, s: SiteFloor) -> bool:
        if self._pending[s.site]:
            return True
        if (self._rising_calls and s.waiting_in) or (self._rising_agents and s.agents):
            return True
        return bool(self._continuous) and s.total.logged_in > 0

    def _next_point(self, site: str, g: int) -> int:
        s = self._floor.sites[site]
        return g + 1 if self._needs_second(s) else (g // 60 + 1) * 60

    def _grid_point(self, site: str, g: int, out: list[Transition]) -> None:
        s = self._floor.sites[site]
        now = float(g)
        if g % 60 == 0:
            touches = self._floor.expire(site, now)
            if touches:
                self._dirty.add(site)
                self._evaluate_touches(s, touches, now, out)
            for rule in self._per_minute:
                for name in self._names(s, rule.scope):
                    self._evaluate(s, rule, rule.scope, name, now, out)
        for rule in self._rising:
            names: Iterable[str] = self._names(s, rule.scope)
            if rule.scope == "queue":
                names = [n for n in names if s.queues[n].waiting]
            elif rule.scope == "site" and not s.waiting_in:
                names = ()
            for name in names:
                self._evaluate(s, rule, rule.scope, name, now, out)
        for rule in self._continuous:
            for name in self._names(s, rule.scope):
                self._evaluate(s, rule, rule.scope, name, now, out)
        for key, m in list(self._pending[site].items()):
            deadline = m.next_deadline()
            if deadline is not None and deadline <= now and key in self._pending[site]:
                self._evaluate(s, self._rules[key[1]], key[2], key[3], now, out)

    @staticmethod
    def _names(s: SiteFloor, kind: str) -> list[str]:
        if kind == "queue":
            return list(s.queues)
        if kind == "team":
            return list(s.teams)
        if kind == "agent":
            return list(s.agents)
        return [s.site]

    # -- evaluation ----------------------------------------------------------------------------

    def _evaluate_touches(self, s: SiteFloor, touches: Touches, now: float, out: list[Transition]) -> None:
        for (kind, name), mask in touches.items():
            rules = self._touch_rules.get((kind, mask))
            if rules is None:
                rules = [r for r in self._by_kind.get(kind, ()) if r.family & mask]
                self._touch_rules[kind, mask] = rules
            for rule in rules:
                self._evaluate(s, rule, kind, name, now, out)

    def _evaluate(
        self, s: SiteFloor, rule: ThresholdRule, kind: str, name: str, now: float, out: list[Transition]
    ) -> None:
        key = (s.site, rule.name, kind, name)
        m = self._alerts.get(key)
        if rule.matchers and not rule.matches(_scope(s.site, kind, name)):
            return
        cond, value = rule.condition(
            lambda metric: read(s, kind, name, metric, now), firing=m is not None and m.firing
        )
        if m is None:
            if not cond:
                return
            fp = fingerprint(rule.name, _scope(s.site, kind, name))
            m = rule.build(AlertState(fingerprint=fp, rule=rule.name, site=s.site, kind=kind, name=name))
        d = m.observe(cond, value, now)
        if d is None:
            return
        if d.state in (PENDING, FIRING):
            self._alerts[key] = m
            self._by_fp[m.st.fingerprint] = key
            if d.state == PENDING:
                self._pending[s.site][key] = m
            else:
                self._pending[s.site].pop(key, None)
        else:
            self._forget(key, m.st)
        tr = self._book.record(rule, m.st, d, s.tz)
        if tr is not None:
            out.append(tr)

    def _forget(self, key: Key, st: AlertState) -> None:
        self._alerts.pop(key, None)
        self._pending[st.site].pop(key, None)
        self._by_fp.pop(st.fingerprint, None)

    # -- reads and operator actions ------------------------------------------------------------

    def pop_dirty_sites(self) -> set[str]:
        """Sites whose floor changed since the previous call."""
        dirty, self._dirty = self._dirty, set()
        return dirty

    def sites(self) -> list[str]:
        return list(self._floor.sites)

    def floor_snapshot(self, site: str, now: dt.datetime | None = None) -> dict[str, Any]:
        """``FloorSnapshot`` of ``site`` at ``now`` (default: the site's latest event time)."""
        s = self._floor.peek(site)
        return floor_snapshot(s, self._floor.config, s.latest if now is None else epoch(now))

    @property
    def floor(self) -> Floor:
        """The live floor state (read-only by contract)."""
        return self._floor

    def active_alerts(self) -> list[dict[str, Any]]:
        """Wire dicts of pending and firing alerts, in order of first activation."""
        return [
            self._book.current(self._rules[m.st.rule], m.st, self._floor.sites[m.st.site].tz).to_wire()
            for m in self._alerts.values()
        ]

    def ack(self, fingerprint: str, *, by: str, at: dt.datetime, note: str = "") -> Transition | None:
        """Acknowledge an active alert; ``None`` when no alert with that fingerprint is active."""
        key = self._by_fp.get(fingerprint)
        if key is None:
            return None
        st = self._alerts[key].st
        return self._book.ack(
            self._rules[st.rule], st, by=by, at=epoch(at), note=note, tz=self._floor.sites[st.site].tz
        )

    def silence(
        self,
        matchers: Mapping[str, str],
        *,
        until: dt.datetime,
        at: dt.datetime,
        by: str = "",
        comment: str = "",
    ) -> list[Transition]:
        """Silence alerts whose labels match until ``until``; one record per active alert it covers.
        Later transitions of matching alerts carry ``silenced_until`` while the silence lasts."""
        sil = self._book.silence(matchers, until=epoch(until), at=epoch(at), by=by, comment=comment)
        out = []
        for m in self._alerts.values():
            st = m.st
            tr = self._book.touched_by(
                sil, self._rules[st.rule], st, epoch(at), self._floor.sites[st.site].tz
            )
            if tr is not None:
                out.append(tr)
        return out

    # -- persistence ---------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """All state as JSON bytes; ``Engine.restore(data, rules)`` continues exactly from here."""
        state = EngineState(
            floor=self._floor,
            alerts=[m.st for m in self._alerts.values()],
            book=self._book,
            dedup=self._dedup,
            grid=self._grid,
            duplicates=self.duplicates,
            lateness=self.lateness,
        )
        return msgspec.json.encode(state)

    @classmethod
    def restore(cls, data: bytes, rules: RuleSet) -> Engine:
        """Rebuild an engine from :meth:`snapshot` bytes. Alerts whose rule is not in ``rules``
        are dropped without a record — restore with the old rules, then ``replace_rules``."""
        state = msgspec.json.decode(data, type=EngineState)
        eng = cls(
            rules,
            config=state.floor.config,
            allowed_lateness_s=state.lateness,
            dedup_capacity=state.dedup.capacity,
        )
        eng._floor, eng._book, eng._dedup = state.floor, state.book, state.dedup
        eng._grid, eng.duplicates = state.grid, state.duplicates
        eng._pending = {site: {} for site in state.grid}
        for st in state.alerts:
            rule = eng._rules.get(st.rule)
            if rule is None or rule.scope != st.kind:
                continue
            key = (st.site, st.rule, st.kind, st.name)
            m = eng._alerts[key] = rule.build(st)
            eng._by_fp[st.fingerprint] = key
            if st.state == PENDING:
                eng._pending[st.site][key] = m
        return eng

    def alert_labels(self, fingerprint: str) -> dict[str, str] | None:
        """Labels of an active alert (what silences match), or None."""
        key = self._by_fp.get(fingerprint)
        if key is None:
            return None
        st = self._alerts[key].st
        return alert_labels(self._rules[st.rule], st)
