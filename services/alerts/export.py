"""What the alerts service exports to Prometheus, kept by the consumer thread for the scrape thread.

The consumer thread (the only one that touches an engine) records here what it already has in
hand: every floor snapshot it publishes, every event the engine applied, and — when transitions
were emitted — the engine's active alerts. The scrape thread (``collector.py``) only reads.

Thread safety rests on CPython's atomic dict operations: the consumer thread replaces whole
values (``dict[key] = new``) and never mutates a published snapshot; the reader takes copies
(``dict(d)``, ``list(d.items())``), which run without releasing the GIL. Nothing here blocks.

Bounded: at most ``max_values`` queues and sources per site (and ``max_values`` sites) get series
of their own; further names — typos, or hostile input inventing names — count under ``_other``,
and ``overflowed`` says how often that happened.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.events import CallAbandoned, CallAnswered, CallQueued, Event

OTHER = "_other"

# event type -> the queue counter it adds to (see docs/metrics.md, "Prometheus")
_CALL_COUNTERS: dict[type[Any], str] = {
    CallQueued: "offered",
    CallAnswered: "answered",
    CallAbandoned: "abandoned",
}


@dataclass(frozen=True, slots=True)
class ExportLimits:
    """Cardinality limits. ``agents``: agent ids that get per-agent series; ``all_agents``: every
    agent does (a flag for small floors: two series per agent)."""

    max_values: int = 500
    agents: frozenset[str] = frozenset()
    all_agents: bool = False

    @classmethod
    def parse(cls, agents: str, max_values: int) -> ExportLimits:
        """``agents``: comma-separated ids, or ``*`` for every agent."""
        names = frozenset(a.strip() for a in agents.split(",") if a.strip())
        return cls(max_values=max_values, agents=names - {"*"}, all_agents="*" in names)

    def agent_allowed(self, agent: str) -> bool:
        return self.all_agents or agent in self.agents


@dataclass(frozen=True, slots=True)
class AlertCount:
    site: str
    rule: str
    severity: str
    state: str
    count: int


@dataclass
class SourceSeen:
    """One event source of one site: events applied, newest event time, when last heard (wall)."""

    events: int = 0
    newest_event: float = 0.0
    received: float = 0.0


@dataclass
class FloorExport:
    limits: ExportLimits = field(default_factory=ExportLimits)
    floors: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # site -> last FloorSnapshot
    published: dict[str, float] = field(default_factory=dict)  # site -> wall epoch of that publication
    calls: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (site, queue, counter) -> n
    sources: dict[tuple[str, str], SourceSeen] = field(default_factory=dict)
    alerts: tuple[AlertCount, ...] = ()
    overflowed: int = 0
    _sites: set[str] = field(default_factory=set)
    _queues: dict[str, set[str]] = field(default_factory=dict)  # per site
    _sources: dict[str, set[str]] = field(default_factory=dict)  # per site

    # -- consumer thread -------------------------------------------------------------------------
    def floor_published(self, snapshot: Mapping[str, Any], wall: float) -> None:
        site = str(snapshot["site"])
        self.floors[site] = snapshot
        self.published[site] = wall

    def forget_sites(self, sites: Iterable[str]) -> None:
        """Sites whose partition this instance no longer owns: another instance exports them."""
        for site in sites:
            self.floors.pop(site, None)
            self.published.pop(site, None)

    def event_applied(self, ev: Event, wall: float) -> None:
        """An event the engine applied (not a duplicate of ``(source, id)``)."""
        site = self._keep(self._sites, ev.site)
        source = self._keep(self._sources.setdefault(site, set()), ev.source)
        seen = self.sources.get((site, source))
        if seen is None:
            seen = self.sources[(site, source)] = SourceSeen()
        seen.events += 1
        seen.received = wall
        ts = ev.ts.timestamp()
        if ts > seen.newest_event:
            seen.newest_event = ts
        if isinstance(ev, CallQueued | CallAnswered | CallAbandoned):
            queue = self._keep(self._queues.setdefault(site, set()), ev.queue)
            key = (site, queue, _CALL_COUNTERS[type(ev)])
            self.calls[key] = self.calls.get(key, 0) + 1

    def alerts_changed(self, active: Iterable[Mapping[str, Any]]) -> None:
        """Replace the alert tally with the engine's active alerts (pending and firing)."""
        tally: dict[tuple[str, str, str, str], int] = {}
        for a in active:
            site = str((a.get("scope") or {}).get("site", ""))
            key = (site, str(a["rule"]), str(a["severity"]), str(a["state"]))
            tally[key] = tally.get(key, 0) + 1
        self.alerts = tuple(AlertCount(*key, n) for key, n in sorted(tally.items()))

    def _keep(self, names: set[str], name: str) -> str:
        """``name`` while fewer than ``max_values`` names are kept (``names`` grows), else ``_other``."""
        if name in names:
            return name
        if len(names) >= self.limits.max_values:
            self.overflowed += 1
            return OTHER
        names.add(name)
        return name
