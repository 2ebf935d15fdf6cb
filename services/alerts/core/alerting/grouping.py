"""Grouping: many alerts of one agent rule on one team become one team alert.

A rule of scope ``agent`` may carry ``group: {by: team, min: 3}`` (a :class:`Grouping`). When a
whole team goes to lunch together, or a system problem parks ten agents in not-ready, a
supervisor then sees one alert for the team instead of ten — Alertmanager's ``group_by``, decided
in the core so that every screen and the history agree.

**Members.** An active (pending or firing) alert of the rule is a member of the group
``(site, rule, team)`` of its agent's team as the floor knew it when the alert became active (kept
for the episode: a re-login into another team does not move it). Agents without a team are not
grouped ``by: team``; ``by: site`` groups every agent of the site.

**The group alert** has its own fingerprint (the rule's name and the scope ``{site, team}``, or
``{site}``) and lifecycle, with no pending: it fires as soon as ``min`` members are firing, stays
firing while at least ``clear`` are (default ``min - 1``: one agent coming back and another
leaving does not make it flap), and resolves below that. ``value`` = firing members,
``threshold`` = ``min``; ``details.members`` lists the members (agent, fingerprint, state, value,
since, summary; at most :data:`MEMBERS_LISTED`, the longest active first, ``details.members_more``
counting the others), ``details.group`` the configuration. While it fires, every membership change
(join, leave, pending -> firing) gives it one state-unchanged record with the new count.

**Marks.** While the group fires, each member carries ``grouped_into`` = the group's
fingerprint: members are still evaluated and published (history and the expanded view need them),
but screens fold them under the group. Members already on screens get one state-unchanged record
when they are folded and one when the group resolves and they stand alone again; a member's own
records carry the mark from the start. Records of the group come before those of its members.

**Operator actions** (``actions.py``): acknowledging a group acknowledges the
members grouped into it at that moment (one record each; a member joining later is not
acknowledged). A silence covering the group covers its members while they are grouped.

Call order (the engine owns it): ``publish(...)`` instead of ``Publisher.publish`` for every decision
of a rule with a group; ``regroup(...)`` after a rules swap; ``index(...)`` after a restore;
``state()`` to persist. Pure: decisions go out as transitions, like ``publishing.py``.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, MutableMapping
from typing import Any

from ..detectors.options import Grouping
from ..detectors.registry import Rule
from ..floor.state import SiteFloor
from ..floor.times import rfc3339
from ..lifecycle import FIRING, PENDING, RESOLVED, AlertState, Decision, Key, ThresholdAlert, fingerprint
from .publishing import Publisher
from .records import AlertRecords, describe, message_of

MEMBERS_LISTED = 50
"""``details.members`` of a group alert lists at most this many members (the longest active
first: by ``since``, then agent), and ``details.members_more`` counts the others: a record of a
team of thousands stays a few tens of KiB instead of passing the producer's record limit."""


def group_machine(st: AlertState) -> ThresholdAlert:
    """The state machine of a group alert: it fires and resolves with its member count, without
    the agent rule's ``for`` or resolve hold (a restored one is rebuilt the same way)."""
    st.clear_since = None
    return ThresholdAlert(0.0, st)


def is_group(rule: Rule, st: AlertState) -> bool:
    """Whether ``st`` is a group alert of ``rule`` (as configured now)."""
    return rule.group is not None and rule.group.by == st.kind and rule.scope != st.kind


