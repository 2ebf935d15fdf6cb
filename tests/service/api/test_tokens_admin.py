"""Token administration: REST (admin only, token shown once), revocation closing open WebSockets,
the audit log, the SQL stores (SQLite and PostgreSQL) and ``floorwatch tokens`` (admin_cli)."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from services.api import admin_cli
from services.api.app import revalidate
from services.api.audit import AuditEntry, AuditQuery
from services.api.audit_sql import SqlAuditLog
from services.api.auth import Authenticator, Principal, Scope, hash_token
from services.api.tokens_sql import SqlTokenStore
from shared.db import make_engine, sessions
from shared.migrate import upgrade

from . import samples
from .conftest import ADMIN, SUP_SALES, LiveServer, recv
from .fakes import QueueFeed


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_create_list_revoke_over_rest(http: httpx.AsyncClient) -> None:
    body = {"name": "tv-floor-2", "role": "wallboard", "scope": {"sites": ["bj-01"], "queues": ["sales"]}}
    r = await http.post("/v1/tokens", json=body, headers=auth(ADMIN))
    assert r.status_code == 201, r.text
    created = r.json()
    token = created.pop("token")
    assert len(token) >= 40
    assert created["scope"] == {"sites": ["bj-01"], "teams": None, "queues": ["sales"]}
    # the new token works, with its role and scope
    assert (await http.get("/v1/floor", headers=auth(token))).status_code == 200
    assert (await http.get("/v1/floor/sh-02", headers=auth(token))).status_code == 403
    # listed without the token or its hash
    listed = (await http.get("/v1/tokens", headers=auth(ADMIN))).json()["tokens"]
    assert created in listed
    assert token not in json.dumps(listed) and hash_token(token) not in json.dumps(listed)

    r = await http.delete(f"/v1/tokens/{created['id']}", headers=auth(ADMIN))
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    assert (await http.get("/v1/floor", headers=auth(token))).status_code == 401
    r = await http.delete(f"/v1/tokens/{created['id']}", headers=auth(ADMIN))
    assert (r.status_code, r.json()) == (404, {"detail": f"no active token with id {created['id']}"})
    listed = (await http.get("/v1/tokens", headers=auth(ADMIN))).json()["tokens"]
    assert created["id"] not in [t["id"] for t in listed]
    everything = (await http.get("/v1/tokens?include_revoked=true", headers=auth(ADMIN))).json()["tokens"]
    assert created["id"] in [t["id"] for t in everything]

    audit = (await http.get("/v1/audit", headers=auth(ADMIN))).json()["entries"]
    assert [(e["action"], e["target"], e["actor"]) for e in audit[:2]] == [
        ("token.revoke", str(created["id"]), "admin"),
        ("token.create", str(created["id"]), "admin"),
    ]
    assert token not in json.dumps(audit)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"name": "x", "role": "root"}, "role: Input should be 'admin', 'supervisor' or 'wallboard'"),
        ({"name": "x", "role": "admin", "scope": {"sites": ["bj-01"]}}, "an admin token cannot be scoped"),
        ({"name": "x", "role": "wallboard", "scope": {"floors": ["bj-01"]}}, "scope.floors"),
        ({"name": "", "role": "wallboard"}, "name: String should have at least 1 character"),
    ],
)
async def test_bad_token_requests_are_422_with_a_reason(
    http: httpx.AsyncClient, body: dict, detail: str
) -> None:
    r = await http.post("/v1/tokens", json=body, headers=auth(ADMIN))
    assert r.status_code == 422
    assert detail in r.json()["detail"]


async def test_an_admin_changes_a_token_s_language_and_it_is_audited(http: httpx.AsyncClient) -> None:
    body = {"name": "tv-lang", "role": "wallboard", "scope": {"sites": ["bj-01"]}}
    created = (await http.post("/v1/tokens", json=body, headers=auth(ADMIN))).json()
    tid, token = created["id"], created["token"]

    async def reader_language() -> str:
        r = await http.get("/v1/i18n", headers={**auth(token), "Accept-Language": "en"})
        return str(r.json()["language"])

    assert created["language"] is None and await reader_language() == "en"
    r = await http.patch(f"/v1/tokens/{tid}", json={"language": "zh"}, headers=auth(ADMIN))
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in ("id", "name", "language", "revoked_at")} == {
        "id": tid, "name": "tv-lang", "language": "zh", "revoked_at": None}
    assert await reader_language() == "zh"  # the next request of that token speaks it
    listed = (await http.get("/v1/tokens", headers=auth(ADMIN))).json()["tokens"]
    assert [t["language"] for t in listed if t["id"] == tid] == ["zh"]
    r = await http.patch(f"/v1/tokens/{tid}", json={"language": None}, headers=auth(ADMIN))
    assert r.status_code == 200 and r.json()["language"] is None and await reader_language() == "en"
    entry = (await http.get("/v1/audit?action=token.language", headers=auth(ADMIN))).json()["entries"]
    assert [(e["target"], e["detail"]["language"], e["detail"]["was"]) for e in entry] == [
        (str(tid), None, "zh"), (str(tid), "zh", None)]
    # bad values and other callers: a clear 4xx, and nothing changes
    for bad, status, detail in [
        ({"language": "fr"}, 422, "language: Input should be 'zh' or 'en'"),
        ({}, 422, "language: Field required"),
        ({"language": "zh", "role": "admin"}, 422, "role: Extra inputs are not permitted"),
    ]:
        r = await http.patch(f"/v1/tokens/{tid}", json=bad, headers=auth(ADMIN))
        assert r.status_code == status and detail in r.json()["detail"], (bad, r.json())
    r = await http.patch("/v1/tokens/999999", json={"language": "zh"}, headers=auth(ADMIN))
    assert (r.status_code, r.json()) == (404, {"detail": "no active token with id 999999"})
    r = await http.patch(f"/v1/tokens/{tid}", json={"language": "zh"}, headers=auth(SUP_SALES))
    assert r.status_code == 403
    assert await http.delete(f"/v1/tokens/{tid}", headers=auth(ADMIN))
    r = await http.patch(f"/v1/tokens/{tid}", json={"language": "zh"}, headers=auth(ADMIN))
    assert r.status_code == 404  # a revoked token is not changed
    assert [t["language"] for t in (await http.get("/v1/tokens?include_revoked=true", headers=auth(ADMIN))
                                    ).json()["tokens"] if t["id"] == tid] == [None]


async def test_revoking_a_token_closes_its_open_websockets(app, server: LiveServer, connect) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        r = await client.post("/v1/tokens", json={"name": "tv", "role": "wallboard"}, headers=auth(ADMIN))
    token, token_id = r.json()["token"], r.json()["id"]
    victims = [await connect(token) for _ in range(2)]
    bystander = await connect(SUP_SALES)
    for conn in [*victims, bystander]:
        assert (await recv(conn))["type"] == "hello"
    async with httpx.AsyncClient(base_url=server.url) as client:
        r = await client.delete(f"/v1/tokens/{token_id}", headers=auth(ADMIN))
    assert r.json()["closed_connections"] == 2
    for conn in victims:
        with pytest.raises(ConnectionClosed) as info:
            await recv(conn)
        assert info.value.rcvd is not None and (info.value.rcvd.code, info.value.rcvd.reason) == (
            4401,
            "token revoked",
        )
    await bystander.send('{"op": "ping", "id": 1}')
    assert (await recv(bystander))["type"] == "pong"
    # the revoked session cannot be resumed either
    assert app.state.floorwatch.hub.credentials() == {hash_token(SUP_SALES)}


async def test_a_token_revoked_elsewhere_loses_its_connections_at_the_next_check(
    app, server: LiveServer, connect
) -> None:
    runtime = app.state.floorwatch
    store = runtime.auth.store
    info, token = await store.create("tv-cli", "wallboard", Scope.of(sites=["bj-01"]))
    conn = await connect(token)
    assert (await recv(conn))["type"] == "hello"
    assert await revalidate(runtime) == 0  # still valid: nothing closed
    await store.revoke_id(info.id)  # as `floorwatch tokens revoke` does, behind the API's back
    assert await revalidate(runtime) == 1
    with pytest.raises(ConnectionClosed) as closed:
        await recv(conn)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_the_reaper_runs_the_check(feed: QueueFeed, registry) -> None:
    """With a short interval the lifespan's reaper closes a revoked token's connection by itself."""
    from services.api.app import create_app
    from services.api.runtime import ApiOptions
    from shared.config import Settings

    from .conftest import token_store
    from .fakes import RecordingSink

    app = create_app(
        Settings(admin_token=ADMIN),
        feed=feed,
        commands=RecordingSink(),
        registry=registry,
        tokens=token_store(),
        options=ApiOptions(reap_interval_s=0.05, revalidate_interval_s=0.1),
    )
    server = await LiveServer(app).start()
    try:
        import websockets

        info, token = await app.state.floorwatch.auth.store.create("tv", "wallboard", Scope())
        async with websockets.connect(f"{server.ws_url}?token={token}", ping_interval=None) as conn:
            assert (await recv(conn))["type"] == "hello"
            await app.state.floorwatch.auth.store.revoke_id(info.id)
            with pytest.raises(ConnectionClosed) as closed:
                await recv(conn, within=2.0)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    finally:
        await server.stop()


async def test_ack_and_silence_are_audited_and_scoped(feed: QueueFeed, http: httpx.AsyncClient) -> None:
    feed.floor(samples.floor("bj-01"))
    feed.alert(samples.alert("fp-sales", queue="sales"))
    feed.alert(samples.alert("fp-sh", site="sh-02", queue="sales"))
    await feed.drained()
    await http.post("/v1/alerts/fp-sales/ack", json={"note": "on it"}, headers=auth(SUP_SALES))
    await http.post("/v1/alerts/fp-sh/ack", json={"note": "elsewhere"}, headers=auth(ADMIN))
    entries = (await http.get("/v1/audit", headers=auth(ADMIN))).json()["entries"]
    assert [(e["action"], e["target"], e["actor"], e["site"], e["detail"]["note"]) for e in entries] == [
        ("alert.ack", "fp-sh", "admin", "sh-02", "elsewhere"),
        ("alert.ack", "fp-sales", "alice", "bj-01", "on it"),
    ]
    mine = (await http.get("/v1/audit", headers=auth(SUP_SALES))).json()["entries"]
    assert [e["target"] for e in mine] == ["fp-sales"]
    r = await http.get("/v1/audit", params={"action": "token.create"}, headers=auth(ADMIN))
    assert r.json()["entries"] == []
    r = await http.get("/v1/audit", params={"action": "nonsense"}, headers=auth(ADMIN))
    assert r.status_code == 422 and "action" in r.json()["detail"]


async def test_audit_pages_backwards(http: httpx.AsyncClient) -> None:
    for i in range(5):
        await http.post("/v1/tokens", json={"name": f"t{i}", "role": "wallboard"}, headers=auth(ADMIN))
    first = (await http.get("/v1/audit", params={"limit": 3}, headers=auth(ADMIN))).json()
    assert [e["detail"]["name"] for e in first["entries"]] == ["t4", "t3", "t2"]
    rest = (
        await http.get(
            "/v1/audit", params={"limit": 3, "before_id": first["next_before_id"]}, headers=auth(ADMIN)
        )
    ).json()
    assert [e["detail"]["name"] for e in rest["entries"]] == ["t1", "t0"]
    assert rest["next_before_id"] is None


# -- the SQL stores, on SQLite and on PostgreSQL ---------------------------------------------------------
@pytest.fixture
def db_url(sql_url: str) -> str:
    return sql_url  # the real migrations, 0003 included (tests/conftest.py)


async def test_sql_token_store_and_audit_log(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        store, audit = SqlTokenStore(sessions(engine)), SqlAuditLog(sessions(engine))
        info, token = await store.create("tv-3", "wallboard", Scope.of(sites=["bj-01"], queues=["sales"]))
        assert info.token_sha256 == hash_token(token) and info.created_at.tzinfo is not None
        principal = await Authenticator("admin-secret", store).authenticate(token)
        assert principal is not None and principal.scope == Scope.of(sites=["bj-01"], queues=["sales"])
        assert info.id in [t.id for t in await store.list_tokens()]
        revoked = await store.revoke_id(info.id)
        assert revoked is not None and revoked.revoked_at is not None
        assert await store.revoke_id(info.id) is None
        assert await store.lookup(hash_token(token)) is None
        assert info.id not in [t.id for t in await store.list_tokens()]
        assert info.id in [t.id for t in await store.list_tokens(include_revoked=True)]

        # a token's language changes after creation; a revoked one's does not
        other, other_token = await store.create("tv-4", "wallboard", Scope.of(sites=["bj-01"]), "en")
        changed = await store.set_language(other.id, "zh")
        assert changed is not None and changed[0].language == "zh" and changed[1] == "en"
        found = await store.lookup(hash_token(other_token))
        assert found is not None and found.language == "zh"
        assert [t.language for t in await store.list_tokens() if t.id == other.id] == ["zh"]
        cleared = await store.set_language(other.id, None)
        assert cleared is not None and cleared[0].language is None and cleared[1] == "zh"
        with pytest.raises(ValueError, match="unknown language 'fr'"):
            await store.set_language(other.id, "fr")
        assert await store.set_language(info.id, "zh") is None  # revoked
        assert await store.set_language(10**9, "zh") is None

        for i, site in enumerate(["bj-01", "sh-02", "bj-01", None]):
            await audit.record(
                AuditEntry(
                    at=revoked.revoked_at,
                    actor="a",
                    role="admin",
                    action="alert.ack",
                    target=f"fp{i}",
                    request_id=f"r{i}",
                    site=site,
                    scope={"queue": "q"},
                    detail={"note": "n"},
                )
            )
        everything = await audit.query(AuditQuery(limit=10), lambda e: True)
        assert [e.target for e in everything] == ["fp3", "fp2", "fp1", "fp0"]
        bj = await audit.query(AuditQuery(sites=frozenset({"bj-01"}), limit=1), lambda e: True)
        assert [e.target for e in bj] == ["fp2"]
        older = await audit.query(AuditQuery(sites=frozenset({"bj-01"}), before_id=bj[0].id), lambda e: True)
        assert [e.target for e in older] == ["fp0"]
        assert everything[0].scope == {"queue": "q"} and everything[0].at.tzinfo is not None
    finally:
        await engine.dispose()


# -- floorwatch tokens (admin_cli) --------------------------------------------------------------------------
def _cli(db: str, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="floorwatch")
    admin_cli.add_token_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args([*argv, "--db", db])
    return int(args.func(args))


async def _lookup(db: str, token: str) -> Principal | None:
    """The principal of ``token`` in database ``db``, as the API would find it."""
    engine = make_engine(db)
    try:
        return await SqlTokenStore(sessions(engine)).lookup(hash_token(token))
    finally:
        await engine.dispose()


def test_cli_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    upgrade(db)
    assert _cli(db, "tokens", "create", "tv-9", "--role", "wallboard", "--sites", "bj-01", "--json") == 0
    created = json.loads(capsys.readouterr().out)
    assert created["scope"] == {"sites": ["bj-01"], "teams": None, "queues": None}
    assert _cli(db, "tokens", "list") == 0
    table = capsys.readouterr().out
    assert "tv-9" in table and "sites=bj-01" in table and created["token"] not in table
    assert _cli(db, "tokens", "create", "boss", "--role", "admin", "--sites", "bj-01") == 2
    assert "cannot be scoped" in capsys.readouterr().err

    assert asyncio.run(_lookup(db, created["token"])) is not None
    assert _cli(db, "tokens", "revoke", str(created["id"])) == 0
    assert asyncio.run(_lookup(db, created["token"])) is None
    assert _cli(db, "tokens", "revoke", str(created["id"])) == 1
    assert "no active token" in capsys.readouterr().err

    async def audit_actions() -> list[tuple[str, str]]:
        engine = make_engine(db)
        try:
            entries = await SqlAuditLog(sessions(engine)).query(AuditQuery(), lambda e: True)
            return [(e.action, e.actor.split(":")[0]) for e in entries]
        finally:
            await engine.dispose()

    assert asyncio.run(audit_actions()) == [("token.revoke", "cli"), ("token.create", "cli")]


def test_cli_creates_a_token_with_its_readers_language(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """``--language zh``: kept in the database (migration 0007) and carried by the principal, so the
    pages and error texts of that token speak Chinese (issue 15)."""
    db = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    upgrade(db)
    assert _cli(db, "tokens", "create", "tv-zh", "--role", "wallboard", "--language", "zh", "--json") == 0
    created = json.loads(capsys.readouterr().out)
    assert created["language"] == "zh"
    with pytest.raises((SystemExit, argparse.ArgumentError)):  # argparse refuses it
        _cli(db, "tokens", "create", "tv-x", "--role", "wallboard", "--language", "fr")

    principal = asyncio.run(_lookup(db, created["token"]))
    assert principal is not None and principal.language == "zh"


def test_cli_changes_a_token_s_language(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``floorwatch tokens language ID zh|en|none``: the API's next lookup of that token has it;
    audited like the other token changes; a bad value or id is refused with the reason."""
    db = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    upgrade(db)
    assert _cli(db, "tokens", "create", "tv-7", "--role", "wallboard", "--json") == 0
    created = json.loads(capsys.readouterr().out)
    assert _cli(db, "tokens", "language", str(created["id"]), "zh") == 0
    assert "language none -> zh" in capsys.readouterr().out
    assert _cli(db, "tokens", "list") == 0
    assert [line.split()[3] for line in capsys.readouterr().out.splitlines()[1:]] == ["zh"]  # its lang column
    principal = asyncio.run(_lookup(db, created["token"]))
    assert principal is not None and principal.language == "zh"
    assert _cli(db, "tokens", "language", str(created["id"]), "none", "--json") == 0
    assert json.loads(capsys.readouterr().out)["language"] is None
    assert asyncio.run(_lookup(db, created["token"])).language is None  # type: ignore[union-attr]
    with pytest.raises(SystemExit):  # argparse: "invalid choice: 'fr' (choose from 'zh', 'en', 'none')"
        _cli(db, "tokens", "language", str(created["id"]), "fr")
    assert "invalid choice: 'fr'" in capsys.readouterr().err
    assert _cli(db, "tokens", "language", "999", "zh") == 1
    assert "no active token with id 999" in capsys.readouterr().err

    async def audited() -> list[tuple[str, object, object]]:
        engine = make_engine(db)
        try:
            entries = await SqlAuditLog(sessions(engine)).query(AuditQuery(), lambda e: True)
            return [(e.action, e.detail.get("language"), e.detail.get("was")) for e in entries]
        finally:
            await engine.dispose()

    assert asyncio.run(audited())[:2] == [("token.language", None, "zh"), ("token.language", "zh", None)]
