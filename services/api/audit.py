"""The audit log: who did what, when, to which alert, silence, token or rule set.

Actions (``action``, ``target``):

* ``alert.ack`` — fingerprint; detail ``note``
* ``silence.create`` — silence id; detail ``matchers``, ``until``, ``comment``
* ``silence.expire`` — silence id; detail ``matchers`` (copied from the silence)
* ``token.create`` / ``token.revoke`` — token id; detail ``name``, ``role``, ``scope``
* ``token.language`` — token id; detail ``name``, ``role``, ``scope``, ``language`` (new), ``was``
* ``rules.replace`` — the rules source; reserved: rules are not changed through the API yet
* ``command.failed`` — the request id of a command the engine could not be handed

An entry records the request the API accepted (and passed on), not the engine's outcome: that
comes back as an alert transition. ``site`` and ``scope`` place an entry so a scoped supervisor
reads only the entries about what it may see; entries without a site (tokens) are admin-only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from services.api.auth import Principal, Scope
from services.api.scoping import AgentLookup, alert_visible

ACTIONS = ("alert.ack", "silence.create", "silence.expire", "token.create", "token.revoke", "token.language",
           "rules.replace", "command.failed")
MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: dt.datetime
    actor: str
    role: str
    action: str
    target: str
    request_id: str
    site: str | None = None
    scope: dict[str, Any] | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "actor": self.actor, "role": self.role,
                "action": self.action, "target": self.target, "site": self.site, "scope": self.scope,
                "detail": self.detail, "request_id": self.request_id}


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Newest first. ``before_id`` pages backwards; ``sites`` restricts by site (None = any);
    ``targets`` by any of several targets (the expirations of a page of silences, in one query)."""

    actions: tuple[str, ...] | None = None
    target: str | None = None
    targets: tuple[str, ...] | None = None
    sites: frozenset[str] | None = None
    site: str | None = None
    before_id: int | None = None
    limit: int = 100


Visible = Callable[[AuditEntry], bool]


class AuditLog(Protocol):
    async def record(self, entry: AuditEntry) -> AuditEntry:
        """Store ``entry``; returns it with its ``id``. Raises when it could not be stored."""
        ...

    async def query(self, query: AuditQuery, visible: Visible) -> list[AuditEntry]:
        """Up to ``query.limit`` entries matching ``query`` for which ``visible`` is true."""
        ...


def entry_visible(entry: AuditEntry, scope: Scope, agents: AgentLookup | None = None) -> bool:
    """An entry is visible to an unrestricted scope; otherwise only when it names a site in scope
    and (for a partial scope) its alert / silence scope is one the caller may see."""
    if scope.sites is None and not scope.partial:
        return True
    if entry.site is None:
        return False
    return alert_visible({"scope": {**(entry.scope or {}), "site": entry.site}}, scope, agents)


def reader_visibility(principal: Principal, agents: AgentLookup | None = None) -> Visible:
    if principal.role == "admin":
        return lambda _entry: True
    scope = principal.scope
    return lambda entry: entry.site is not None and entry_visible(entry, scope, agents)


def matches(entry: AuditEntry, query: AuditQuery) -> bool:
    return ((query.actions is None or entry.action in query.actions)
            and (query.target is None or entry.target == query.target)
            and (query.targets is None or entry.target in query.targets)
            and (query.sites is None or entry.site in query.sites)
            and (query.site is None or entry.site == query.site)
            and (query.before_id is None or (entry.id or 0) < query.before_id))


class InMemoryAuditLog:
    """A bounded in-process log, for tests and an API run without a database."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._entries: list[AuditEntry] = []
        self._next = 1
        self._max = max_entries

    async def record(self, entry: AuditEntry) -> AuditEntry:
        stored = replace(entry, id=self._next)
        self._next += 1
        self._entries.append(stored)
        if len(self._entries) > self._max:
            del self._entries[: len(self._entries) - self._max]
        return stored

    async def query(self, query: AuditQuery, visible: Visible) -> list[AuditEntry]:
        out: list[AuditEntry] = []
        for entry in reversed(self._entries):
            if matches(entry, query) and visible(entry):
                out.append(entry)
                if len(out) >= query.limit:
                    break
        return out
