"""Live floor state: the deterministic reducer of canonical events.

:class:`Floor` is a plain mutable object owned by one engine. Call order:

1. ``apply(ev)`` for each event, in arrival order (duplicates should be filtered before; repeated
   facts are tolerated anyway). Returns the :data:`~.touches.Touches` — which scopes changed and how.
2. ``expire(site, now)`` when that site's event-time clock passes a minute boundary: drops
   window buckets that left the window (memory; reads are correct without it), calls waiting
   longer than ``max_wait_s`` and call legs connected longer than ``max_leg_s`` (their end was
   lost by the feed); returns the touches like ``apply``.
3. Reads (``site(...)``, metrics, snapshots) are pure and may happen at any ``now``.

The queue side lives in :mod:`.calls`, the agent side in :mod:`.agents`; both document how
duplicated, reordered or missing events are handled. Nothing here can make a counter negative:
window counters only grow, and an agent is counted in exactly one state while logged in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import msgspec

from shared.events import (
    AgentLogin,
    AgentLogout,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallEnded,
    CallHeld,
    CallQueued,
    CallResumed,
    CallTransferred,
    CallWrapped,
    Event,
)

from . import agents, calls
from .kpis import Agg, FloorConfig
from .ledger import slot
from .recent import RecentMap
from .state import SiteFloor
from .times import epoch, offset_s
from .touches import F_WAIT, Touches, touch

Handler = Callable[[FloorConfig, SiteFloor, Any, float, Touches], None]


def _answered(cfg: FloorConfig, s: SiteFloor, ev: CallAnswered, t: float, touches: Touches) -> None:
    offered_at = calls.on_answered(cfg, s, ev, t, touches)
    agents.on_answered(cfg, s, ev, t, touches, offered_at)


_HANDLERS: dict[type[Any], Handler] = {
    AgentLogin: agents.on_login,
    AgentLogout: agents.on_logout,
    AgentStateChanged: agents.on_state,
    CallQueued: calls.on_queued,
    CallAnswered: _answered,
    CallAbandoned: calls.on_abandoned,
    CallHeld: agents.on_held,
    CallResumed: agents.on_resumed,
    CallEnded: agents.on_ended,
    CallTransferred: agents.on_ended,
    CallWrapped: agents.on_wrapped,
}


class Floor(msgspec.Struct):
    """All sites' live state. Construct with ``Floor(config=FloorConfig(...))``."""

    config: FloorConfig
    sites: dict[str, SiteFloor] = msgspec.field(default_factory=dict)

    def site(self, name: str) -> SiteFloor:
        """The state of site ``name``, created empty when first seen."""
        s = self.sites.get(name)
        if s is None:
            s = self.sites[name] = self.peek(name)
        return s

    def peek(self, name: str) -> SiteFloor:
        """The state of site ``name``, or a fresh empty one that is not kept."""
        s = self.sites.get(name)
        if s is None:
            cfg = self.config
            s = SiteFloor(
                site=name, total=Agg.new(cfg.minutes, timed=True), resolved=RecentMap(cfg.recent_calls)
            )
        return s

    def apply(self, ev: Event, t: float | None = None) -> Touches:
        """Apply one event (``t`` = its epoch seconds, computed here when not given).

        Returns scope ``(kind, name)`` -> metric-family bitmask for the event's site (empty when the
        event changed nothing, e.g. a stale re-delivery).
        """
        if t is None:
            t = epoch(ev.ts)
        s = self.sites.get(ev.site) or self.site(ev.site)
        s.tz = offset_s(ev.ts)
        if t > s.latest:
            s.latest = t
        touches: Touches = {}
        _HANDLERS[type(ev)](self.config, s, ev, t, touches)
        if touches:
            s.seq += 1
        return touches

    def expire(self, site: str, now: float) -> Touches:
        """Forget window buckets of ``site`` older than the window ending at ``now``, calls
        waiting longer than ``max_wait_s`` (their answer/abandon was lost) and call legs connected
        longer than ``max_leg_s`` (their end was lost). Returns the touches."""
        touches: Touches = {}
        s = self.sites.get(site)
        if s is None:
            return touches
        lost = [c for c, q in s.waiting_in.items() if s.queues[q].waiting[c] < now - self.config.max_wait_s]
        for call in lost:
            name = s.waiting_in.pop(call)
            s.queues[name].remove(call)
            touch(touches, "queue", name, F_WAIT)
            touch(touches, "site", site, F_WAIT)
        agents.expire_legs(self.config, s, now, touches)
        keep = self.config.ledger_days
        if keep is not None:
            today, _ = slot(now, self.config.defs.for_site(site), s.tz)
            s.ledger.prune((dt.date.fromisoformat(today) - dt.timedelta(days=keep - 1)).isoformat())
        s.total.win.expire(now)
        for q in s.queues.values():
            q.agg.win.expire(now)
        for team in s.teams.values():
            team.win.expire(now)
        return touches
