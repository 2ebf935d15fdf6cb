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
import heapq
import math
from collections.abc import Callable, Iterable

import msgspec

from shared.events import Event

from .alerting.grouping import Grouper, group_machine, is_group
from .alerting.publishing import Publisher
from .alerting.records import AlertRecords
from .alerting.transition import Transition
from .detectors.base import Ctx, Detector
from .detectors.registry import Rule
from .detectors.threshold import OPS, ThresholdRule
from .detectors.tracks import SiteTracks
from .engineops import EngineOps, EngineState
from .floor.kpis import FloorConfig
from .floor.metrics import Reader, inputs
from .floor.recent import RecentKeys
from .floor.reducer import Floor
from .floor.state import SiteFloor
from .floor.times import epoch, to_datetime
from .floor.touches import Touches
from .lifecycle import FIRING, PENDING, RESOLVED, AlertState, Decision, Key, ThresholdAlert, fingerprint
from .rules.defaults import default_rules
from .rules.ruleset import RuleSet

# rule, inputs changed, skippable when unchanged (kind rules: has an idle test), threshold rules:
# metric reader, op, entry threshold
_TouchEntry = tuple[Rule, bool, bool, Reader | None, Callable[[float, float], bool], float]


def _scope(site: str, kind: str, name: str) -> dict[str, str]:
    return {"site": site} if kind == "site" else {"site": site, kind: name}


