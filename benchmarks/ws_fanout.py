"""WebSocket fan-out: one alert, and a burst of alerts, to N connected clients.

    .venv/bin/python -m benchmarks.ws_fanout [--clients 1000,5000,10000] [--procs 4] [--burst 100]
                                             [--deflate] [--skip-burst-above N]
                                             [--direct-write-limit BYTES] [--light-clients]

For each N: a real uvicorn API (``create_app``, as ``floorwatch api`` runs it) in a child process,
fed by a fake feed that reads alert transitions from its stdin (so this process controls exactly
when an alert enters the API); N WebSocket clients (``websockets``) spread over ``--procs`` other
processes (``--light-clients``: bare Sans-I/O clients, see ``_light_clients``). Each alert
carries its send time (wall clock, same host); each client records when it received it. Figures:

* one alert → all N clients: p50 / p99 / max of (received − sent), over all clients;
* a burst of ``--burst`` alerts sent back to back: the latency of every alert at every client,
  p50 / p99 / max, when the last client got the last alert, and how the hub degraded (resyncs,
  alert_overflow drops, slow closes — from /metrics);
* the API process's RSS (VmRSS) idle, with N clients, and after the burst.

* CPU seconds the API process and the client processes used for the single alert (from
  ``/proc/<pid>/stat``; everything is idle before it, so this is the cost of one fan-out).

``--direct-write-limit 0`` turns the hub's fast path off (every frame through the session's writer
task, as before it existed) for a before/after comparison. Loopback only; every wait is bounded.
``--deflate`` runs the server with permessage-deflate (``ws_per_message_deflate=True``) and the
clients offering it (a deflated connection never takes the fast path).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from floorwatch.services.api.hub import HubOptions
from floorwatch.shared.broker import free_port

TOKEN = "bench-admin-token"
T0 = "2026-11-28T09:15:00+08:00"


def raise_fd_limit() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# -- the server (child process) --------------------------------------------------------------------------
class StdinFeed:
    """A Feed: one JSON alert transition per stdin line."""

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        from floorwatch.services.api.ports import FeedItem

        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 20)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            line = line.strip()
            if line:
                yield FeedItem("alert", "bench", line)


class NullSink:
    async def send(self, site: str, command: dict[str, Any]) -> None:
        return None


def serve(port: int, deflate: bool, direct_limit: int) -> None:
    import uvicorn
    from prometheus_client import CollectorRegistry

    from floorwatch.services.api.app import create_app
    from floorwatch.services.api.runtime import ApiOptions
    from floorwatch.shared.config import Settings

    raise_fd_limit()
    app = create_app(Settings(admin_token=TOKEN), feed=StdinFeed(), commands=NullSink(),
                     registry=CollectorRegistry(), options=ApiOptions(hub=HubOptions(max_sessions=20_000,
                                                                       direct_write_limit=direct_limit)))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", backlog=4096,
                            ws_per_message_deflate=deflate, ws_ping_interval=None)
    uvicorn.Server(config).run()


# -- the clients (child processes) ----------------------------------------------------------------------
def client_main(port: int, count: int, deflate: bool, conn: Any, light: bool = False) -> None:
    raise_fd_limit()
    asyncio.run(_light_clients(port, count, conn) if light else _clients(port, count, deflate, conn))


def _on_text(got: dict[str, list[float]], raw: bytes | bytearray | str, now: float) -> bool:
    """Record an alert's receipt time; True for a hello."""
    data = raw.encode() if isinstance(raw, str) else raw
    if b'"type":"alert"' in data:
        got.setdefault(orjson.loads(data)["alert"]["id"], []).append(now)
    return b'"type":"hello"' in data


