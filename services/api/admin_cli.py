"""``floorwatch tokens create | list | revoke | language``: token administration against the database.

Wire it in ``floorwatch/cli.py``'s ``build_parser()`` with ``add_token_commands(sub)``. Each command
opens the database named by ``--db`` / ``FLOORWATCH_DATABASE_URL``, which must be migrated
(``floorwatch db upgrade``), and records what it changed in the audit log (actor ``cli:<user>``).
A revoked token's open WebSocket connections are closed by the API within
``ApiOptions.revalidate_interval_s`` (5 s).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from services.api.audit import AuditEntry
from services.api.audit_sql import SqlAuditLog
from services.api.auth import ROLES, Scope, TokenInfo, check_role
from services.api.runtime import utcnow
from services.api.tokens_sql import SqlTokenStore
from shared.config import SETTING, setting_flag, settings_from_args
from shared.db import make_engine, sessions


def add_token_commands(subparsers: Any) -> None:
    """Add ``tokens create|list|revoke|language`` to an argparse sub-parser set."""
    tokens = subparsers.add_parser("tokens", help="API tokens: create, list, revoke, change the language")
    sub = tokens.add_subparsers(dest="tokens_command", required=True)

    p = sub.add_parser("create", help="issue a token; it is printed once and never stored")
    p.add_argument("name", help="who or what uses the token, e.g. 'tv-floor-2' or 'alice'")
    p.add_argument("--role", required=True, choices=ROLES)
    for dim in ("sites", "teams", "queues"):
        p.add_argument(f"--{dim}", metavar="A,B", help=f"limit the token to these {dim} (default: all)")
    # not the site default (Settings.language): this token's own, hence its own dest
    p.add_argument("--language", dest="token_language", choices=("zh", "en"),
                   help="its reader's language (default: the site's FLOORWATCH_LANGUAGE, then the browser's)")
    _common(p)
    p.set_defaults(func=lambda args: _run(_create(args)))

    p = sub.add_parser("list", help="issued tokens (never the tokens themselves)")
    p.add_argument("--all", action="store_true", help="include revoked tokens")
    _common(p)
    p.set_defaults(func=lambda args: _run(_list(args)))

    p = sub.add_parser("revoke", help="revoke a token by id (see `tokens list`)")
    p.add_argument("id", type=int)
    _common(p)
    p.set_defaults(func=lambda args: _run(_revoke(args)))

    p = sub.add_parser("language", help="change a token's language (see `tokens list`)")
    p.add_argument("id", type=int)
    p.add_argument("token_language", metavar="LANGUAGE", choices=("zh", "en", "none"),
                   help="zh, en, or none (the site's default, then the browser's)")
    _common(p)
    p.set_defaults(func=lambda args: _run(_language(args)))


def _common(p: argparse.ArgumentParser) -> None:
    setting_flag(p, "--db", field="database_url", metavar="URL", help="database URL")
    p.add_argument("--json", action="store_true", help="print JSON")
    setting_flag(p, "--log-level", field="log_level", metavar="LEVEL", help="default WARNING for this tool")
    p.set_defaults(**{SETTING + "log_level": "WARNING"})


def _run(work: Coroutine[Any, Any, int]) -> int:
    return asyncio.run(work)


Job = Callable[[SqlTokenStore, SqlAuditLog], Coroutine[Any, Any, int]]


async def _with_db(args: argparse.Namespace, job: Job) -> int:
    settings = settings_from_args(args)
    engine = make_engine(settings.database_url)
    try:
        maker = sessions(engine)
        return await job(SqlTokenStore(maker), SqlAuditLog(maker))
    finally:
        await engine.dispose()


async def _record(audit: SqlAuditLog, action: str, info: TokenInfo, **more: Any) -> None:
    await audit.record(AuditEntry(
        at=utcnow(), actor=f"cli:{getpass.getuser()}", role="admin", action=action, target=str(info.id),
        request_id=f"cli-{action}-{info.id}",
        detail={"name": info.name, "role": info.role, "scope": info.scope.to_json(), **more}))


def _split(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


async def _create(args: argparse.Namespace) -> int:
    scope = Scope.of(_split(args.sites), _split(args.teams), _split(args.queues))
    role = check_role(args.role)
    if role == "admin" and scope != Scope():
        print("an admin token cannot be scoped; use --role supervisor", file=sys.stderr)
        return 2

    async def job(store: SqlTokenStore, audit: SqlAuditLog) -> int:
        info, token = await store.create(args.name, role, scope, args.token_language)
        await _record(audit, "token.create", info)
        if args.json:
            print(json.dumps({**info.to_json(), "token": token}))
        else:
            print(f"token {info.id} '{info.name}' ({info.role}, scope {_scope_text(info.scope)}):\n{token}\n"
                  "It is shown only now: store it safely.")
        return 0

    return await _with_db(args, job)


async def _list(args: argparse.Namespace) -> int:
    async def job(store: SqlTokenStore, _audit: SqlAuditLog) -> int:
        tokens = await store.list_tokens(include_revoked=args.all)
        if args.json:
            print(json.dumps([t.to_json() for t in tokens]))
            return 0
        print(f"{'id':>5}  {'name':<24} {'role':<10} {'lang':<5} {'created':<25} {'revoked':<25} scope")
        for t in tokens:
            revoked = t.revoked_at.isoformat(timespec="seconds") if t.revoked_at else "-"
            print(f"{t.id:>5}  {t.name:<24} {t.role:<10} {t.language or '-':<5} "
                  f"{t.created_at.isoformat(timespec='seconds'):<25} "
                  f"{revoked:<25} {_scope_text(t.scope)}")
        return 0

    return await _with_db(args, job)


async def _revoke(args: argparse.Namespace) -> int:
    async def job(store: SqlTokenStore, audit: SqlAuditLog) -> int:
        info = await store.revoke_id(args.id)
        if info is None:
            print(f"no active token with id {args.id}", file=sys.stderr)
            return 1
        await _record(audit, "token.revoke", info)
        if args.json:
            print(json.dumps(info.to_json()))
        else:
            print(f"revoked token {info.id} '{info.name}'; open connections close within seconds")
        return 0

    return await _with_db(args, job)


async def _language(args: argparse.Namespace) -> int:
    language = None if args.token_language == "none" else args.token_language

    async def job(store: SqlTokenStore, audit: SqlAuditLog) -> int:
        changed = await store.set_language(args.id, language)
        if changed is None:
            print(f"no active token with id {args.id}", file=sys.stderr)
            return 1
        info, before = changed
        await _record(audit, "token.language", info, language=info.language, was=before)
        if args.json:
            print(json.dumps(info.to_json()))
        else:
            print(f"token {info.id} '{info.name}': language {before or 'none'} -> {info.language or 'none'}")
        return 0

    return await _with_db(args, job)


def _scope_text(scope: Scope) -> str:
    parts = [f"{k}={','.join(v)}" for k, v in scope.to_json().items() if v is not None]
    return " ".join(parts) or "all"