class Engine(EngineOps):
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
        self._records = AlertRecords()
        self._publisher = Publisher(rules.inhibit)
        self._groups = Grouper()
        self._dedup = RecentKeys(dedup_capacity)
        self._grid: dict[str, int] = {}
        self._alerts: dict[Key, ThresholdAlert] = {}
        self._pending: dict[str, dict[Key, ThresholdAlert]] = {}
        self._by_fp: dict[str, Key] = {}
        self._dirty: set[str] = set()
        self._stats: dict[str, SiteTracks] = {}
        self._ctx: dict[str, Ctx] = {}
        self._wakes: dict[str, dict[str, float]] = {}  # site -> "rule\0kind\0name" -> event time
        self._heap: dict[str, list[tuple[float, str]]] = {}
        self.lateness = allowed_lateness_s
        self.duplicates = 0
        self._index(rules)

    # -- rules ---------------------------------------------------------------------------------

    def _index(self, rules: RuleSet) -> None:
        self.rules = rules
        self._rules: dict[str, Rule] = {r.name: r for r in rules.rules}
        self._projects = {p.name: p for p in rules.projects}
        plain = [r for r in rules.rules if isinstance(r, ThresholdRule)]
        kinds = [r for r in rules.rules if isinstance(r, Detector)]
        self._by_kind: dict[str, list[Rule]] = {}
        for r in rules.rules:
            self._by_kind.setdefault(r.scope, []).append(r)
        self._per_minute = [r for r in plain if r.timings & {"window", "continuous"}]
        self._rising = [r for r in plain if "rising" in r.timings]
        self._rising_calls = any(r.scope != "agent" for r in self._rising)
        self._rising_agents = any(r.scope == "agent" for r in self._rising)
        self._continuous = [r for r in plain if "continuous" in r.timings]
        self._kind_minute = [r for r in kinds if r.per_minute]
        self._observers = [r for r in kinds if r.observes]
        # (kind, touch mask) -> [(rule, whether what it reads changed)] for the rules of that family
        self._touch_rules: dict[tuple[str, int], list[_TouchEntry]] = {}
        # threshold rules that read only event/window metrics: the touch bits of their inputs
        self._inputs: dict[str, int] = {}
        for r in plain:
            mask = inputs([r.metric, *(g.metric for g in r.when)])
            if mask is not None:
                self._inputs[r.name] = mask
        # alert keys of those rules evaluated since the rules were indexed: with no active alert, their
        # condition was false then, and stays false until an input changes (see _evaluate_touches)
        self._settled: set[Key] = set()
        for site in self._ctx:
            self._ctx[site] = self._new_ctx(site)
        if hasattr(self, "_publisher"):
            self._publisher.inhibition.inhibits = rules.inhibit
            self._publisher.inhibition.index(self._rules, self._alerts)

    def _new_ctx(self, site: str) -> Ctx:
        """The detector context of ``site``, its tracks matching the current rules."""
        s = self._floor.site(site)
        if self._observers and s.handled is None:
            s.handled = []
        stats = self._stats.setdefault(site, SiteTracks())
        keep = {}
        for r in self.rules.rules:
            if isinstance(r, Detector):
                fresh = r.new_track()
                if fresh is not None:
                    old = stats.tracks.get(r.name)
                    keep[r.name] = old if type(old) is type(fresh) else fresh
        stats.tracks = keep
        return Ctx(s, stats.tracks, self._projects)

    def replace_rules(self, rules: RuleSet, *, at: dt.datetime | None = None) -> list[Transition]:
        """Swap the rule set (validated: build it with ``load_rules`` first, which raises on a bad
        file, so a bad file never replaces a good rule set). Alerts whose rule still exists (same
        name, kind and scope kind, scope still matched) keep their state and continue under the
        new parameters; alerts of other rules resolve at ``at`` (default: their site's clock).
        Detector tracks of rules kept by name and kind survive; others start empty."""
        out: list[Transition] = []
        old = self._rules
        self._index(rules)
        for key, m in list(self._alerts.items()):
            st = m.st
            if is_group(old[st.rule], st):
                continue  # regrouped below
            rule = self._rules.get(st.rule)
            same = rule is not None and rule.kind == old[st.rule].kind and rule.scope == st.kind
            if rule is not None and same and rule.matches(st.scope()):
                self._alerts[key] = rule.build(st)
                self._track_deadline(key, self._alerts[key])
                continue
            when = epoch(at) if at is not None else float(self._grid.get(st.site, st.updated_at))
            when = max(when, st.last_eval)
            # pending was published too: screens must drop it
            self._forget(key, st)
            d = Decision(RESOLVED, st.state, when, st.value)
            self._publisher.publish(
                self._records, old, self._alerts, key, old[st.rule], st, d, self._tz(st.site), out
            )
        clock = {site: epoch(at) if at is not None else float(g) for site, g in self._grid.items()}
        tz = {site: s.tz for site, s in self._floor.sites.items()}
        self._groups.regroup(
            self._publisher, self._records, old, self._rules, self._alerts, self._by_fp, clock, tz, out
        )
        self._publisher.inhibition.index(self._rules, self._alerts)
        return self._done(out)

    # -- events and time -----------------------------------------------------------------------

    def on_event(self, ev: Event) -> list[Transition]:
        """Apply one event; return the transitions it caused (see the module docstring)."""
        if not self._dedup.add(f"{ev.source}\x00{ev.id}"):
            self.duplicates += 1
            return []
        t = epoch(ev.ts)
        out: list[Transition] = []
        site = ev.site
        g = self._grid.get(site)
        if g is not None:
            if t >= g + 1:  # else no grid point is due (the next one is after g)
                self._run_grid(site, t, out)
        else:
            self._grid[site] = math.floor(t)
            self._pending[site] = {}
            self._ctx[site] = self._new_ctx(site)
        touches = self._floor.apply(ev, t)
        if self._observers:
            ctx = self._ctx[site]
            handled = ctx.floor.handled or []
            for rule in self._observers:
                rule.observe(ctx, ev, t, handled, touches)
            handled.clear()
        if touches:
            self._dirty.add(site)
            self._evaluate_touches(self._floor.sites[site], touches, t, out)
        return self._done(out) if self._publisher.inhibition.dirty else out

    def advance(self, now: dt.datetime) -> list[Transition]:
        """Evaluate time-based conditions of every site up to ``now - allowed_lateness``."""
        out: list[Transition] = []
        upto = epoch(now) - self.lateness
        for site in self._grid:
            self._run_grid(site, upto, out)
        return self._done(out)

    def next_deadline(self) -> dt.datetime | None:
        """Earliest ``now`` at which :meth:`advance` has something to evaluate (UTC), or None."""
        best = min((self._next_point(site, g) for site, g in self._grid.items()), default=None)
        return None if best is None else to_datetime(best + self.lateness)

    def _run_grid(self, site: str, upto: float, out: list[Transition]) -> None:
        limit = math.floor(upto)
        g = self._grid[site]
        if limit <= g:
            return  # the next grid point is always after g
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
        nxt = g + 1 if self._needs_second(s) else (g // 60 + 1) * 60
        heap = self._heap.get(site)
        if heap:
            nxt = min(nxt, max(g + 1, math.ceil(heap[0][0])))
        due = self._publisher.escalation.next_due(site)
        if due is not None:
            nxt = min(nxt, max(g + 1, math.ceil(due)))
        return nxt

    def _grid_point(self, site: str, g: int, out: list[Transition]) -> None:
        s = self._floor.sites[site]
        now = float(g)
        self._publisher.escalate(self._records, self._rules, self._alerts, site, now, s.tz, out)
        if g % 60 == 0:
            touches = self._floor.expire(site, now)
            if touches:
                self._dirty.add(site)
                self._evaluate_touches(s, touches, now, out)
            for rule in self._per_minute:
                self._evaluate_each(s, rule, self._names(s, rule.scope), now, out)
            for kind_rule in self._kind_minute:
                if g % kind_rule.period_s:
                    continue
                for name in kind_rule.names(self._ctx[site]):
                    self._evaluate(s, kind_rule, kind_rule.scope, name, now, out)
        self._run_wakes(s, now, out)
        for rule in self._rising:
            names: Iterable[str] = self._names(s, rule.scope)
            if rule.scope == "queue":
                names = [n for n in names if s.queues[n].waiting]
            elif rule.scope == "site" and not s.waiting_in:
                names = ()
            self._evaluate_each(s, rule, names, now, out)
        for rule in self._continuous:
            self._evaluate_each(s, rule, self._names(s, rule.scope), now, out)
        # in deadline order, not insertion order: a restore rebuilds _pending in another order
        due = sorted(
            (deadline, key)
            for key, m in self._pending[site].items()
            if (deadline := m.next_deadline()) is not None and deadline <= now
        )
        for _, key in due:
            if key in self._pending[site]:
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

    def _arm(self, site: str, rule: Detector, name: str, at: float | None) -> None:
        """Ask for an evaluation of ``rule`` for ``name`` at event time ``at`` (None: no need)."""
        if at is None:
            return
        wakes = self._wakes.setdefault(site, {})
        wkey = f"{rule.name}\x00{name}"
        if wakes.get(wkey) == at:
            return
        wakes[wkey] = at
        heapq.heappush(self._heap.setdefault(site, []), (at, wkey))

    def _run_wakes(self, s: SiteFloor, now: float, out: list[Transition]) -> None:
        heap = self._heap.get(s.site)
        wakes = self._wakes.get(s.site)
        while heap and wakes is not None and heap[0][0] <= now:
            at, wkey = heapq.heappop(heap)
            if wakes.get(wkey) != at:
                continue  # superseded by a later arming
            del wakes[wkey]
            rule_name, name = wkey.split("\x00", 1)
            rule = self._rules.get(rule_name)
            if isinstance(rule, Detector):
                self._evaluate(s, rule, rule.scope, name, now, out)

    # -- evaluation ----------------------------------------------------------------------------

    def _evaluate_touches(self, s: SiteFloor, touches: Touches, now: float, out: list[Transition]) -> None:
        # Scopes with an alert are always evaluated. Without one, a threshold rule is skipped when
        # its evaluation would be a no-op: it was evaluated before (condition false) and none of its
        # inputs changed since — they read the same (window metrics: the grid re-evaluates them at
        # every minute) — or its metric fails the entry threshold now (see _evaluate_each).
        site, alerts, settled = s.site, self._alerts, self._settled
        for (kind, name), mask in touches.items():
            rules = self._touch_rules.get((kind, mask))
            if rules is None:
                rules = self._touch_rules[kind, mask] = [
                    self._touch_entry(r, kind, mask) for r in self._by_kind.get(kind, ()) if r.family & mask
                ]
            for rule, changed, skippable, read, op, entry in rules:
                if read is not None:
                    key = (site, rule.name, kind, name)
                    if key not in alerts:
                        if not changed and key in settled:
                            continue
                        value, _sample = read(s, name, now)
                        if value is None or not op(value, entry):
                            if skippable:
                                settled.add(key)
                            continue
                elif skippable:  # a kind with an idle test
                    assert isinstance(rule, Detector)
                    if (site, rule.name, kind, name) not in alerts and rule.idle(self._ctx[site], name):
                        continue
                self._evaluate(s, rule, kind, name, now, out)

    def _touch_entry(self, r: Rule, kind: str, mask: int) -> _TouchEntry:
        if not isinstance(r, ThresholdRule):  # kind rules: skippable = has an idle test
            return r, True, type(r).idle is not Detector.idle, None, OPS[">"], 0.0
        inputs = self._inputs.get(r.name)
        return (
            r,
            inputs is None or bool(inputs & mask),
            inputs is not None,
            r.readers[kind][0],
            OPS[r.op],
            r.value,
        )

    def _evaluate_each(
        self, s: SiteFloor, rule: ThresholdRule, names: Iterable[str], now: float, out: list[Transition]
    ) -> None:
        """``_evaluate`` of ``rule`` for every scope in ``names``, skipping the scopes with no alert
        whose metric fails the entry threshold: there the condition is false (the sample and guards
        can only make it false too), so the evaluation would be a no-op. Grid points evaluate time-
        dependent rules of every scope every second: most of them are such no-ops."""
        kind, site, alerts = rule.scope, s.site, self._alerts
        read, _ = rule.readers[kind]
        op, entry = OPS[rule.op], rule.value
        settled = self._settled if rule.name in self._inputs else None
        for name in names:
            key = (site, rule.name, kind, name)
            if key not in alerts:
                value, _sample = read(s, name, now)
                if value is None or not op(value, entry):
                    if settled is not None:
                        settled.add(key)
                    continue
            self._evaluate(s, rule, kind, name, now, out)

    def _evaluate(
        self, s: SiteFloor, rule: Rule, kind: str, name: str, now: float, out: list[Transition]
    ) -> None:
        key = (s.site, rule.name, kind, name)
        m = self._alerts.get(key)
        if rule.name in self._inputs:
            self._settled.add(key)
        if rule.matchers and not rule.matches(_scope(s.site, kind, name)):
            return
        firing = m is not None and m.firing
        if isinstance(rule, ThresholdRule):
            cond, value = rule.check(s, kind, name, now, firing)
        else:
            ctx = self._ctx[s.site]
            a = rule.assess(ctx, name, now, firing)
            cond, value = a.cond, a.value
            if rule.wakes:
                self._arm(s.site, rule, name, rule.wake(ctx, name, now))
        if m is None:
            if not cond:
                return
            fp = fingerprint(rule.name, _scope(s.site, kind, name))
            m = rule.build(AlertState(fingerprint=fp, rule=rule.name, site=s.site, kind=kind, name=name))
        d = m.observe(cond, value, now)
        if d is None:
            if firing:  # a resolve hold may have begun or ended (lifecycle.py)
                self._track_deadline(key, m)
            return
        if isinstance(rule, Detector):
            ex = rule.explain(ctx, name, now, a, d.state)
            m.st.summary, m.st.details, m.st.threshold = ex.summary, ex.details, a.threshold
        elif d.state == RESOLVED:
            m.st.details = rule.cleared(s, kind, name, now, fired=d.previous == FIRING)
        if d.state in (PENDING, FIRING):
            self._alerts[key] = m
            self._by_fp[m.st.fingerprint] = key
            self._track_deadline(key, m)
        else:
            self._forget(key, m.st)
        if rule.group is None:
            self._publisher.publish(self._records, self._rules, self._alerts, key, rule, m.st, d, s.tz, out)
        else:
            self._groups.publish(
                self._publisher,
                self._records,
                self._rules,
                self._alerts,
                self._by_fp,
                key,
                rule,
                m.st,
                d,
                s,
                out,
            )

    def _tz(self, site: str) -> int:
        return self._floor.sites[site].tz

    def _done(self, out: list[Transition]) -> list[Transition]:
        """``out`` plus the records of alerts whose inhibition began or ended meanwhile."""
        tz = {site: s.tz for site, s in self._floor.sites.items()}
        out += self._publisher.recheck(self._records, self._rules, self._alerts, tz)
        return out

    def _track_deadline(self, key: Key, m: ThresholdAlert) -> None:
        """Keep ``_pending`` = the machines with a deadline (``for`` or a resolve hold)."""
        if m.next_deadline() is None:
            self._pending[key[0]].pop(key, None)
        else:
            self._pending[key[0]][key] = m

    def _forget(self, key: Key, st: AlertState) -> None:
        self._alerts.pop(key, None)
        self._pending[st.site].pop(key, None)
        self._by_fp.pop(st.fingerprint, None)

    # -- persistence ---------------------------------------------------------------------------

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
        eng._floor, eng._records, eng._dedup = state.floor, state.book, state.dedup
        eng._grid, eng.duplicates = state.grid, state.duplicates
        eng._pending = {site: {} for site in state.grid}
        eng._stats, eng._wakes = state.stats, state.wakes
        eng._heap = {site: sorted((at, k) for k, at in w.items()) for site, w in state.wakes.items()}
        eng._ctx = {site: eng._new_ctx(site) for site in state.grid}
        for st in state.alerts:
            rule = eng._rules.get(st.rule)
            if rule is None or (rule.scope != st.kind and not is_group(rule, st)):
                continue
            key = (st.site, st.rule, st.kind, st.name)
            eng._by_fp[st.fingerprint] = key
            if is_group(rule, st):  # as alerting/grouping.py builds it: no `for`, no hold of the agent rule
                eng._alerts[key] = group_machine(st)
                continue
            m = eng._alerts[key] = rule.build(st)
            eng._track_deadline(key, m)
        eng._groups = Grouper(state.groups)
        eng._groups.index(eng._rules, eng._alerts)
        eng._publisher.rebuild(eng._rules, eng._alerts)
        eng._publisher.tz = {site: s.tz for site, s in eng._floor.sites.items()}
        return eng
