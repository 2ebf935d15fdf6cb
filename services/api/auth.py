"""Who is calling: roles, scopes, token stores and the authenticator.

A token is never stored: stores are looked up by the SHA-256 hex digest of the token. The
configured admin token (``settings.admin_token``) is compared in constant time and gives ``admin``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from shared.i18n import LANGS

Role = Literal["admin", "supervisor", "wallboard"]
ROLES: tuple[Role, ...] = ("admin", "supervisor", "wallboard")
DIMENSIONS = ("sites", "teams", "queues")


def _frozen(values: Iterable[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(values)


@dataclass(frozen=True, slots=True)
class Scope:
    """What a caller may see. Each dimension is either ``None`` (unrestricted) or a set of names;
    dimensions combine with AND. The admin scope is all ``None``."""

    sites: frozenset[str] | None = None
    teams: frozenset[str] | None = None
    queues: frozenset[str] | None = None

    @classmethod
    def of(
        cls,
        sites: Iterable[str] | None = None,
        teams: Iterable[str] | None = None,
        queues: Iterable[str] | None = None,
    ) -> Scope:
        return cls(_frozen(sites), _frozen(teams), _frozen(queues))

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Scope:
        """``{"sites": [...], "teams": [...], "queues": [...]}``; a missing or null key = unrestricted."""
        data = data or {}
        unknown = set(data) - set(DIMENSIONS)
        if unknown:
            raise ValueError(f"unknown scope keys {sorted(unknown)}; allowed: {list(DIMENSIONS)}")
        return cls.of(data.get("sites"), data.get("teams"), data.get("queues"))

    def to_json(self) -> dict[str, list[str] | None]:
        return {d: None if (v := getattr(self, d)) is None else sorted(v) for d in DIMENSIONS}

    @property
    def partial(self) -> bool:
        """True when the caller sees only part of a site (queues or teams restricted)."""
        return self.teams is not None or self.queues is not None

    def allows_site(self, site: str) -> bool:
        return self.sites is None or site in self.sites

    def narrow(self, sites: Iterable[str] | None, teams: Iterable[str] | None,
               queues: Iterable[str] | None) -> Scope:
        """The intersection with a requested subscription; never wider than ``self``."""

        def meet(mine: frozenset[str] | None, asked: Iterable[str] | None) -> frozenset[str] | None:
            if asked is None:
                return mine
            asked_set = frozenset(asked)
            return asked_set if mine is None else mine & asked_set

        return Scope(meet(self.sites, sites), meet(self.teams, teams), meet(self.queues, queues))


ADMIN_SCOPE = Scope()


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    scope: Scope
    name: str
    # identifies the credential (sha256 of the token) so a resumed WS session stays with its owner
    key: str = field(default="", compare=False)
    # the token's (user's) language, zh or en; None: the site's default, then the browser's
    language: str | None = field(default=None, compare=False)

    @property
    def can_write(self) -> bool:
        return self.role in ("admin", "supervisor")


def check_language(language: str | None) -> str | None:
    """A token's language: ``zh``, ``en`` or None (the site's default); anything else is refused."""
    if language is None or language in LANGS:
        return language
    raise ValueError(f"unknown language {language!r}; use {' or '.join(LANGS)}")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore(Protocol):
    async def lookup(self, token_sha256: str) -> Principal | None:
        """The principal for a token hash, or None when unknown or revoked."""
        ...


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What may be shown about an issued token: never the token, never its full hash."""

    id: int
    name: str
    role: Role
    scope: Scope
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None
    # the credential key (sha256 hex) so that revocation can close that token's connections
    token_sha256: str = field(default="", repr=False, compare=False)
    language: str | None = None  # zh | en: the token's reader's language (issue 15); None: the site's

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "role": self.role, "scope": self.scope.to_json(),
                "created_at": self.created_at.isoformat(),
                "revoked_at": None if self.revoked_at is None else self.revoked_at.isoformat(),
                "language": self.language}


@runtime_checkable
class TokenAdmin(TokenStore, Protocol):
    """A token store that can also issue, list and revoke (the SQL store; the in-memory one)."""

    async def create(self, name: str, role: Role, scope: Scope, language: str | None = None
                     ) -> tuple[TokenInfo, str]:
        """A new token: its info and the token itself (the only time it is visible); ``language``
        (zh | en) is its reader's: pages, reports and error texts follow it."""
        ...

    async def list_tokens(self, *, include_revoked: bool = False) -> list[TokenInfo]: ...

    async def revoke_id(self, token_id: int) -> TokenInfo | None:
        """Revoke one active token; its info (with ``revoked_at``), or None if no active token has
        that id."""
        ...

    async def set_language(self, token_id: int, language: str | None) -> tuple[TokenInfo, str | None] | None:
        """Change an active token's language (zh | en | None: the site's); its new info and the
        language it had, or None if no active token has that id; ``ValueError`` for another value."""
        ...


def new_token() -> str:
    return secrets.token_urlsafe(32)