async def _light_clients(port: int, count: int, pipe: Any) -> None:
    """``count`` clients as bare asyncio protocols over websockets' Sans-I/O ``ClientProtocol``:
    frames are handled in ``data_received``, no task or future per message — a stand-in for
    clients on other machines, so that the API process gets the CPU the full clients would take."""
    from websockets.client import ClientProtocol
    from websockets.frames import Frame, Opcode
    from websockets.uri import parse_uri

    uri = parse_uri(f"ws://127.0.0.1:{port}/v1/stream?token={TOKEN}")
    got: dict[str, list[float]] = {}
    hellos = 0
    all_hello = asyncio.Event()
    loop = asyncio.get_running_loop()

    class Client(asyncio.Protocol):
        def __init__(self) -> None:
            self.conn = ClientProtocol(uri, max_size=None)

        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            self.conn.send_request(self.conn.connect())
            transport.write(b"".join(self.conn.data_to_send()))

        def data_received(self, data: bytes) -> None:
            nonlocal hellos
            now = time.time()
            self.conn.receive_data(data)
            for event in self.conn.events_received():
                if not isinstance(event, Frame) or event.opcode is not Opcode.TEXT:
                    continue
                if _on_text(got, event.data, now):
                    hellos += 1
                    if hellos == count:
                        all_hello.set()
            if out := self.conn.data_to_send():
                self.transport.write(b"".join(out))

    transports = []
    for i in range(0, count, 100):
        made = await asyncio.gather(*(loop.create_connection(Client, "127.0.0.1", port)
                                      for _ in range(min(100, count - i))))
        transports += [t for t, _ in made]
    try:
        async with asyncio.timeout(180):
            await all_hello.wait()
    except TimeoutError:
        pass
    pipe.send(("ready", hellos))
    await loop.run_in_executor(None, pipe.recv)
    pipe.send(("times", got))
    for t in transports:
        t.close()


async def _clients(port: int, count: int, deflate: bool, pipe: Any) -> None:
    import websockets

    url = f"ws://127.0.0.1:{port}/v1/stream?token={TOKEN}"
    got: dict[str, list[float]] = {}
    hellos = 0
    gate = asyncio.Semaphore(100)
    all_hello = asyncio.Event()

    async def one() -> None:
        nonlocal hellos
        async with gate:
            ws = await websockets.connect(url, ping_interval=None, max_size=None, open_timeout=60,
                                          compression="deflate" if deflate else None)
        try:
            async for raw in ws:
                if _on_text(got, raw, time.time()):
                    hellos += 1
                    if hellos == count:
                        all_hello.set()
        except websockets.ConnectionClosed:
            pass

    tasks = [asyncio.create_task(one()) for _ in range(count)]
    try:
        async with asyncio.timeout(180):
            await all_hello.wait()
    except TimeoutError:
        pass
    loop = asyncio.get_running_loop()
    pipe.send(("ready", hellos))
    # the parent says when to report; until then the clients just receive
    await loop.run_in_executor(None, pipe.recv)
    pipe.send(("times", got))
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# -- the conductor ------------------------------------------------------------------------------------------
def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def alert_line(fp: str, stamps: dict[str, float]) -> bytes:
    """One alert transition; its send time goes into ``stamps`` and travels in ``details.sent_at``."""
    stamps[fp] = time.time()
    doc = {"id": fp, "fingerprint": fp, "rule": "bench", "kind": "threshold", "severity": "warning",
           "state": "firing", "previous": "pending", "scope": {"site": "bench", "queue": "sales"},
           "summary": "sales: 12 calls waiting (> 10)", "value": 12.0, "threshold": 10.0, "started_at": T0,
           "updated_at": T0, "event_time": T0, "ack": None, "silenced_until": None, "labels": {},
           "details": {"sent_at": stamps[fp]}, "transition_id": f"{fp}:1"}
    return orjson.dumps(doc) + b"\n"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def metrics(port: int) -> dict[str, float]:
    try:  # the server may be too busy fanning out to answer in time: then ask again later
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    except httpx.TimeoutException:
        return {}
    out = {}
    for line in text.splitlines():
        for name in ("floorwatch_ws_resyncs_total", "floorwatch_ws_slow_closes_total",
                     'floorwatch_ws_messages_sent_total{type="alert"}', "floorwatch_ws_clients",
                     'floorwatch_ws_dropped_total{reason="alert_overflow"}'):
            if line.startswith(name + " "):
                out[name] = float(line.split()[-1])
    return out


