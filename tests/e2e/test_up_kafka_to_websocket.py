"""The spine, end to end: a plain Kafka producer sends canonical events to the raw topic of a
running `floorwatch up` (real broker, PostgreSQL); a WebSocket client sees the floor change and the
alert the events trip; Ctrl-C stops everything cleanly."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from pathlib import Path

import orjson
import pytest
import websockets

from shared.config import Settings
from tests.support.kafkautil import canonical, produce
from tests.support.upproc import BACKLOG_RULES, TOKEN, Up

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres]


async def _recv_until(ws, pred, within: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    seen = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"not received in {within}s; saw {[m['type'] for m in seen][-20:]}")
        msg = json.loads(await asyncio.wait_for(ws.recv(), left))
        seen.append(msg)
        if pred(msg):
            return msg, seen


def test_events_in_kafka_reach_a_websocket_as_floor_and_alert(
    settings: Settings, pg_url: str, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"database_url": pg_url})
    rules = tmp_path / "rules.yaml"
    rules.write_text(BACKLOG_RULES)
    up = Up(settings, tmp_path, "--rules", str(rules))
    try:
        up.wait_ready()
        # The user is told where to look, with the token.
        deadline = time.monotonic() + 10
        while "wallboard:" not in up.tail() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert f"/wallboard?token={TOKEN}" in up.tail(), up.tail()
        asyncio.run(_scenario(up, settings))
    finally:
        code = up.stop()
    assert code == 0, up.tail()


async def _scenario(up: Up, settings: Settings) -> None:
    now = dt.datetime.now(dt.UTC)
    ts = lambda s: (now + dt.timedelta(seconds=s)).isoformat()  # noqa: E731
    async with websockets.connect(up.ws) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert hello["type"] == "hello" and hello["role"] == "admin"
        seqs = [hello["seq"]]
        events = [canonical("agent.login", site="e2e", ts=ts(0), agent="a1", team="t1", queues=["sales"])]
        events += [
            canonical("call.queued", site="e2e", ts=ts(0.1 * i), call=f"c{i}", queue="sales")
            for i in range(4)
        ]
        produce(settings, settings.topic("raw"), [orjson.dumps(e) for e in events], key=b"e2e")
        t0 = time.monotonic()
        alert, seen = await _recv_until(
            ws, lambda m: m["type"] == "alert" and m["alert"]["state"] == "firing", 30
        )
        latency = time.monotonic() - t0
        seqs += [m["seq"] for m in seen]
        a = alert["alert"]
        assert a["rule"] == "queue-backlog" and a["severity"] == "critical"
        assert a["scope"] == {"site": "e2e", "queue": "sales"}
        assert a["value"] >= 3
        _, more = await _recv_until(
            ws,
            lambda m: (
                m["type"] == "floor"
                and m["site"] == "e2e"
                and any(q["queue"] == "sales" and q["calls_waiting"] == 4 for q in m["floor"]["queues"])
            ),
            15,
        )
        seqs += [m["seq"] for m in more]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

        # The calls get answered: the backlog clears and the alert resolves.
        answered = [
            canonical("call.answered", site="e2e", ts=ts(5 + i), call=f"c{i}", queue="sales", agent="a1")
            for i in range(4)
        ]
        produce(settings, settings.topic("raw"), [orjson.dumps(e) for e in answered], key=b"e2e")
        resolved, _ = await _recv_until(
            ws, lambda m: m["type"] == "alert" and m["alert"]["state"] == "resolved", 30
        )
        assert resolved["alert"]["fingerprint"] == a["fingerprint"]
    print(f"event→WebSocket alert latency incl. consumer-group joins: {latency:.2f}s")