def check_role(role: str) -> Role:
    for known in ROLES:
        if role == known:
            return known
    raise ValueError(f"role must be one of {list(ROLES)}, got {role!r}")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class InMemoryTokenStore:
    """Tokens held in a dict; for tests and for ``floorwatch up`` without a database."""

    def __init__(self, tokens: Mapping[str, Principal] | None = None) -> None:
        self._by_hash: dict[str, Principal] = {}
        self._infos: dict[int, TokenInfo] = {}
        for token, principal in (tokens or {}).items():
            self.add(token, principal)

    def add(self, token: str, principal: Principal) -> TokenInfo:
        digest = hash_token(token)
        self._by_hash[digest] = principal
        info = TokenInfo(len(self._infos) + 1, principal.name, principal.role, principal.scope, _utcnow(),
                         token_sha256=digest, language=principal.language)
        self._infos[info.id] = info
        return info

    def revoke(self, token: str) -> None:
        self._by_hash.pop(hash_token(token), None)

    async def lookup(self, token_sha256: str) -> Principal | None:
        return self._by_hash.get(token_sha256)

    async def create(self, name: str, role: Role, scope: Scope, language: str | None = None
                     ) -> tuple[TokenInfo, str]:
        token = new_token()
        principal = Principal(check_role(role), scope, name, language=check_language(language))
        return self.add(token, principal), token

    async def list_tokens(self, *, include_revoked: bool = False) -> list[TokenInfo]:
        return [i for i in self._infos.values() if include_revoked or i.revoked_at is None]

    async def revoke_id(self, token_id: int) -> TokenInfo | None:
        info = self._infos.get(token_id)
        if info is None or info.revoked_at is not None:
            return None
        self._by_hash.pop(info.token_sha256, None)
        revoked = dataclasses.replace(info, revoked_at=_utcnow())
        self._infos[token_id] = revoked
        return revoked

    async def set_language(self, token_id: int, language: str | None) -> tuple[TokenInfo, str | None] | None:
        language = check_language(language)
        info = self._infos.get(token_id)
        if info is None or info.revoked_at is not None:
            return None
        principal = self._by_hash.get(info.token_sha256)
        if principal is not None:
            self._by_hash[info.token_sha256] = dataclasses.replace(principal, language=language)
        self._infos[token_id] = dataclasses.replace(info, language=language)
        return self._infos[token_id], info.language


logger = logging.getLogger(__name__)

# While the token store cannot be asked (its database away), a credential it accepted within the
# last STORE_AWAY_GRACE_S is still accepted, so that screens reconnecting during a database
# restart see the floor; at most REMEMBERED credentials are remembered for it (the newest).
STORE_AWAY_GRACE_S = 600.0
REMEMBERED = 10_000


class StoreUnavailable(Exception):
    """The token store could not be asked, and the credential was not accepted recently."""


class Authenticator:
    """Token -> Principal: the admin token first (constant-time), then the store; the store away,
    what it accepted within ``STORE_AWAY_GRACE_S`` (else :class:`StoreUnavailable`)."""

    def __init__(self, admin_token: str | None, store: TokenStore,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._admin = admin_token.encode() if admin_token else None
        self._admin_key = hash_token(admin_token) if admin_token else None
        self.store = store
        self._clock = clock
        self._accepted: OrderedDict[str, tuple[Principal, float]] = OrderedDict()  # key -> (it, when)
        self._away_logged = float("-inf")

    async def _lookup(self, key: str) -> Principal | None:
        try:
            found = await self.store.lookup(key)
        except Exception as exc:
            now = self._clock()
            kept = self._accepted.get(key)
            if now - self._away_logged >= 60.0:
                self._away_logged = now
                logger.warning("the token store cannot be asked (%r): credentials it accepted in the "
                               "last %.0f s are still accepted", exc, STORE_AWAY_GRACE_S)
            if kept is not None and now - kept[1] <= STORE_AWAY_GRACE_S:
                return kept[0]
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}"[:200]) from exc
        if found is None:
            self._accepted.pop(key, None)
            return None
        self._accepted[key] = (found, self._clock())
        self._accepted.move_to_end(key)
        if len(self._accepted) > REMEMBERED:
            self._accepted.popitem(last=False)
        return found

    async def authenticate(self, token: str | None) -> Principal | None:
        if not token:
            return None
        digest = hash_token(token)
        if self._admin is not None and hmac.compare_digest(token.encode(), self._admin):
            return Principal("admin", ADMIN_SCOPE, "admin", key=digest)
        found = await self._lookup(digest)
        if found is None:
            return None
        return Principal(found.role, found.scope, found.name, key=digest, language=found.language)

    async def still_valid(self, key: str) -> bool:
        """Whether the credential with this key (sha256 hex) is still accepted (not revoked)."""
        if self._admin_key is not None and hmac.compare_digest(key, self._admin_key):
            return True
        return await self._lookup(key) is not None


def bearer_token(authorization: str | None, query_token: str | None) -> str | None:
    """The token from ``Authorization: Bearer …`` (preferred) or ``?token=``."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return query_token or None