class Grouper:
    """The grouping stage; see the module docstring for the call order."""

    def __init__(self, teams: dict[str, str] | None = None) -> None:
        # member fingerprint -> its agent's team when it became active ("" none); persisted
        self.teams: dict[str, str] = teams if teams is not None else {}
        self.members: dict[Key, dict[Key, None]] = {}  # group key -> member keys (derived)
        # derived too, kept with every member decision so that a step costs O(log n), not O(n):
        self.firing: dict[Key, set[Key]] = {}  # group key -> its firing members
        self.order: dict[Key, list[tuple[float, str, Key]]] = {}  # group key -> (since, agent, key) sorted
        self.entry: dict[Key, tuple[float, str, Key]] = {}  # member key -> its entry in `order`
        self.loose: set[Key] = set()  # groups whose members' marks must all be checked (after index)

    def state(self) -> dict[str, str]:
        """What to persist (the rest is rebuilt from the alerts)."""
        return self.teams

    def _group_key(self, rule: Rule, st: AlertState) -> Key | None:
        spec, team = rule.group, self.teams.get(st.fingerprint)
        if spec is None or team is None or st.kind != rule.scope:
            return None
        if spec.by == "site":
            return (st.site, st.rule, "site", st.site)
        return (st.site, st.rule, "team", team) if team else None

    def members_of(self, group_fp: str, alerts: Mapping[Key, Any]) -> list[AlertState]:
        """Active alerts grouped into the group alert ``group_fp``, by agent name."""
        return [
            m.st
            for key in sorted(k for keys in self.members.values() for k in keys)
            if (m := alerts.get(key)) is not None and m.st.grouped_into == group_fp
        ]

    def publish(
        self,
        publisher: Publisher,
        book: AlertRecords,
        rules: Mapping[str, Rule],
        alerts: MutableMapping[Key, ThresholdAlert],
        by_fp: MutableMapping[str, Key],
        key: Key,
        rule: Rule,
        st: AlertState,
        d: Decision,
        s: SiteFloor,
        out: list[Any],
    ) -> None:
        """Like ``Publisher.publish`` for a member's decision ``d``: its group's records first."""
        if d.state in (PENDING, FIRING) and st.fingerprint not in self.teams:
            agent = s.agents.get(st.name)
            self.teams[st.fingerprint] = (agent.team or "") if agent is not None else ""
        gk = self._group_key(rule, st)
        if d.state == RESOLVED:
            self.teams.pop(st.fingerprint, None)
            if gk is not None and gk in self.members:
                self.members[gk].pop(key, None)
                self._leave(gk, key)
        elif gk is not None:
            self.members.setdefault(gk, {})[key] = None
            self._join(gk, key, st)
        if gk is not None:
            # a recheck the group's record causes must look at this member too: it is active
            # already, but its own record (which looks up its inhibitor) follows
            extra = publisher.inhibition.extra
            extra.add(key)
            self._settle(publisher, book, rule, rules, alerts, by_fp, gk, d.at, s.tz, out, skip=key)
            extra.discard(key)
            if not self.members.get(gk):
                self.members.pop(gk, None)
                self.firing.pop(gk, None)
                self.order.pop(gk, None)
        publisher.publish(book, rules, alerts, key, rule, st, d, s.tz, out)

    def _join(self, gk: Key, key: Key, st: AlertState) -> None:
        """Member ``key`` of ``gk`` is active (pending or firing): keep the derived indexes."""
        entry = (st.started_at, st.name, key)
        old = self.entry.get(key)
        if old != entry:
            order = self.order.setdefault(gk, [])
            if old is not None:
                i = bisect.bisect_left(order, old)
                if i < len(order) and order[i] == old:
                    del order[i]
            bisect.insort(order, entry)
            self.entry[key] = entry
        firing = self.firing.setdefault(gk, set())
        if st.state == FIRING:
            firing.add(key)
        else:
            firing.discard(key)

    def _leave(self, gk: Key, key: Key) -> None:
        self.firing.get(gk, set()).discard(key)
        old = self.entry.pop(key, None)
        order = self.order.get(gk)
        if old is not None and order:
            i = bisect.bisect_left(order, old)
            if i < len(order) and order[i] == old:
                del order[i]

    def _settle(
        self,
        publisher: Publisher,
        book: AlertRecords,
        rule: Rule,
        rules: Mapping[str, Rule],
        alerts: MutableMapping[Key, ThresholdAlert],
        by_fp: MutableMapping[str, Key],
        gk: Key,
        now: float,
        tz: int,
        out: list[Any],
        skip: Key | None = None,
    ) -> None:
        """Bring group ``gk`` (its alert, its members' marks) in line with its members.
        ``rule`` is the group's rule (the old one when a reload removed it); ``rules`` the current."""
        site, name, by, value = gk
        current = rules.get(name)
        spec = current.group if current is not None else None
        members = self.members.get(gk, {})
        firing = len(self.firing.get(gk, ()))
        g = alerts.get(gk)
        was_firing = g is not None and g.firing
        was_mark = g.st.fingerprint if g is not None and g.firing else None
        cond = spec is not None and spec.by == by and firing >= (spec.clear_at if was_firing else spec.min)
        if g is None:
            if not cond:
                return
            scope = {"site": site} if by == "site" else {"site": site, by: value}
            st = AlertState(fingerprint=fingerprint(name, scope), rule=name, site=site, kind=by, name=value)
            g = group_machine(st)
        before = (g.st.summary, g.st.value, g.st.details, g.st.message)
        g.st.value = float(firing)
        if spec is not None and spec.by == by:
            listed = [alerts[k].st for _, _, k in self.order.get(gk, ())[:MEMBERS_LISTED]]
            self._explain(rule, spec, g.st, listed, len(members), firing, tz)
        d = g.observe(cond, float(firing), now)
        if d is not None and d.state == FIRING:
            alerts[gk], by_fp[g.st.fingerprint] = g, gk
            book.groups[g.st.fingerprint] = g.st.scope()
        elif d is not None:  # resolved
            alerts.pop(gk, None)
            by_fp.pop(g.st.fingerprint, None)
            book.groups.pop(g.st.fingerprint, None)
        if d is not None:
            publisher.publish(book, rules, alerts, gk, rule, g.st, d, tz, out)
        elif (g.st.summary, g.st.value, g.st.details, g.st.message) != before:
            tr = book.changed(rule, g.st, now, tz)
            if g.st.suppressed is None:
                out.append(tr)
        mark = g.st.fingerprint if g.firing else None
        if skip is not None and mark == was_mark and gk not in self.loose:
            # the others carry `was_mark` already (set when it last changed): only `skip` may not
            if skip in members:
                alerts[skip].st.grouped_into = mark
            return
        self.loose.discard(gk)
        for k in sorted(members):
            m = alerts[k]
            if m.st.grouped_into == mark:
                continue
            m.st.grouped_into = mark
            if k == skip:
                continue  # its own record follows
            tr = book.changed(rules.get(m.st.rule, rule), m.st, now, tz)
            if m.st.suppressed is None:
                out.append(tr)

    @staticmethod
    def _explain(
        rule: Rule, spec: Grouping, st: AlertState, listed: list[AlertState], total: int, firing: int, tz: int
    ) -> None:
        """Summary, message and details of group alert ``st``: ``listed`` = its first
        :data:`MEMBERS_LISTED` members by (since, agent), of ``total``."""
        team = st.name if st.kind == "team" else ""
        st.summary = spec.render(firing, rule.name, st.site, team)
        st.message = spec.said(firing, rule.name, st.site, team)
        st.threshold = float(spec.min)
        st.details = {
            "group": {"by": spec.by, "min": spec.min, "clear": spec.clear_at},
            "count": firing,
            "members": [
                {
                    "agent": m.name,
                    "fingerprint": m.fingerprint,
                    "state": m.state,
                    "value": m.value,
                    "since": rfc3339(m.started_at, tz),
                    "summary": describe(rule, m, m.value)[0],
                    "message": message_of(rule, m, m.value),
                }
                for m in listed
            ],
        }
        if total > len(listed):
            st.details["members_more"] = total - len(listed)

    def regroup(
        self,
        publisher: Publisher,
        book: AlertRecords,
        old: Mapping[str, Rule],
        rules: Mapping[str, Rule],
        alerts: MutableMapping[Key, ThresholdAlert],
        by_fp: MutableMapping[str, Key],
        when: Mapping[str, float],
        tz: Mapping[str, int],
        out: list[Any],
    ) -> None:
        """After a rules swap: groups formed, kept, changed or resolved under the new rules, at
        ``when[site]``. Group alerts must have been left in ``alerts`` by the swap."""
        live = {m.st.fingerprint for m in alerts.values()}
        self.teams = {fp: team for fp, team in self.teams.items() if fp in live}
        groups = [k for k, m in alerts.items() if (r := old.get(m.st.rule)) is not None and is_group(r, m.st)]
        self.index(rules, alerts)
        for gk in sorted(set(groups) | set(self.members)):
            name = gk[1]
            rule = rules.get(name) or old[name]
            self._settle(publisher, book, rule, rules, alerts, by_fp, gk, when[gk[0]], tz[gk[0]], out)
        for m in alerts.values():  # members of a group whose rule lost its group
            if m.st.grouped_into is not None and m.st.grouped_into not in by_fp:
                m.st.grouped_into = None
                out.append(book.changed(rules[m.st.rule], m.st, when[m.st.site], tz[m.st.site]))

    def index(self, rules: Mapping[str, Rule], alerts: Mapping[Key, ThresholdAlert]) -> None:
        """Rebuild the member index from the active alerts (after a restore or a rules swap)."""
        self.members, self.firing, self.order, self.entry = {}, {}, {}, {}
        for key, m in alerts.items():
            rule = rules.get(m.st.rule)
            gk = None if rule is None else self._group_key(rule, m.st)
            if gk is not None:
                self.members.setdefault(gk, {})[key] = None
                self._join(gk, key, m.st)
        self.loose = set(self.members)
