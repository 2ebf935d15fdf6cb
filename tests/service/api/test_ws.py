"""/v1/stream over a real uvicorn server with a real WebSocket client."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from websockets.exceptions import ConnectionClosed

from services.api.hub import HubOptions

from . import samples
from .conftest import ADMIN, SUP_SALES, recv, recv_type
from .fakes import QueueFeed


async def test_hello_carries_role_scope_floor_and_active_alerts(feed: QueueFeed, connect) -> None:
    feed.floor(samples.floor("bj-01"))
    feed.alert(samples.alert("fp-1"))
    feed.alert(samples.alert("fp-gone", n=1))
    feed.alert(samples.alert("fp-gone", n=2, state="resolved"))
    await feed.drained()
    conn = await connect(ADMIN)
    hello = await recv(conn)
    assert hello["type"] == "hello"
    assert hello["seq"] == 1
    assert hello["role"] == "admin"
    assert hello["scope"] == {"sites": None, "teams": None, "queues": None}
    assert hello["floor"] == {"bj-01": samples.floor("bj-01")}
    assert [a["fingerprint"] for a in hello["alerts"]] == ["fp-1"]
    assert isinstance(hello["session"], str) and hello["session"]


async def test_seq_increases_by_one_per_message(feed: QueueFeed, connect) -> None:
    conn = await connect(ADMIN)
    await recv(conn)
    for i in range(20):
        feed.alert(samples.alert(f"fp-{i}"))
        feed.floor(samples.floor("bj-01", seq=i + 2))
        await asyncio.sleep(0)
    seqs = [1]
    types = set()
    alerts = 0
    while alerts < 20:
        msg = await recv(conn)
        seqs.append(msg["seq"])
        types.add(msg["type"])
        alerts += msg["type"] == "alert"
    assert seqs == list(range(1, len(seqs) + 1))
    assert types <= {"alert", "floor", "heartbeat"}


async def test_queue_scoped_supervisor_never_sees_other_queues(feed: QueueFeed, connect) -> None:
    feed.floor(samples.floor("bj-01"))
    feed.floor(samples.floor("sh-02"))
    feed.alert(samples.alert("fp-support", queue="support"))
    feed.alert(samples.alert("fp-sales", queue="sales"))
    await feed.drained()
    conn = await connect(SUP_SALES)
    raw_hello = await asyncio.wait_for(conn.recv(), 3)
    hello = orjson.loads(raw_hello)
    assert hello["role"] == "supervisor"
    assert hello["scope"] == {"sites": ["bj-01"], "teams": None, "queues": ["sales"]}
    assert list(hello["floor"]) == ["bj-01"]
    floor = hello["floor"]["bj-01"]
    assert [q["queue"] for q in floor["queues"]] == ["sales"]
    assert [t["team"] for t in floor["teams"]] == ["t-sales"]
    assert [a["agent"] for a in floor["agents"]] == ["a1", "a2"]
    assert floor["totals"]["calls_waiting"] == 3
    assert [a["fingerprint"] for a in hello["alerts"]] == ["fp-sales"]

    # live updates: another support alert and a new snapshot; then a sales alert as a marker
    feed.alert(samples.alert("fp-support-2", queue="support"))
    feed.floor(samples.floor("bj-01", seq=2, support_waiting=9))
    feed.floor(samples.floor("sh-02", seq=2))
    feed.alert(samples.alert("fp-sales-2", queue="sales"))
    texts = [raw_hello]
    while True:
        text = await asyncio.wait_for(conn.recv(), 3)
        texts.append(text)
        if orjson.loads(text).get("alert", {}).get("fingerprint") == "fp-sales-2":
            break
    for text in texts:
        assert "support" not in text
        assert "sh-02" not in text


async def test_subscribe_narrows_and_never_widens(feed: QueueFeed, connect) -> None:
    feed.floor(samples.floor("bj-01"))
    await feed.drained()
    admin = await connect(ADMIN)
    await recv(admin)
    await admin.send(orjson.dumps({"op": "subscribe", "queues": ["support"]}).decode())
    hello = await recv_type(admin, "hello")
    assert hello["scope"]["queues"] == ["support"]
    assert [q["queue"] for q in hello["floor"]["bj-01"]["queues"]] == ["support"]

    sup = await connect(SUP_SALES)
    await recv(sup)
    wider = {"op": "subscribe", "sites": ["bj-01", "sh-02"], "queues": ["support"]}
    await sup.send(orjson.dumps(wider).decode())
    hello = await recv_type(sup, "hello")
    assert hello["scope"] == {"sites": ["bj-01"], "teams": None, "queues": []}
    assert hello["floor"]["bj-01"]["queues"] == []
    assert hello["floor"]["bj-01"]["agents"] == []


@pytest.mark.parametrize("token", [None, "not-a-token"])
async def test_bad_or_missing_token_closes_4401(connect, token: str | None) -> None:
    conn = await connect(token)
    with pytest.raises(ConnectionClosed) as info:
        await recv(conn)
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 4401


async def test_token_in_authorization_header(connect) -> None:
    conn = await connect(None, headers={"Authorization": f"Bearer {SUP_SALES}"})
    hello = await recv(conn)
    assert hello["role"] == "supervisor"


async def test_invalid_ops_get_error_messages_not_a_disconnect(connect) -> None:
    conn = await connect(ADMIN)
    await recv(conn)
    for bad in ["not json", "[1, 2]", '{"op": "dance"}', '{"op": "subscribe", "queues": "sales"}',
                '{"op": "resume", "since": 1}']:
        await conn.send(bad)
        msg = await recv_type(conn, "error")
        assert msg["detail"]
    await conn.send('{"op": "ping", "id": 7}')
    pong = await recv_type(conn, "pong")
    assert pong["id"] == 7


@pytest.mark.parametrize("hub_options", [HubOptions(heartbeat_s=0.2)])
async def test_heartbeat_when_idle(connect) -> None:
    conn = await connect(ADMIN)
    hello = await recv(conn)
    assert hello["heartbeat_s"] == 0.2
    beat = await recv(conn, within=2)
    assert beat["type"] == "heartbeat"
    assert beat["seq"] == 2


async def test_resume_replays_what_was_missed(feed: QueueFeed, connect) -> None:
    conn = await connect(ADMIN)
    hello = await recv(conn)
    feed.alert(samples.alert("fp-1"))
    first = await recv_type(conn, "alert")
    assert first["seq"] == 2
    # The client "loses" seq 3 (sent but never read) and then disconnects; seq 4+ come while away.
    feed.alert(samples.alert("fp-2"))
    await feed.drained()
    await asyncio.sleep(0.1)
    await conn.close()
    feed.alert(samples.alert("fp-3"))
    feed.alert(samples.alert("fp-4"))
    await feed.drained()

    again = await connect(ADMIN, session=hello["session"])
    await again.send(orjson.dumps({"op": "resume", "since": 2}).decode())
    got = [await recv(again) for _ in range(3)]
    assert [m["seq"] for m in got] == [3, 4, 5]
    assert [m["alert"]["fingerprint"] for m in got] == ["fp-2", "fp-3", "fp-4"]
    feed.alert(samples.alert("fp-5"))
    nxt = await recv_type(again, "alert")
    assert (nxt["seq"], nxt["alert"]["fingerprint"]) == (6, "fp-5")


@pytest.mark.parametrize("hub_options", [HubOptions(replay_size=3)])
async def test_resume_too_old_gets_a_fresh_hello(feed: QueueFeed, connect) -> None:
    conn = await connect(ADMIN)
    hello = await recv(conn)
    for i in range(6):
        feed.alert(samples.alert(f"fp-{i}"))
    for _ in range(6):
        await recv_type(conn, "alert")
    await conn.close()

    again = await connect(ADMIN, session=hello["session"])
    await again.send(orjson.dumps({"op": "resume", "since": 1}).decode())
    fresh = await recv(again)
    assert fresh["type"] == "hello"
    assert fresh["resumed"] is False
    assert fresh["seq"] == 1
    assert fresh["session"] != hello["session"]
    assert len(fresh["alerts"]) == 6


async def test_resume_of_someone_elses_session_is_refused(connect) -> None:
    conn = await connect(ADMIN)
    hello = await recv(conn)
    await conn.close()
    thief = await connect(SUP_SALES, session=hello["session"])
    await thief.send(orjson.dumps({"op": "resume", "since": 1}).decode())
    fresh = await recv(thief)
    assert (fresh["type"], fresh["resumed"], fresh["role"]) == ("hello", False, "supervisor")


async def test_clients_gauge_and_shutdown_closes_clients(
        feed: QueueFeed, server, connect, registry) -> None:
    conns = [await connect(ADMIN) for _ in range(2)]
    for conn in conns:
        await recv(conn)
    assert registry.get_sample_value("floorwatch_ws_clients") == 2
    stopping = asyncio.create_task(server.stop())
    for conn in conns:
        with pytest.raises(ConnectionClosed) as info:
            await recv_type(conn, "never", within=5)
        # uvicorn closes its connections (1012, service restart) before the lifespan ends;
        # the lifespan's own close (1001) is for servers that end the lifespan first
        assert info.value.rcvd is not None and info.value.rcvd.code in (1001, 1012)
    await stopping
    assert feed.closed
    assert registry.get_sample_value("floorwatch_ws_clients") == 0


async def test_resume_from_a_second_connection_takes_the_session_over(feed: QueueFeed, connect) -> None:
    old = await connect(ADMIN)
    hello = await recv(old)
    new = await connect(ADMIN, session=hello["session"])
    await new.send(orjson.dumps({"op": "resume", "since": 1}).decode())
    with pytest.raises(ConnectionClosed) as info:
        await recv_type(old, "never")
    assert info.value.rcvd is not None and info.value.rcvd.code == 4009
    feed.alert(samples.alert("fp-1"))
    msg = await recv_type(new, "alert")
    assert msg["seq"] == 2


async def test_session_param_without_resume_gets_a_hello_and_the_op_is_served(connect) -> None:
    conn = await connect(ADMIN, session="unknown")
    await conn.send('{"op": "ping"}')
    hello = await recv(conn)
    assert (hello["type"], hello["resumed"]) == ("hello", False)
    assert (await recv(conn))["type"] == "pong"
