"""A scoped token cannot tell "not yours" from "does not exist" (issue 9, defect 9), over REST and
the stream, and does not see which other queues its agents serve."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from . import samples
from .conftest import ADMIN, LiveServer, recv, recv_type
from .fakes import QueueFeed


def support_only(site: str) -> dict[str, Any]:
    """A floor where nothing belongs to the sales queue."""
    doc = samples.floor(site)
    doc["queues"] = [q for q in doc["queues"] if q["queue"] != "sales"]
    doc["teams"] = [t for t in doc["teams"] if t["team"] != "t-sales"]
    doc["agents"] = [a for a in doc["agents"] if "sales" not in a["queues"]]
    return doc


async def sales_token(server: LiveServer) -> str:
    """A supervisor token for the sales queue on every site (sites unrestricted)."""
    async with httpx.AsyncClient(base_url=server.url) as client:
        created = await client.post("/v1/tokens", json={"name": "sales-everywhere", "role": "supervisor",
                                                        "scope": {"queues": ["sales"]}},
                                    headers={"Authorization": f"Bearer {ADMIN}"})
    assert created.status_code == 201
    token: str = created.json()["token"]
    return token


async def test_rest_answers_the_same_for_a_site_not_in_scope_and_one_that_does_not_exist(
        feed: QueueFeed, server: LiveServer) -> None:
    feed.floor(samples.floor("bj-01"))
    feed.floor(support_only("sh-02"))
    await feed.drained()
    token = await sales_token(server)
    async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as c:
        mine = await c.get("/v1/floor/bj-01")
        assert mine.status_code == 200 and [q["queue"] for q in mine.json()["queues"]] == ["sales"]
        hidden, missing = await c.get("/v1/floor/sh-02"), await c.get("/v1/floor/xx-99")
        assert (hidden.status_code, missing.status_code) == (404, 404)
        assert hidden.json()["detail"].replace("sh-02", "S") == missing.json()["detail"].replace("xx-99", "S")
        for path in ("/v1/floor?site={}", "/v1/queues?site={}", "/v1/agents?site={}", "/v1/teams?site={}"):
            a, b = await c.get(path.format("sh-02")), await c.get(path.format("xx-99"))
            assert (a.status_code, a.json()) == (b.status_code, b.json()), path
        assert "sh-02" not in (await c.get("/v1/floor")).text


async def test_a_subscribe_to_a_site_not_in_scope_looks_like_one_that_does_not_exist(
        feed: QueueFeed, server: LiveServer, connect) -> None:
    feed.floor(samples.floor("bj-01"))
    feed.floor(support_only("sh-02"))
    await feed.drained()
    token = await sales_token(server)
    conn = await connect(token)
    hello = await recv(conn)
    assert list(hello["floor"]) == ["bj-01"]
    answers = []
    for site in ("sh-02", "xx-99"):
        await conn.send(orjson.dumps({"op": "subscribe", "sites": [site]}).decode())
        answers.append(await recv_type(conn, "hello"))
    assert [a["floor"] for a in answers] == [{}, {}]
    # a new snapshot of the hidden site reaches nobody who cannot see part of it
    feed.floor(support_only("sh-02") | {"seq": 9})
    feed.alert(samples.alert("fp-marker", site="bj-01"))
    await conn.send(orjson.dumps({"op": "subscribe", "sites": ["sh-02", "bj-01"]}).decode())
    texts = []
    while True:
        text = await conn.recv()
        texts.append(text)
        if "fp-marker" in text:
            break
    assert all('"site":"sh-02"' not in t and '"sh-02":{' not in t for t in texts)


async def test_an_agent_row_shows_only_the_queues_in_scope(feed: QueueFeed, server: LiveServer,
                                                          connect) -> None:
    doc = samples.floor("bj-01")
    doc["agents"][0]["queues"] = ["sales", "support", "vip-secret"]
    feed.floor(doc)
    await feed.drained()
    token = await sales_token(server)
    async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as c:
        agents = (await c.get("/v1/agents")).json()["agents"]
        floor = (await c.get("/v1/floor/bj-01")).json()
    assert [a["queues"] for a in agents] == [["sales"], ["sales"]]
    assert "vip-secret" not in orjson.dumps(floor).decode()
    hello = await recv(await connect(token))
    assert "vip-secret" not in orjson.dumps(hello).decode()
    assert [a["queues"] for a in hello["floor"]["bj-01"]["agents"]] == [["sales"], ["sales"]]
