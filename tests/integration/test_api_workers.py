"""``floorwatch api --workers 2`` as a real process tree on the embedded broker: the kernel spreads
WebSocket clients over both workers (SO_REUSEPORT), an alert on the alerts topic reaches the clients
of both, a token revoked through one worker loses its connections on the other too, SIGTERM drains
everything, and a worker or parent that dies does not leave the rest running."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from pathlib import Path

import httpx
import orjson
import pytest
import websockets

from shared.broker import free_port
from shared.config import Settings
from shared.kafka import ensure_topics
from shared.migrate import upgrade
from tests.service.api.samples import alert
from tests.support.kafkautil import produce
from tests.support.procs import env_for, spawn

pytestmark = [pytest.mark.kafka]

ADMIN = "workers-admin-token-0123456789"
CLIENTS = 40


class Api:
    def __init__(self, settings: Settings, tmp_path: Path) -> None:
        upgrade(settings.database_url)
        ensure_topics(settings)
        self.port = free_port()
        self.metrics_port = _two_free_ports()
        self.log = tmp_path / "api.log"
        self.proc = spawn(["api", "--workers", "2", "--port", str(self.port),
                           "--metrics-port", str(self.metrics_port)],
                          env_for(settings, FLOORWATCH_ADMIN_TOKEN=ADMIN), self.log)
        self.base = f"http://127.0.0.1:{self.port}"

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def workers(self) -> list[int]:
        with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
            return [int(pid) for pid in f.read().split()]

    def wait_ready(self, timeout: float = 40) -> list[int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.tail()
            # /readyz on both workers: new connections land on either, so ask until both said so
            ready = 0
            for _ in range(8):
                with contextlib.suppress(httpx.HTTPError):
                    ready += httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200
            if ready == 8 and len(self.workers()) == 2:
                return self.workers()
            time.sleep(0.3)
        raise AssertionError(f"API workers not ready in {timeout}s\n{self.tail()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def _two_free_ports() -> int:
    for _ in range(50):
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port
    raise AssertionError("no two consecutive free ports")


def _ws_clients(port: int) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    lines = text.splitlines()
    return next(float(line.split()[-1]) for line in lines if line.startswith("floorwatch_ws_clients "))


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_gone(pids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in pids):
        assert time.monotonic() < deadline, f"still running: {[p for p in pids if _alive(p)]}"
        time.sleep(0.1)


def _owners(workers: list[int], port: int) -> dict[int, int]:
    """Client port → pid of the worker holding the server side of that connection (from /proc)."""
    inode_pid: dict[str, int] = {}
    for pid in workers:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except FileNotFoundError:
                continue
            if target.startswith("socket:["):
                inode_pid[target[8:-1]] = pid
    owners: dict[int, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                cols = line.split()
                local, remote, inode = cols[1], cols[2], cols[9]
                if int(local.rsplit(":", 1)[1], 16) == port and inode in inode_pid:
                    owners[int(remote.rsplit(":", 1)[1], 16)] = inode_pid[inode]
    return owners


async def _recv_type(ws: websockets.ClientConnection, kind: str, within: float) -> dict:  # type: ignore[type-arg]
    async with asyncio.timeout(within):
        while True:
            msg = orjson.loads(await ws.recv())
            if msg["type"] == kind:
                return msg  # type: ignore[no-any-return]


async def _connect(port: int, token: str, count: int) -> list[websockets.ClientConnection]:
    conns = []
    for _ in range(count):
        ws = await websockets.connect(f"ws://127.0.0.1:{port}/v1/stream?token={token}", ping_interval=None)
        conns.append(ws)
    await asyncio.gather(*(_recv_type(ws, "hello", 15) for ws in conns))
    return conns


async def _closed_with(ws: websockets.ClientConnection, within: float) -> int | None:
    async with asyncio.timeout(within):
        try:
            while True:
                await ws.recv()
        except websockets.ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd is not None else None


async def test_two_workers_share_the_port_the_alerts_and_the_revocations(
    settings: Settings, tmp_path: Path
) -> None:
    api = await asyncio.to_thread(Api, settings, tmp_path)  # the migration runs its own event loop
    try:
        workers = await asyncio.to_thread(api.wait_ready)
        conns = await _connect(api.port, ADMIN, CLIENTS)
        owners = _owners(workers, api.port)
        served = {pid: sum(1 for ws in conns if owners.get(ws.local_address[1]) == pid) for pid in workers}
        assert sum(served.values()) == CLIENTS, (served, owners)
        assert all(n > 0 for n in served.values()), f"one worker served every client: {served}"
        # --metrics-port: each worker's own /metrics, which together count every client
        per_worker = [_ws_clients(api.metrics_port + i) for i in range(2)]
        assert sorted(per_worker) == sorted(served.values()), (per_worker, served)

        # each worker reads the alerts topic itself: the alert reaches the clients of both
        record = orjson.dumps(alert("fp-workers"))
        await asyncio.to_thread(produce, settings, settings.topic("alerts"), [record])
        got = await asyncio.gather(*(_recv_type(ws, "alert", 20) for ws in conns))
        assert {m["alert"]["id"] for m in got} == {"fp-workers"}

        # a token revoked through one worker: its sockets on the other worker close too (revalidation)
        async with httpx.AsyncClient(base_url=api.base, headers={"Authorization": f"Bearer {ADMIN}"}) as http:
            created = (await http.post("/v1/tokens", json={"name": "tv", "role": "wallboard"})).json()
            tv = await _connect(api.port, created["token"], 12)
            tv_owners = _owners(workers, api.port)
            assert len({tv_owners[ws.local_address[1]] for ws in tv}) == 2, "tv sockets all on one worker"
            assert (await http.delete(f"/v1/tokens/{created['id']}")).status_code == 200
        codes = await asyncio.gather(*(_closed_with(ws, 15) for ws in tv))
        assert set(codes) == {4401}, codes

        # SIGTERM to the parent: every worker drains and the tree exits cleanly; the clients are
        # closed by uvicorn (1012, service restart) or the lifespan (1001), as with one process
        api.proc.send_signal(signal.SIGTERM)
        codes = await asyncio.gather(*(_closed_with(ws, 15) for ws in conns))
        assert set(codes) <= {1001, 1012}, codes
        assert await asyncio.to_thread(api.proc.wait, 30) == 0, api.tail()
        _wait_gone(workers, 5)
    finally:
        api.stop()


def test_a_worker_that_dies_takes_the_others_down(settings: Settings, tmp_path: Path) -> None:
    api = Api(settings, tmp_path)
    try:
        first, second = api.wait_ready()
        os.kill(first, signal.SIGKILL)
        assert api.proc.wait(30) == 1, api.tail()
        _wait_gone([second], 5)
        assert "exited unexpectedly" in api.tail()
    finally:
        api.stop()


def test_workers_die_with_the_parent(settings: Settings, tmp_path: Path) -> None:
    api = Api(settings, tmp_path)
    try:
        workers = api.wait_ready()
        api.proc.kill()
        api.proc.wait(10)
        _wait_gone(workers, 20)
    finally:
        api.stop()
        for pid in api.workers() if api.proc.poll() is None else []:
            os.kill(pid, signal.SIGKILL)
