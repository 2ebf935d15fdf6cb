"""The floor engine: live floor state + rules + alert lifecycle, the one object the shell drives.

Call order (single owner, no threads):

* ``on_event(ev)`` for every canonical event. Duplicates by ``(source, id)`` (bounded memory,
  ``dedup_capacity``) are ignored and counted in ``duplicates``. Otherwise the event's site clock
  first runs its grid up to ``ev.ts`` (see below), then the event is applied and the rules that
  read what it changed are evaluated at ``ev.ts``.
* ``advance(now)`` (live only; replay never calls it) runs every site's grid up to
  ``now - allowed_lateness``: time-based conditions — waits growing, ``for`` durations, window
  minutes sliding — are evaluated on a fixed 1-second grid aligned to whole epoch seconds.
  ``advance({site: now, ...})`` runs each listed site up to its own ``now``: the live shell keeps
  one event clock per site, so one site's clock never holds back or pushes another's.
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

Horizon: a site's grid that must move more than ``horizon_s`` at once (a clock jump, a gap in
the feed) lands on the last whole minute before the target and steps the rest; conditions whose
time ran out in the gap take effect at the landing point. So one call evaluates at most
``horizon_s`` grid points per site, whatever the jump (counted in ``jumps``).

Bounded work: the engine refuses (:class:`EventRefused`, nothing changed) an event dated before
1980 or from 2100 on, the first event of one site more than ``max_sites``, and an event that
would take its site past ``MAX_QUEUES`` queues, ``MAX_TEAMS`` teams or ``MAX_AGENTS`` agents
(``_check_names``): names come from events, and every grid second goes over a site's queues
(docs/architecture.md, *Clocks and bounded work*).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
from collections.abc import Iterable, Mapping
from typing import Any, Final

from shared.events import AgentLogin, CallTransferred, Event

from ..alerting.actions import acknowledge, covered_by
from ..alerting.grouping import Grouper, is_group
from ..alerting.labels import alert_labels
from ..alerting.publishing import Publisher
from ..alerting.records import AlertRecords
from ..alerting.silences import Silence
from ..alerting.transition import Transition
from ..detectors.base import Ctx, Detector
from ..detectors.progress_lag import ProgressLagRule
from ..detectors.registry import Rule
from ..detectors.threshold import OPS, ThresholdRule
from ..detectors.tracks import SiteTracks
from ..floor.kpis import FloorConfig
from ..floor.ledger import rows as ledger_rows
from ..floor.recent import RecentKeys
from ..floor.reducer import Floor
from ..floor.site_view import floor_snapshot
from ..floor.state import SiteFloor
from ..floor.times import epoch, to_datetime
from ..floor.touches import Touches
from ..lifecycle import FIRING, PENDING, RESOLVED, AlertState, Decision, Key, ThresholdAlert, fingerprint
from ..rules.defaults import default_rules
from ..rules.ruleset import RuleSet
from .persistence import EngineState, decode, encode, machines
from .plan import Plan
from .wakes import Wakes

# the same range as ingest's (services/ingest/core.py), which sends events outside it to the DLQ;
# it reaches back to 1980 because real ACD exports do (the Anonymous Bank files are from 1999), and
# still refuses a zero or missing timestamp read as 1970
EARLIEST_TS: Final = 315_532_800.0  # 1980-01-01T00:00:00Z
LATEST_TS: Final = 4_102_444_800.0  # 2100-01-01T00:00:00Z (excluded)


# Names one site may have in the engine (``Engine._check_names``); an event past them is refused.
MAX_QUEUES: Final = 2_000
MAX_TEAMS: Final = 2_000
MAX_AGENTS: Final = 50_000

class EventRefused(ValueError):
    """An event the engine will not apply (see *Bounded work* in the module docstring); the
    engine's state is unchanged."""


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
        horizon_s: int = 3600,
        max_sites: int = 10_000,
    ) -> None:
        if allowed_lateness_s < 0:
            raise ValueError("allowed_lateness_s must be >= 0")
        if horizon_s < 60:
            raise ValueError("horizon_s must be >= 60")
        if max_sites < 1:
            raise ValueError("max_sites must be >= 1")
        if rules is None:
            rules = default_rules()
        self._floor = Floor(config=config or FloorConfig(definitions=rules.definitions))
        self._records = AlertRecords()
        self._publisher = Publisher(rules.inhibit)
        self._groups = Grouper()
        self._dedup = RecentKeys(dedup_capacity)
        self._grid: dict[str, int] = {}
        self._alerts: dict[Key, ThresholdAlert] = {}
        self._pending: dict[str, dict[Key, ThresholdAlert]] = {}
        self._by_fp: dict[str, Key] = {}
        self._dirty: set[str] = set()
        self._tracks: dict[str, SiteTracks] = {}  # site -> the detectors' tracks
        self._ctx: dict[str, Ctx] = {}
        self._wakes = Wakes()
        self.lateness = allowed_lateness_s
        self.horizon = int(horizon_s)
        self.max_sites = max_sites
        # names per site (_check_names): configuration, not in the snapshot
        self.max_queues, self.max_teams, self.max_agents = MAX_QUEUES, MAX_TEAMS, MAX_AGENTS
        self.duplicates = 0
        self.jumps = 0  # grid moves beyond the horizon (landed instead of stepped)
        self._index(rules)

    # -- rules ---------------------------------------------------------------------------------

    def _index(self, rules: RuleSet) -> None:
        self.rules = rules
        self._plan = Plan(rules)
        self._rules = self._plan.rules
        self._projects = self._plan.projects
        # alert keys of the rules with inputs (plan.inputs) evaluated since the rules were indexed:
        # with no active alert, their condition was false then, and stays false until an input
        # changes (see _evaluate_touches)
        self._settled: set[Key] = set()
        for site in self._ctx:
            self._ctx[site] = self._new_ctx(site)
        self._publisher.inhibition.inhibits = rules.inhibit
        self._publisher.inhibition.index(self._rules, self._alerts)

    def _new_ctx(self, site: str) -> Ctx:
        """The detector context of ``site``, its tracks matching the current rules."""
        s = self._floor.site(site)
        if self._plan.observers and s.handled is None:
            s.handled = []
        tracks = self._tracks.setdefault(site, SiteTracks())
        keep = {}
        for r in self.rules.rules:
            if isinstance(r, Detector):
                fresh = r.new_track()
                if fresh is not None:
                    old = tracks.tracks.get(r.name)
                    keep[r.name] = old if type(old) is type(fresh) else fresh
        tracks.tracks = keep
        return Ctx(s, tracks.tracks, self._projects)

    def _use_definitions(self, rules: RuleSet) -> None:
        """A rule set that carries definitions sets the floor's (from the next fact on)."""
        cfg = self._floor.config
        if rules.definitions is not None and rules.definitions != cfg.definitions:
            self._floor.config = dataclasses.replace(cfg, definitions=rules.definitions)

    def replace_rules(self, rules: RuleSet, *, at: dt.datetime | None = None) -> list[Transition]:
        """Swap the rule set (validated: build it with ``load_rules`` first, which raises on a bad
        file, so a bad file never replaces a good rule set). Alerts whose rule still exists (same
        name, kind and scope kind, scope still matched) keep their state and continue under the
        new parameters; alerts of other rules resolve at ``at`` (default: their site's clock).
        Detector tracks of rules kept by name and kind survive; others start empty."""
        out: list[Transition] = []
        old = self._rules
        self._use_definitions(rules)
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
        t = epoch(ev.ts)
        site = ev.site
        g = self._grid.get(site)
        if not EARLIEST_TS <= t < LATEST_TS:
            raise EventRefused(f"event time {ev.ts.isoformat()} is outside 1980-01-01 .. 2100-01-01")
        if g is None and len(self._grid) >= self.max_sites:
            raise EventRefused(f"site {site!r} would exceed the engine's limit of {self.max_sites} sites")
        self._check_names(site, ev)
        if not self._dedup.add(f"{ev.source}\x00{ev.id}"):
            self.duplicates += 1
            return []
        out: list[Transition] = []
        if g is not None:
            if t >= g + 1:  # else no grid point is due (the next one is after g)
                self._run_grid(site, t, out)
        else:
            self._grid[site] = math.floor(t)
            self._pending[site] = {}
            self._ctx[site] = self._new_ctx(site)
        touches = self._floor.apply(ev, t)
        observers = self._plan.observers
        if observers:
            ctx = self._ctx[site]
            handled = ctx.floor.handled or []
            for rule in observers:
                rule.observe(ctx, ev, t, handled, touches)
            handled.clear()
        if touches:
            self._dirty.add(site)
            self._evaluate_touches(self._floor.sites[site], touches, t, out)
        return self._done(out) if self._publisher.inhibition.dirty else out

    def _check_names(self, site: str, ev: Event) -> None:
        """Refuse an event that would take its site past ``max_queues``, ``max_teams`` or
        ``max_agents`` names: they come from events, anyone's text, and a flood of made-up ones
        would grow the floor, and the work of every grid second over its queues, without bound
        (20,000 made-up queues took 9 s to apply, 100,000 did not finish in 10 minutes). A real
        floor is far below the limits (docs/architecture.md, *Clocks and bounded work*)."""
        sf = self._floor.sites.get(site)
        if sf is None:
            queues: Mapping[str, Any] = {}
            agents: Mapping[str, Any] = {}
            teams: Mapping[str, Any] = {}
        else:
            queues, agents, teams = sf.queues, sf.agents, sf.teams
        new_queues = new_agents = 0
        queue = getattr(ev, "queue", None)
        if queue is not None and queue not in queues:
            new_queues = 1
        agent = getattr(ev, "agent", None)
        if agent is not None and agent not in agents:
            new_agents = 1
        if type(ev) is AgentLogin:
            if ev.queues:
                new_queues = len({q for q in ev.queues if q not in queues})
            if ev.team is not None and ev.team not in teams and len(teams) >= self.max_teams:
                raise EventRefused(f"team {ev.team!r} would take site {site!r} past the engine's "
                                   f"limit of {self.max_teams} teams")
        elif type(ev) is CallTransferred:
            if ev.to_queue is not None and ev.to_queue not in queues:
                new_queues = 1
            if ev.to_agent is not None and ev.to_agent not in agents:
                new_agents += 1
        if new_queues and len(queues) + new_queues > self.max_queues:
            raise EventRefused(f"{new_queues} new queue(s) would take site {site!r} past the engine's "
                               f"limit of {self.max_queues} queues")
        if new_agents and len(agents) + new_agents > self.max_agents:
            raise EventRefused(f"{new_agents} new agent(s) would take site {site!r} past the engine's "
                               f"limit of {self.max_agents} agents")

    def advance(self, now: dt.datetime | Mapping[str, dt.datetime]) -> list[Transition]:
        """Evaluate time-based conditions up to ``now - allowed_lateness``: of every site, or, given
        a mapping ``{site: now}``, of each site listed up to its own ``now`` (unknown sites: nothing)."""
        out: list[Transition] = []
        if isinstance(now, Mapping):
            for site, site_now in now.items():
                if site in self._grid:
                    self._run_grid(site, epoch(site_now) - self.lateness, out)
        else:
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
        if limit - g > self.horizon:  # land instead of stepping (module docstring, *Horizon*)
            g = limit - limit % 60  # > g: the horizon is at least a minute
            self.jumps += 1
            self._grid_point(site, g, out)
            self._grid[site] = g
        while (nxt := self._next_point(site, g)) <= limit:
            self._grid_point(site, nxt, out)
            g = self._grid[site] = nxt
        if limit > g:
            self._grid[site] = limit

    def _needs_second(self, s: SiteFloor) -> bool:
        if self._pending[s.site]:
            return True
        plan = self._plan
        if (plan.rising_calls and s.waiting_in) or (plan.rising_agents and s.agents):
            return True
        return bool(plan.continuous) and s.total.logged_in > 0

    def _next_point(self, site: str, g: int) -> int:
        s = self._floor.sites[site]
        nxt = g + 1 if self._needs_second(s) else (g // 60 + 1) * 60
        wake = self._wakes.first(site)
        if wake is not None:
            nxt = min(nxt, max(g + 1, math.ceil(wake)))
        due = self._publisher.escalation.next_due(site)
        if due is not None:
            nxt = min(nxt, max(g + 1, math.ceil(due)))
        return nxt

    def _grid_point(self, site: str, g: int, out: list[Transition]) -> None:
        s = self._floor.sites[site]
        now = float(g)
        plan = self._plan
        self._publisher.escalate(self._records, self._rules, self._alerts, site, now, s.tz, out)
        if g % 60 == 0:
            touches = self._floor.expire(site, now)
            if touches:
                self._dirty.add(site)
                self._evaluate_touches(s, touches, now, out)
            for rule in plan.per_minute:
                self._evaluate_each(s, rule, self._names(s, rule.scope), now, out)
            for kind_rule in plan.detectors_per_minute:
                if g % kind_rule.period_s:
                    continue
                for name in kind_rule.names(self._ctx[site]):
                    self._evaluate(s, kind_rule, kind_rule.scope, name, now, out)
        self._run_wakes(s, now, out)
        for rule in plan.rising:
            names: Iterable[str] = self._names(s, rule.scope)
            if rule.scope == "queue":
                names = [n for n in names if s.queues[n].waiting]
            elif rule.scope == "site" and not s.waiting_in:
                names = ()
            self._evaluate_each(s, rule, names, now, out)
        for rule in plan.continuous:
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

    def _run_wakes(self, s: SiteFloor, now: float, out: list[Transition]) -> None:
        for rule_name, name in self._wakes.due(s.site, now):
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
        touch_rules = self._plan.touch_rules
        for (kind, name), mask in touches.items():
            rules = touch_rules.get((kind, mask))
            if rules is None:
                rules = self._plan.touched(kind, mask)
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
        settled = self._settled if rule.name in self._plan.inputs else None
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
        if rule.name in self._plan.inputs:
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
                self._wakes.arm(s.site, rule.name, name, rule.wake(ctx, name, now))
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
            m.st.message = ex.message
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

    # -- reads and operator actions ------------------------------------------------------------

    def pop_dirty_sites(self) -> set[str]:
        """Sites whose floor changed since the previous call."""
        dirty, self._dirty = self._dirty, set()
        return dirty

    def sites(self) -> list[str]:
        return list(self._floor.sites)

    def site_time(self, site: str) -> float | None:
        """The event time (epoch seconds) ``site`` has reached: its latest event or the grid point
        its clock last ran to, whichever is later; None for an unknown site. Where a new owner of
        the site resumes its clock after a handover."""
        g = self._grid.get(site)
        return None if g is None else max(float(g), self._floor.sites[site].latest)

    def floor_snapshot(self, site: str, now: dt.datetime | None = None) -> dict[str, Any]:
        """``FloorSnapshot`` of ``site`` at ``now`` (default: the site's latest event time)."""
        s = self._floor.peek(site)
        t = s.latest if now is None else epoch(now)
        snap = floor_snapshot(s, self._floor.config, t)
        snap["projects"] = self.project_progress(site, t)
        return snap

    def figures(self, by: str = "day", sites: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Day (``by="day"``) or interval (``"interval"``) figures of the floor's ledger: one row
        per site, queue (``None`` = the site total) and day or interval, with the definitions in
        force (``floor/ledger.py``; what ``floorwatch stats`` prints)."""
        out: list[dict[str, Any]] = []
        defs = self._floor.config.defs
        for name in sorted(self._floor.sites if sites is None else sites):
            s = self._floor.sites.get(name)
            if s is None:
                continue
            out += ledger_rows(name, s.ledger, functools.partial(defs.for_queue, name), s.tz, by)
        return out

    def project_progress(self, site: str, now: float) -> list[dict[str, Any]]:
        """The site's projects against plan at epoch ``now`` (``floor/project_view.py``); the successes
        are those the first ``progress_lag`` rule counts (rules files with projects get one)."""
        ctx = self._ctx.get(site)
        rule = next((r for r in self._rules.values() if isinstance(r, ProgressLagRule)), None)
        return [] if ctx is None or rule is None else rule.progress(ctx, now)

    @property
    def floor(self) -> Floor:
        """The live floor state (read-only by contract)."""
        return self._floor

    def active_alerts(self) -> list[dict[str, Any]]:
        """Wire dicts of pending and firing alerts, in order of first activation."""
        return [
            self._records.current(self._rules[m.st.rule], m.st, self._floor.sites[m.st.site].tz).to_wire()
            for m in self._alerts.values()
        ]

    def ack(self, fingerprint: str, *, by: str, at: dt.datetime, note: str = "") -> list[Transition]:
        """Acknowledge an active alert: its record, then for a group alert one per member grouped
        into it and not acknowledged yet (``alerting/actions.py``); empty when no such alert is active."""
        key = self._by_fp.get(fingerprint)
        if key is None:
            return []
        tz = self._floor.sites[self._alerts[key].st.site].tz
        return acknowledge(
            self._records, self._rules, self._alerts, self._groups, key, by=by, at=epoch(at), note=note, tz=tz
        )

    def silence(
        self,
        matchers: Mapping[str, str],
        *,
        until: dt.datetime,
        at: dt.datetime,
        by: str = "",
        comment: str = "",
        silence_id: str | None = None,
    ) -> list[Transition]:
        """Silence alerts whose labels match until ``until``; one record per active alert it covers.
        Later transitions of matching alerts carry ``silenced_until`` while the silence lasts."""
        sil = self._records.silence(
            matchers, until=epoch(until), at=epoch(at), by=by, comment=comment, silence_id=silence_id
        )
        return self._covered_by(sil, at)

    def unsilence(self, silence_id: str, *, at: dt.datetime) -> list[Transition]:
        """End a silence early; one record per active alert it covered (now without it)."""
        sil = self._records.unsilence(silence_id)
        return [] if sil is None else self._covered_by(sil, at)

    def _covered_by(self, sil: Silence, at: dt.datetime) -> list[Transition]:
        tz = {site: s.tz for site, s in self._floor.sites.items()}
        return covered_by(self._records, self._rules, self._alerts, sil, epoch(at), tz)

    def alert_labels(self, fingerprint: str) -> dict[str, str] | None:
        """Labels of an active alert (what silences match), or None."""
        key = self._by_fp.get(fingerprint)
        if key is None:
            return None
        st = self._alerts[key].st
        return alert_labels(self._rules[st.rule], st)

    # -- persistence ---------------------------------------------------------------------------

    def snapshot(self) -> bytes:
        """All state as JSON bytes; ``Engine.restore(data, rules)`` continues exactly from here."""
        state = EngineState(
            floor=self._floor,
            alerts=[m.st for m in self._alerts.values()],
            book=self._records,
            dedup=self._dedup,
            grid=self._grid,
            duplicates=self.duplicates,
            lateness=self.lateness,
            stats=self._tracks,
            wakes=self._wakes.at,
            groups=self._groups.state(),
        )
        return encode(state)

    @classmethod
    def restore(
        cls, data: bytes, rules: RuleSet, *, horizon_s: int = 3600, max_sites: int = 10_000
    ) -> Engine:
        """Rebuild an engine from :meth:`snapshot` bytes. Alerts whose rule is not in ``rules``
        are dropped without a record — restore with the old rules, then ``replace_rules``. The
        limits are configuration, like the rules: not in the snapshot."""
        state = decode(data)
        eng = cls(
            rules,
            config=state.floor.config,
            allowed_lateness_s=state.lateness,
            dedup_capacity=state.dedup.capacity,
            horizon_s=horizon_s,
            max_sites=max_sites,
        )
        eng._floor, eng._records, eng._dedup = state.floor, state.book, state.dedup
        eng._use_definitions(rules)
        eng._grid, eng.duplicates = state.grid, state.duplicates
        eng._pending = {site: {} for site in state.grid}
        eng._tracks, eng._wakes = state.stats, Wakes(state.wakes)
        eng._ctx = {site: eng._new_ctx(site) for site in state.grid}
        for key, m, group in machines(state.alerts, eng._rules):
            eng._by_fp[m.st.fingerprint] = key
            eng._alerts[key] = m
            if not group:  # a group alert fires and resolves with its members: no deadline
                eng._track_deadline(key, m)
        eng._groups = Grouper(state.groups)
        eng._groups.index(eng._rules, eng._alerts)
        eng._publisher.rebuild(eng._rules, eng._alerts)
        eng._publisher.tz = {site: s.tz for site, s in eng._floor.sites.items()}
        return eng