def wait_sent(port: int, target: float, limit_s: float) -> None:
    """Until the server has sent ``target`` alert frames in all (bounded by ``limit_s``)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if metrics(port).get('floorwatch_ws_messages_sent_total{type="alert"}', 0) >= target:
            return
        time.sleep(0.5)


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(n: int, procs: int, burst: int, deflate: bool, direct_limit: int, light: bool,
        stamps: dict[str, float]) -> dict[str, Any]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "benchmarks.ws_fanout", "--serve", str(port),
                               "--direct-write-limit", str(direct_limit)]
                              + (["--deflate"] if deflate else []), stdin=subprocess.PIPE)
    assert server.stdin is not None
    result: dict[str, Any] = {"clients": n, "deflate": deflate, "direct_write_limit": direct_limit,
                              "light_clients": light}
    workers = []
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.1)
        result["rss_idle_mb"] = rss_mb(server.pid)
        ctx = multiprocessing.get_context("spawn")
        started = time.monotonic()
        for i in range(procs):
            mine, theirs = ctx.Pipe()
            share = n // procs + (1 if i < n % procs else 0)
            p = ctx.Process(target=client_main, args=(port, share, deflate, theirs, light), daemon=True)
            p.start()
            workers.append((p, mine))
        connected = sum(pipe.recv()[1] for _, pipe in workers)
        result["connected"] = connected
        result["connect_s"] = round(time.monotonic() - started, 1)
        time.sleep(1.0)
        result["rss_connected_mb"] = rss_mb(server.pid)

        pids = [server.pid] + [p.pid for p, _ in workers if p.pid is not None]
        cpu_before = [cpu_s(pid) for pid in pids]
        server.stdin.write(alert_line("single", stamps))
        server.stdin.flush()
        wait_sent(port, connected, 60)
        time.sleep(1.0)
        cpu = [cpu_s(pid) - before for pid, before in zip(pids, cpu_before, strict=True)]
        result["single_cpu_s"] = {"api": round(cpu[0], 2), "clients": round(sum(cpu[1:]), 2)}
        if burst:
            before = metrics(port)
            for i in range(burst):
                server.stdin.write(alert_line(f"burst-{i}", stamps))
            server.stdin.flush()
            wait_sent(port, connected * (burst + 1), 300)
            time.sleep(2.0)
            after = metrics(port)
            result["burst_metrics"] = {k: after.get(k, 0) - before.get(k, 0) for k in after}
            result["rss_after_burst_mb"] = rss_mb(server.pid)
        times: dict[str, list[float]] = {}
        for _, pipe in workers:
            pipe.send("report")
            _, got = pipe.recv()
            for fp, ts in got.items():
                times.setdefault(fp, []).extend(ts)
        result["_times"] = times
    finally:
        server.stdin.close()
        for p, _ in workers:
            p.join(30)
            if p.is_alive():
                p.kill()
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    return result


def summarize(result: dict[str, Any], stamps: dict[str, float]) -> dict[str, Any]:
    times = result.pop("_times")
    out = dict(result)
    single = [t - stamps["single"] for t in times.get("single", [])]
    out["single"] = {"received": len(single), "p50_ms": round(1000 * statistics.median(single), 1),
                     "p99_ms": round(1000 * pct(single, 0.99), 1), "max_ms": round(1000 * max(single), 1)}
    burst = [(fp, t) for fp, ts in times.items() if fp.startswith("burst-") for t in ts]
    if burst:
        lat = [t - stamps[fp] for fp, t in burst]
        last = max(t for _, t in burst) - stamps["burst-0"]
        out["burst"] = {"received": len(lat), "expected": result["connected"] * sum(
            1 for k in stamps if k.startswith("burst-")), "p50_ms": round(1000 * statistics.median(lat), 1),
            "p99_ms": round(1000 * pct(lat, 0.99), 1), "max_ms": round(1000 * max(lat), 1),
            "all_delivered_after_s": round(last, 2)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--clients", default="1000,5000,10000")
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--skip-burst-above", type=int, default=10**9)
    parser.add_argument("--deflate", action="store_true")
    parser.add_argument("--direct-write-limit", type=int, default=HubOptions().direct_write_limit)
    parser.add_argument("--light-clients", action="store_true")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.deflate, args.direct_write_limit)
        return
    raise_fd_limit()
    print(f"cores={os.cpu_count()} deflate={args.deflate} procs={args.procs}", flush=True)
    for n in [int(x) for x in args.clients.split(",")]:
        burst = args.burst if n <= args.skip_burst_above else 0
        stamps: dict[str, float] = {}
        result = run(n, args.procs, burst, args.deflate, args.direct_write_limit, args.light_clients, stamps)
        print(json.dumps(summarize(result, stamps)), flush=True)


if __name__ == "__main__":
    main()
