"""WebSocket fan-out: one alert, and a burst of alerts, to N connected clients.

    .venv/bin/python -m benchmarks.ws_fanout [--clients 1000,5000,10000] [--procs 4] [--burst 100]
                                             [--deflate] [--skip-burst-above N] [--repeat R]
                                             [--client lean|websockets] [--client-nice NICE]
                                             [--direct-write-limit BYTES] [--api-workers K]
                                             [--gc-freeze-step N]

For each N (``--repeat`` times): a real uvicorn API (``create_app``, ``services/api/server.py``'s config as
``floorwatch api`` runs it: uvloop, httptools, ``websockets-sansio``) in a child process, fed by
a fake feed that reads alert transitions from its stdin (so this process controls exactly when an
alert enters the API); N WebSocket clients spread over ``--procs`` other processes. Clients are
``--client lean`` by default (``ws_lean_client.py``: raw asyncio protocols that parse frame
headers and timestamp in ``data_received`` — they measure the server, not a client library;
``--light-clients`` is an old alias) or ``--client websockets`` (the library, ~4× the CPU per
message). ``--client-nice`` runs the client processes at a lower priority, a stand-in for clients
on other machines. Each alert carries its send time (CLOCK_MONOTONIC, system-wide on Linux);
each client records when it received it. Figures (one JSON line per run):

* ``single``: one alert → all N clients: p50 / p99 / max of (received − sent) over all clients;
* ``burst``: ``--burst`` alerts written back to back: latency of every alert at every client;
  ``last_alert``: per client, when it had the last alert, from that alert's send time;
  ``all_delivered_after_s``; ``server_done_after_s`` (the API had handed the last alert over);
  ``burst_metrics``: how the hub degraded (resyncs, alert_overflow drops, coalesced floors, slow
  closes, from /metrics); ``client_side``: seq gaps (must be 0) and resyncs seen by the clients;
* ``rss_*_mb``: the API process's VmRSS idle, with N clients, after the burst;
* ``*_cpu_s``: CPU seconds of the API process and of all client processes (``/proc/<pid>/stat``)
  around the single alert and around the burst;
* ``server_publish_ms`` / ``server_publish_cpu_ms``: wall and CPU time of the API's
  ``apply + publish`` for the single alert (and the longest one in the burst); the gap between
  the two is time the API process was not on a CPU; ``server_full_gc_ms``: full collections
  (each ≥ 5 ms; the ones while clients connected included); ``server_probe_full_gc_ms``: one full
  ``gc.collect()`` forced in the API process with all N clients connected, before the single alert
  (the pause an alert arriving during a full collection waits), and ``server_frozen_objects``: how
  many objects ``gc.freeze`` held out of the collector then.

``--gc-freeze-step N`` sets the hub's ``gc_freeze_step`` (``services/api/gcfreeze.py``; default 256);
``--gc-freeze-step 0`` is the baseline without freezing.

``--api-workers K`` runs K API processes on one port, as ``floorwatch api --workers K`` does: each
binds its own listening socket with ``SO_REUSEPORT`` (the kernel spreads the clients over them),
each is fed the same alert lines on its stdin (as each worker reads the alert topic itself), and
each also listens on a private port so that /metrics and the stats are read from every one of them.
RSS, CPU and counters are then sums over the K processes (``api_max``: the busiest one;
``server_*_ms``: the slowest one); ``split``: how many clients each process got.

``--direct-write-limit 0`` turns the hub's fast path off (every frame through the session's writer
task). ``--deflate`` runs the server with permessage-deflate (``ws_per_message_deflate=True``)
and the clients offering it as browsers do (a deflated connection never takes the fast path).
Loopback only; every wait is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import gc
import json
import multiprocessing
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from benchmarks.procstat import cpu_s, rss_mb
from services.api.hub import HubOptions
from shared.broker import free_port

TOKEN = "bench-admin-token"
T0 = "2026-11-28T09:15:00+08:00"


def raise_fd_limit() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# -- the server (child process) --------------------------------------------------------------------------
class StdinFeed:
    """A Feed: one JSON alert transition per stdin line; ``#stats PATH`` writes what the server
    measured so far (below) to PATH instead.

    Per item: ``publish_ms``, from yielding it until the pump asks for the next one (``live.apply``
    + ``hub.publish``: every fast-path client's first frame handed to the kernel), and
    ``handoff_ms``, until the next loop iteration's callbacks ran (the batched frames too)."""

    def __init__(self) -> None:
        self.stats: dict[str, list[Any]] = {key: [] for key in (
            "publish_ms", "publish_cpu_ms", "handoff_ms", "publish_at", "gc", "probe_full_gc_ms")}
        self.stats["frozen"] = 0

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        from services.api.ports import FeedItem

        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 20)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            line = line.strip()
            if line.startswith(b"#stats "):
                with open(line[7:].decode(), "wb") as f:  # noqa: ASYNC230 - a few bytes, on request
                    f.write(orjson.dumps(self.stats))
                continue
            if line == b"#gc":  # the probe: a full collection now, timed (what an alert would wait)
                began = time.perf_counter()
                gc.collect()
                self.stats["probe_full_gc_ms"].append(round(1000 * (time.perf_counter() - began), 1))
                self.stats["frozen"] = gc.get_freeze_count()
                continue
            if line:
                started, cpu = time.monotonic(), time.process_time()
                yield FeedItem("alert", "bench", line)
                self.stats["publish_ms"].append(round(1000 * (time.monotonic() - started), 1))
                self.stats["publish_cpu_ms"].append(round(1000 * (time.process_time() - cpu), 1))
                self.stats["publish_at"].append((started, time.monotonic()))
                loop.call_soon(self._handed_off, started)

    def _handed_off(self, started: float) -> None:
        self.stats["handoff_ms"].append(round(1000 * (time.monotonic() - started), 1))

    def watch_gc(self) -> None:
        """Record every garbage collection of generation ≥ 1 that takes ≥ 5 ms (generation, ms)."""
        began = [0.0]

        def callback(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                began[0] = time.perf_counter()
                return
            took = 1000 * (time.perf_counter() - began[0])
            if info["generation"] >= 1 and took >= 5:
                self.stats["gc"].append((info["generation"], round(took, 1)))

        gc.callbacks.append(callback)


class NullSink:
    async def send(self, site: str, command: dict[str, Any]) -> None:
        return None


def serve(port: int, deflate: bool, direct_limit: int, private_port: int = 0,
          gc_freeze_step: int = HubOptions().gc_freeze_step) -> None:
    import uvicorn
    from prometheus_client import CollectorRegistry

    from services.api.app import create_app
    from services.api.runtime import ApiOptions
    from services.api.server import server_config
    from shared.config import Settings

    raise_fd_limit()
    feed = StdinFeed()
    feed.watch_gc()
    app = create_app(Settings(admin_token=TOKEN), feed=feed, commands=NullSink(),
                     registry=CollectorRegistry(), options=ApiOptions(hub=HubOptions(max_sessions=20_000,
                                                                       direct_write_limit=direct_limit,
                                                                       gc_freeze_step=gc_freeze_step)))
    config = server_config(app, port=port, backlog=4096, ws_per_message_deflate=deflate,
                           ws_ping_interval=None)  # the API's own server choices (services/api/server.py)
    if not private_port:
        uvicorn.Server(config).run()
        return
    # one of --api-workers: the shared port (SO_REUSEPORT, as floorwatch api --workers) + its own
    from floorwatch.workers import reuseport_socket

    own = socket.socket()
    own.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    own.bind(("127.0.0.1", private_port))
    uvicorn.Server(config).run(sockets=[reuseport_socket("127.0.0.1", port), own])


# -- the clients (child processes) ----------------------------------------------------------------------
def client_main(port: int, count: int, deflate: bool, conn: Any, kind: str = "lean", nice: int = 0) -> None:
    raise_fd_limit()
    if nice:
        os.nice(nice)
    run = _lean_clients if kind == "lean" else _clients
    main = run(port, count, deflate, conn)
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:  # the lean clients' loop as cheap as the server's
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(main)


async def _lean_clients(port: int, count: int, deflate: bool, pipe: Any) -> None:
    """``count`` clients as :class:`~benchmarks.ws_lean_client.LeanClient` protocols."""
    from benchmarks.ws_lean_client import Recorder, connect_all

    recorder = Recorder(count)
    transports = await connect_all(port, f"/v1/stream?token={TOKEN}", count, deflate, recorder)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(180):
            await recorder.all_hello.wait()
    loop = asyncio.get_running_loop()
    pipe.send(("ready", recorder.hellos))
    await loop.run_in_executor(None, pipe.recv)
    pipe.send(("report", recorder.report()))
    for t in transports:
        t.close()


async def _clients(port: int, count: int, deflate: bool, pipe: Any) -> None:
    """``count`` clients with the ``websockets`` library (``--client websockets``)."""
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
                data = raw.encode() if isinstance(raw, str) else raw
                if b'"type":"alert"' in data:
                    got.setdefault(orjson.loads(data)["alert"]["id"], []).append(time.monotonic())
                elif b'"type":"hello"' in data:
                    hellos += 1
                    if hellos == count:
                        all_hello.set()
        except websockets.ConnectionClosed:
            pass

    tasks = [asyncio.create_task(one()) for _ in range(count)]
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(180):
            await all_hello.wait()
    loop = asyncio.get_running_loop()
    pipe.send(("ready", hellos))
    # the parent says when to report; until then the clients just receive
    await loop.run_in_executor(None, pipe.recv)
    pipe.send(("report", {"times": got, "hellos": hellos, "resyncs": 0, "gaps": 0, "deflated": 0}))
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# -- the conductor ------------------------------------------------------------------------------------------
def alert_line(fp: str, stamps: dict[str, float]) -> bytes:
    """One alert transition; its send time (CLOCK_MONOTONIC) goes into ``stamps`` and travels in
    ``details.sent_at``."""
    stamps[fp] = time.monotonic()
    doc = {"id": fp, "fingerprint": fp, "rule": "bench", "kind": "threshold", "severity": "warning",
           "state": "firing", "previous": "pending", "scope": {"site": "bench", "queue": "sales"},
           "summary": "sales: 12 calls waiting (> 10)", "value": 12.0, "threshold": 10.0, "started_at": T0,
           "updated_at": T0, "event_time": T0, "ack": None, "silenced_until": None, "labels": {},
           "details": {"sent_at": stamps[fp]}, "transition_id": f"{fp}:1"}
    return orjson.dumps(doc) + b"\n"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


METRICS = ("floorwatch_ws_resyncs_total", "floorwatch_ws_slow_closes_total", "floorwatch_ws_clients",
           'floorwatch_ws_messages_sent_total{type="alert"}',
           'floorwatch_ws_dropped_total{reason="alert_overflow"}',
           'floorwatch_ws_dropped_total{reason="floor_coalesced"}')


def metrics(port: int) -> dict[str, float]:
    try:  # the server may be too busy fanning out to answer in time: then ask again later
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    except httpx.TimeoutException:
        return {}
    out = {}
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name in METRICS:
            out[name] = float(value)
    return out


def wait_sent(servers: Servers, target: float, limit_s: float) -> None:
    """Until the server(s) have sent ``target`` alert frames in all (bounded by ``limit_s``)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if servers.metrics().get('floorwatch_ws_messages_sent_total{type="alert"}', 0) >= target:
            return
        time.sleep(0.5)


def server_stats(server: subprocess.Popen[bytes], path: str) -> dict[str, Any]:
    assert server.stdin is not None
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    server.stdin.write(f"#stats {path}\n".encode())
    server.stdin.flush()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError, orjson.JSONDecodeError), open(path, "rb") as f:
            return dict(orjson.loads(f.read()))
        time.sleep(0.1)
    return {}


class Cpu:
    """CPU seconds the API and the client processes used between ``__init__`` and ``used()``."""

    def __init__(self, api: list[int], clients: list[int]) -> None:
        self.k = len(api)
        self.pids = [*api, *clients]
        self.before = [cpu_s(pid) for pid in self.pids]

    def used(self) -> dict[str, float]:
        spent = [cpu_s(pid) - b for pid, b in zip(self.pids, self.before, strict=True)]
        out = {"api": round(sum(spent[:self.k]), 2), "clients": round(sum(spent[self.k:]), 2)}
        if self.k > 1:
            out["api_max"] = round(max(spent[:self.k]), 2)
        return out


class Servers:
    """The API process(es): one, or ``k`` on one port with SO_REUSEPORT, each with a private port."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.port = free_port()
        k = args.api_workers
        self.private = [free_port() for _ in range(k)] if k > 1 else [self.port]
        self.procs: list[subprocess.Popen[bytes]] = []
        for own in self.private:
            self.procs.append(subprocess.Popen(
                [sys.executable, "-m", "benchmarks.ws_fanout", "--serve", str(self.port),
                 "--direct-write-limit", str(args.direct_write_limit),
                 "--gc-freeze-step", str(args.gc_freeze_step)]
                + (["--private-port", str(own)] if k > 1 else []) + (["--deflate"] if args.deflate else []),
                stdin=subprocess.PIPE))
            with contextlib.suppress(OSError):  # a whole burst fits: no server waits for another to read
                fcntl.fcntl(self.procs[-1].stdin.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)  # type: ignore[union-attr]

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def write(self, data: bytes) -> None:
        for p in self.procs:
            assert p.stdin is not None
            p.stdin.write(data)
        for p in self.procs:
            assert p.stdin is not None
            p.stdin.flush()

    def rss_mb(self) -> float:
        return round(sum(rss_mb(pid) for pid in self.pids), 1)

    def metrics(self) -> dict[str, float]:
        total: dict[str, float] = {}
        for port in self.private:
            for name, value in metrics(port).items():
                total[name] = total.get(name, 0) + value
        return total

    def split(self) -> list[float]:
        return [metrics(port).get("floorwatch_ws_clients", -1) for port in self.private]

    def stats(self, path: str) -> dict[str, Any]:
        """Every process's stats, merged: per item the slowest process; its GC pauses all listed."""
        each = [server_stats(p, f"{path}.{i}") for i, p in enumerate(self.procs)]
        if len(each) == 1:
            return each[0]
        merged: dict[str, Any] = {"gc": [g for one in each for g in one.get("gc", [])],
                                  "probe_full_gc_ms": [g for one in each
                                                       for g in one.get("probe_full_gc_ms", [])],
                                  "frozen": sum(one.get("frozen", 0) for one in each)}
        for key in ("publish_ms", "publish_cpu_ms", "handoff_ms"):
            merged[key] = [max(v) for v in zip(*(one.get(key, []) for one in each), strict=False)]
        merged["publish_at"] = [(min(a[0] for a in v), max(a[1] for a in v))
                                for v in zip(*(one.get("publish_at", []) for one in each), strict=False)]
        return merged

    def stop(self) -> None:
        for p in self.procs:
            assert p.stdin is not None
            with contextlib.suppress(OSError):
                p.stdin.close()
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


def run(n: int, args: argparse.Namespace, stamps: dict[str, float], burst: int) -> dict[str, Any]:
    servers = Servers(args)
    port = servers.port
    result: dict[str, Any] = {"clients": n, "client": args.client, "procs": args.procs,
                              "api_workers": args.api_workers, "client_nice": args.client_nice,
                              "deflate": args.deflate, "direct_write_limit": args.direct_write_limit,
                              "gc_freeze_step": args.gc_freeze_step}
    with open("/proc/loadavg") as f:
        result["load"] = "/".join(f.read().split()[:3])
    stats_path = f"/tmp/ws_fanout_stats_{os.getpid()}_{port}.json"
    workers = []
    try:
        deadline = time.monotonic() + 30
        for own in servers.private:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"http://127.0.0.1:{own}/healthz", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start")
                time.sleep(0.1)
        result["rss_idle_mb"] = servers.rss_mb()
        ctx = multiprocessing.get_context("spawn")
        started = time.monotonic()
        for i in range(args.procs):
            mine, theirs = ctx.Pipe()
            share = n // args.procs + (1 if i < n % args.procs else 0)
            p = ctx.Process(target=client_main, daemon=True,
                            args=(port, share, args.deflate, theirs, args.client, args.client_nice))
            p.start()
            workers.append((p, mine))
        connected = sum(pipe.recv()[1] for _, pipe in workers)
        result["connected"] = connected
        result["connect_s"] = round(time.monotonic() - started, 1)
        time.sleep(1.0)
        result["rss_connected_mb"] = servers.rss_mb()
        servers.write(b"#gc\n")  # the server-side probe: one forced full collection, all connected
        time.sleep(1.0)
        if args.api_workers > 1:
            result["split"] = servers.split()
        client_pids = [p.pid for p, _ in workers if p.pid is not None]

        cpu = Cpu(servers.pids, client_pids)
        servers.write(alert_line("single", stamps))
        wait_sent(servers, connected, 60)
        time.sleep(1.0)
        result["single_cpu_s"] = cpu.used()
        if burst:
            before = servers.metrics()
            cpu = Cpu(servers.pids, client_pids)
            servers.write(b"".join(alert_line(f"burst-{i}", stamps) for i in range(burst)))
            wait_sent(servers, connected * (burst + 1), 300)
            time.sleep(2.0)
            result["burst_cpu_s"] = cpu.used()
            after = servers.metrics()
            result["burst_metrics"] = {k.removeprefix("floorwatch_ws_"): after.get(k, 0) - before.get(k, 0)
                                       for k in after if k != "floorwatch_ws_clients"}
            result["rss_after_burst_mb"] = servers.rss_mb()
        result["server"] = servers.stats(stats_path)
        reports = []
        for _, pipe in workers:
            pipe.send("report")
            reports.append(pipe.recv()[1])
        result["_reports"] = reports
    finally:
        for p, _ in workers:
            p.join(30)
            if p.is_alive():
                p.kill()
        servers.stop()
        for i in range(len(servers.procs)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{stats_path}.{i}")
    return result


def _ms(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(1000 * statistics.median(values), 1),
            "p99_ms": round(1000 * pct(values, 0.99), 1), "max_ms": round(1000 * max(values), 1)}


def summarize(result: dict[str, Any], stamps: dict[str, float]) -> dict[str, Any]:
    reports = result.pop("_reports")
    times: dict[str, list[float]] = {}
    for report in reports:
        for fp, ts in report["times"].items():
            times.setdefault(fp, []).extend(ts)
    out = dict(result)
    out["client_side"] = {k: sum(r[k] for r in reports) for k in ("gaps", "resyncs", "deflated")}
    single = [t - stamps["single"] for t in times.get("single", [])]
    out["single"] = {"received": len(single), **_ms(single)} if single else {"received": 0}
    sent = sorted((fp for fp in stamps if fp.startswith("burst-")), key=lambda fp: int(fp[6:]))
    if sent:
        lat = [t - stamps[fp] for fp in sent for t in times.get(fp, [])]
        last = [t - stamps[sent[-1]] for t in times.get(sent[-1], [])]
        done = max(t for fp in sent for t in times.get(fp, [0.0]))
        out["burst"] = {
            "received": len(lat), "expected": result["connected"] * len(sent), "every_alert": _ms(lat),
            # per client: when it had the whole burst, from the moment the last alert was sent
            "last_alert": {"received": len(last), **_ms(last)} if last else {},
            "all_delivered_after_s": round(done - stamps[sent[0]], 2)}
    server = out.pop("server", {})
    for key in ("publish_ms", "publish_cpu_ms", "handoff_ms"):
        if server.get(key):
            out[f"server_{key}"] = {"single": server[key][0], "burst_max": max(server[key][1:], default=None)}
    out["server_full_gc_ms"] = [ms for generation, ms in server.get("gc", []) if generation == 2]
    out["server_probe_full_gc_ms"] = server.get("probe_full_gc_ms", [])
    out["server_frozen_objects"] = server.get("frozen", 0)
    if sent and len(server.get("publish_at", [])) > len(sent):  # [single, burst...]
        at, handoff = server["publish_at"][1:], server["handoff_ms"][1:]
        # when the server had handed the last alert of the burst to the kernel (or to a writer)
        out["burst"]["server_done_after_s"] = round(at[-1][1] - stamps[sent[0]], 2)
        # in how many loop iterations the API published the burst (1 = all batched together)
        out["burst"]["server_iterations"] = 1 + sum(
            1 for i in range(1, len(at)) if at[i][0] > at[i - 1][0] + handoff[i - 1] / 1000)
        out["burst"]["server_publish_cpu_s"] = round(sum(server["publish_cpu_ms"][1:]) / 1000, 2)
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
    parser.add_argument("--client", choices=("lean", "websockets"), default="lean",
                        help="lean: raw asyncio protocols (measure the server); websockets: the library")
    parser.add_argument("--light-clients", action="store_const", const="lean", dest="client",
                        help="same as --client lean (kept for old command lines)")
    parser.add_argument("--client-nice", type=int, default=0,
                        help="run the client processes at this nice value (stand-in for other machines)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--api-workers", type=int, default=1,
                        help="API processes on the port (SO_REUSEPORT), as floorwatch api --workers K")
    parser.add_argument("--private-port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--gc-freeze-step", type=int, default=HubOptions().gc_freeze_step,
                        help="the API's gc.freeze() every N new connections (0: never, the baseline)")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.deflate, args.direct_write_limit, args.private_port, args.gc_freeze_step)
        return
    raise_fd_limit()
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(f"cores={os.cpu_count()} load={'/'.join(load)} client={args.client} procs={args.procs} "
          f"nice={args.client_nice} deflate={args.deflate} api_workers={args.api_workers} "
          f"gc_freeze_step={args.gc_freeze_step}", flush=True)
    for n in [int(x) for x in args.clients.split(",")]:
        for _ in range(args.repeat):
            burst = args.burst if n <= args.skip_burst_above else 0
            stamps: dict[str, float] = {}
            result = run(n, args, stamps, burst)
            print(json.dumps(summarize(result, stamps)), flush=True)


if __name__ == "__main__":
    main()
