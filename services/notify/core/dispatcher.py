"""Grouping and timing: alert transitions in, notifications out — Alertmanager's dispatcher as a
plain object fed by the shell.

Call order (one dispatcher per partition of the alerts topic; ``now`` is wall-clock epoch
seconds, passed in):

* ``on_alert(alert, now)`` for every transition record, in topic order. A ``transition_id``
  seen before is ignored (the alerts service may republish after a crash), so is ``pending``.
* ``flush(now, ledger, blocked)`` whenever ``now >= next_deadline()``: the notifications due.
* ``snapshot()`` / ``Dispatcher.restore(config, data)`` around restarts (the shell stores the
  snapshot with the consumed offsets in one transaction).

Semantics, per route and group (``group_by`` labels):

* a new group waits ``group_wait`` before its first notification, so alerts that fire together
  go out together; after that the group is looked at every ``group_interval``, and a
  notification goes out when its alerts changed (new, resolved, severity up) — or, unchanged and
  still firing, once ``repeat_interval`` has passed since the last one;
* silenced, acknowledged, inhibited or grouped-into alerts are left out: a silence or an ack
  stops the repeats; a resolved alert is announced (``send_resolved``) only if its firing was;
* an alert whose labels change so that a group's route no longer matches it (it escalated into
  another route) stays in that group only to have its resolution announced there: the group no
  longer sends it as firing, and forgets it when it resolves or if it was never sent;
* while a mute interval is active (or outside the route's active intervals) nothing is sent;
  the group is looked at again the minute the quiet time ends, so what still fires is sent then;
* while the receiver is over its vendor rate limit (``Ledger``) or its delivery backlog is full
  (``blocked``), the group waits and keeps folding in alerts; when more groups of one receiver
  are due than its remaining per-minute budget, they go out as one digest message.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from shared.quiet_times import any_active, next_change

from .alert import Alert
from .config import NotifyConfig, Route
from .ratelimit import Ledger
from .routing import group_key, group_labels, routes_for

SEEN_MAX: Final = 10_000  # transition ids remembered per partition (republished ones are recent)
BLOCKED_RETRY_S: Final = 5.0


@dataclass(frozen=True)
class Notification:
    """One message to one receiver. ``id`` is deterministic (group and its sequence number), so a
    message re-sent after a crash carries the same idempotency id."""

    id: str
    route: str
    receiver: str
    group_key: str
    group_labels: tuple[tuple[str, str], ...]
    firing: tuple[Alert, ...]
    resolved: tuple[Alert, ...]
    at: float
    repeat: bool = False

    @property
    def status(self) -> str:
        return "firing" if self.firing else "resolved"

    @property
    def alerts(self) -> tuple[Alert, ...]:
        return self.firing + self.resolved

    @property
    def site(self) -> str | None:
        sites = {a.site for a in self.alerts}
        return sites.pop() if len(sites) == 1 else None


@dataclass
class Group:
    key: str
    route: str
    labels: tuple[tuple[str, str], ...]
    next_flush: float
    alerts: dict[str, Alert] = field(default_factory=dict)
    sent: dict[str, str] = field(default_factory=dict)  # fingerprint -> "firing:<severity>" | "resolved"
    last_notified: float | None = None
    seq: int = 0
    moved: set[str] = field(default_factory=set)  # fingerprints the route no longer matches


def route_identities(root: Route) -> dict[str, str]:
    """Each route's name → a hash of what decides where its groups go: the matchers on its path
    from the root, its receiver and its ``group_by``."""
    out: dict[str, str] = {}

    def walk(route: Route, path: tuple[tuple[str, ...], ...]) -> None:
        path += (tuple(f"{m.name}{m.op}{m.value!r}" for m in route.matchers),)
        out[route.name] = hashlib.sha1(repr((path, route.receiver, route.group_by)).encode()).hexdigest()[:16]
        for child in route.routes:
            walk(child, path)

    walk(root, ())
    return out


def _signature(alert: Alert) -> str:
    return f"firing:{alert.severity}" if alert.firing else "resolved"


class Dispatcher:
    def __init__(self, config: NotifyConfig, prefix: str = "n") -> None:
        self.config = config
        self.prefix = prefix
        self.groups: dict[str, Group] = {}
        self.seen: OrderedDict[str, None] = OrderedDict()
        self.holding: dict[str, set[str]] = {}  # fingerprint -> keys of the groups that hold it
        self._routes = {r.name: r for r in config.routes()}
        self._route_ids = route_identities(config.route)

    # -- input ---------------------------------------------------------------------------------
    def on_alert(self, alert: Alert, now: float) -> bool:
        """Fold one transition in; False when it was a duplicate or is not notifiable (pending)."""
        if alert.transition_id in self.seen:
            return False
        self.seen[alert.transition_id] = None
        while len(self.seen) > SEEN_MAX:
            self.seen.popitem(last=False)
        if alert.state not in ("firing", "resolved"):
            return False
        labels = alert.label_map
        fp = alert.fingerprint
        matched: set[str] = set()
        for route in routes_for(self.config, labels, escalated=alert.escalated):
            glabels = group_labels(route, labels)
            key = group_key(route, glabels)
            group = self.groups.get(key)
            if group is None:
                if not alert.firing:
                    continue  # the end of an alert this route never carried
                group = self.groups[key] = Group(key, route.name, glabels, next_flush=now + route.group_wait)
            group.alerts[fp] = alert
            group.moved.discard(fp)
            matched.add(key)
        # groups that took it before but whose route no longer matches: the ack or the resolution
        # still reaches them, and they stop repeating it (_due)
        for key in self.holding.get(fp, set()) - matched:
            group = self.groups.get(key)
            if group is not None:
                group.alerts[fp] = alert
                group.moved.add(fp)
        if matched:
            self.holding.setdefault(fp, set()).update(matched)
        return True

    # -- output --------------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        return min((g.next_flush for g in self.groups.values()), default=None)

    def flush(self, now: float, ledger: Ledger, blocked: frozenset[str] = frozenset()) -> list[Notification]:
        ready: list[tuple[Group, Route, Notification]] = []
        for group in sorted(self.groups.values(), key=lambda g: (g.next_flush, g.key)):
            if group.next_flush > now:
                continue
            route = self._routes.get(group.route)
            if route is None:  # the route left the configuration
                self._drop(group)
                continue
            note = self._due(group, route, now, ledger, blocked)
            if note is not None:
                ready.append((group, route, note))
        out: list[Notification] = []
        by_receiver: dict[str, list[tuple[Group, Route, Notification]]] = {}
        for item in ready:
            by_receiver.setdefault(item[2].receiver, []).append(item)
        for receiver, items in by_receiver.items():
            budget = ledger.budget(receiver, now)
            if budget is not None and len(items) > 1 and len(items) > budget:
                out.append(self._digest(receiver, [n for _, _, n in items], now))
            else:
                out.extend(n for _, _, n in items)
            for group, route, note in items:
                self._sent(group, route, note, now)
        for note in out:
            ledger.record(note.receiver, now)
        return out

    def _due(self, group: Group, route: Route, now: float, ledger: Ledger,
             blocked: frozenset[str]) -> Notification | None:
        """The group's notification if one is due and may go now; otherwise reschedules it."""
        firing = tuple(a for a in group.alerts.values()
                       if a.firing and a.fingerprint not in group.moved and not a.suppressed
                       and not a.silenced(now) and a.acked_by is None)
        resolved = tuple(a for a in group.alerts.values()
                         if not a.firing and group.sent.get(a.fingerprint, "").startswith("firing"))
        changed = any(group.sent.get(a.fingerprint) != _signature(a) for a in firing)
        announce = resolved if route.send_resolved else ()
        repeat = (bool(firing) and group.last_notified is not None
                  and now - group.last_notified >= route.repeat_interval)
        if not (changed or announce or repeat):
            self._settle(group, route, now, firing)
            return None
        quiet = self._quiet_until(route, now)
        if quiet is not None:
            group.next_flush = quiet
            return None
        allowed = ledger.allowed_at(route.receiver, now)
        if route.receiver in blocked:
            group.next_flush = now + BLOCKED_RETRY_S
            return None
        if allowed > now:
            group.next_flush = allowed
            return None
        group.seq += 1
        digest = hashlib.sha1(group.key.encode()).hexdigest()[:12]
        ordered = tuple(sorted(firing, key=lambda a: (a.started_at, a.fingerprint)))
        return Notification(
            id=f"{self.prefix}-{digest}-{group.seq}", route=route.name, receiver=route.receiver,
            group_key=group.key, group_labels=group.labels, firing=ordered,
            resolved=tuple(sorted(announce, key=lambda a: (a.updated_at, a.fingerprint))), at=now,
            repeat=repeat and not changed and not announce,
        )

    def _quiet_until(self, route: Route, now: float) -> float | None:
        """When the route's quiet time ends (None: not quiet now)."""
        mute = self.config.intervals(route.mute_time_intervals)
        active = self.config.intervals(route.active_time_intervals)
        muted = any_active(mute, now) if mute else False
        outside = not any_active(active, now) if active else False
        if not (muted or outside):
            return None
        ends = [t for t in (next_change(mute, now) if muted else None,
                            next_change(active, now) if outside else None) if t is not None]
        # quiet "forever" (e.g. an always-active mute): look again each group_interval
        return max(ends) if ends else now + route.group_interval

    def _sent(self, group: Group, route: Route, note: Notification, now: float) -> None:
        for a in note.firing:
            group.sent[a.fingerprint] = _signature(a)
        group.last_notified = now
        self._settle(group, route, now, note.firing)

    def _settle(self, group: Group, route: Route, now: float, firing: tuple[Alert, ...]) -> None:
        """Drop what ended (and moved alerts whose firing this group never sent), and schedule
        the next look (or forget an empty group)."""
        for fp in [fp for fp, a in group.alerts.items() if not a.firing
                   or (fp in group.moved and not group.sent.get(fp, "").startswith("firing"))]:
            self._forget(group, fp)
        group.next_flush = now + route.group_interval
        if not group.alerts:
            self._drop(group)

    def _forget(self, group: Group, fp: str) -> None:
        del group.alerts[fp]
        group.sent.pop(fp, None)
        group.moved.discard(fp)
        keys = self.holding.get(fp)
        if keys is not None:
            keys.discard(group.key)
            if not keys:
                del self.holding[fp]

    def _drop(self, group: Group) -> None:
        for fp in list(group.alerts):
            self._forget(group, fp)
        del self.groups[group.key]

    def _digest(self, receiver: str, notes: list[Notification], now: float) -> Notification:
        """Many groups' notifications of one receiver as one message (rate limit)."""
        ids = ",".join(n.id for n in notes)
        digest = hashlib.sha1(ids.encode()).hexdigest()[:12]
        return Notification(
            id=f"{self.prefix}-digest-{digest}", route=notes[0].route, receiver=receiver,
            group_key=f"{{}}/digest:{{receiver=\"{receiver}\"}}", group_labels=(("receiver", receiver),),
            firing=tuple(a for n in notes for a in n.firing),
            resolved=tuple(a for n in notes for a in n.resolved), at=now,
        )

    # -- persistence ---------------------------------------------------------------------------
    def replace_config(self, config: NotifyConfig) -> None:
        self.config = config
        self._routes = {r.name: r for r in config.routes()}
        self._route_ids = route_identities(config.route)

    def snapshot(self) -> dict[str, Any]:
        return {
            "v": 1,
            "groups": [{**asdict(g), "alerts": [asdict(a) for a in g.alerts.values()],
                        "labels": [list(p) for p in g.labels], "moved": sorted(g.moved),
                        "route_id": self._route_ids.get(g.route)}
                       for g in self.groups.values()],
            "seen": list(self.seen),
        }

    @classmethod
    def restore(cls, config: NotifyConfig, data: dict[str, Any], prefix: str = "n") -> Dispatcher:
        d = cls(config, prefix)
        for g in data.get("groups", []):
            # an unnamed route is named by its position (root.0): after an edit the name may
            # belong to another route, so a group whose route is not the same one is dropped
            # (a snapshot from before route ids were stored has none: its groups are kept)
            if "route_id" in g and g["route_id"] != d._route_ids.get(g["route"]):
                continue
            alerts = {}
            for a in g["alerts"]:
                a = dict(a)
                a["labels"] = tuple(tuple(p) for p in a["labels"])
                alerts[a["fingerprint"]] = Alert(**a)
            d.groups[g["key"]] = Group(
                key=g["key"], route=g["route"], labels=tuple((str(k), str(v)) for k, v in g["labels"]),
                next_flush=g["next_flush"], alerts=alerts, sent=dict(g["sent"]),
                last_notified=g["last_notified"], seq=g["seq"], moved=set(g.get("moved", [])),
            )
            for fp in alerts:
                d.holding.setdefault(fp, set()).add(g["key"])
        d.seen = OrderedDict((t, None) for t in data.get("seen", []))
        return d
