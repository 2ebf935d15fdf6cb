"""How much memory hostile WebSocket clients can make the API hold (issue 9, defect 4).

    python -m benchmarks.ws_hostile_memory [--clients K] [--seconds T] [--scenario NAME ...]

A real API process (``benchmarks.ws_fanout --serve``: ``create_app`` under the API's own uvicorn
configuration, ``services/api/server.py``) is fed 100 kB alert transitions of two alerts through its
stdin (10 a second) so that every connection has data to send and a client that does not read
fills its socket buffers within a second; then K clients of one scenario run for T
seconds, and the API's resident memory (VmRSS) is sampled every 0.1 s:

* ``idle``: K ordinary clients that read everything (the baseline cost of a client);
* ``ping-flood``: K clients that never read and send ``ping`` ops as fast as they can, half with
  60 kB ids (answered by an ``error``), half with 250-byte ids (echoed in a ``pong``);
* ``op-flood``: K clients that never read and send unknown ops with 60 kB names;
* ``oversized``: K clients that send 1 MiB frames (the API closes them 1009) and reconnect.

Printed per scenario: RSS before the clients connected, the peak while they ran, the growth per
client ((peak − before) / K), how the connections ended (close codes), and the RSS once they are
gone. The figures in docs/benchmarks.md ("Hostile WebSocket clients") come from this script.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import threading
import time
from collections import Counter
from typing import Any

import orjson
import websockets

from benchmarks.procstat import rss_mb
from benchmarks.ws_fanout import TOKEN, alert_line
from shared.broker import free_port

SCENARIOS = ("idle", "ping-flood", "op-flood", "oversized")


class Api:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.ws_fanout", "--serve", str(self.port)], stdin=subprocess.PIPE
        )
        self._stop = threading.Event()
        self._feeder = threading.Thread(target=self._feed, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/stream?token={TOKEN}"

    async def ready(self) -> None:
        async with asyncio.timeout(30):
            while True:
                with contextlib.suppress(OSError):
                    async with websockets.connect(self.url, ping_interval=None) as conn:
                        await conn.recv()
                        break
                await asyncio.sleep(0.1)
        self._feeder.start()

    def _feed(self) -> None:
        """10 alert transitions a second, each with a 100 kB summary, of two alerts (so a hello, which
        carries every active alert, stays ~200 kB: the state is not what is measured)."""
        assert self.proc.stdin is not None
        i = 0
        while not self._stop.wait(0.1):
            line = orjson.loads(alert_line(f"hostile-{i % 2}", {}))
            line["summary"] = "s" * 100_000
            line["transition_id"] = f"hostile-{i}"
            with contextlib.suppress(OSError):
                self.proc.stdin.write(orjson.dumps(line) + b"\n")
                self.proc.stdin.flush()
            i += 1

    def rss(self) -> float:
        return rss_mb(self.proc.pid)

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def _client(url: str, scenario: str, until: float, codes: Counter[str]) -> None:
    big_id = "x" * 60_000
    small_id = "y" * 250
    while time.monotonic() < until:
        try:
            if scenario == "idle":
                async with websockets.connect(
                    url, ping_interval=None, max_size=None, compression=None
                ) as conn:
                    while time.monotonic() < until:
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(max(0.01, until - time.monotonic())):
                                await conn.recv()
                codes["still open"] += 1
                return
            # never reads: the library stops reading once one frame is queued (max_queue=1)
            async with websockets.connect(
                url, ping_interval=None, max_size=None, max_queue=1, compression=None
            ) as conn:
                n = 0
                while time.monotonic() < until:
                    if scenario == "ping-flood":
                        ident = big_id if n % 2 else small_id
                        await conn.send(orjson.dumps({"op": "ping", "id": f"{n}{ident}"}).decode())
                    elif scenario == "op-flood":
                        await conn.send(orjson.dumps({"op": f"{n}{big_id}"}).decode())
                    else:  # oversized
                        await conn.send("z" * (1 << 20))
                        await conn.wait_closed()
                    n += 1
                codes["still open"] += 1
                return
        except websockets.ConnectionClosed as exc:
            codes[str(exc.rcvd.code) if exc.rcvd else "no close frame"] += 1
            if scenario != "oversized":
                return
        except OSError as exc:
            codes[type(exc).__name__] += 1
            return


async def run_scenario(api: Api, scenario: str, clients: int, seconds: float) -> dict[str, Any]:
    before = api.rss()
    codes: Counter[str] = Counter()
    until = time.monotonic() + seconds
    tasks = [asyncio.create_task(_client(api.url, scenario, until, codes)) for _ in range(clients)]
    peak = before
    while not all(t.done() for t in tasks) and time.monotonic() < until + 15:
        peak = max(peak, api.rss())
        await asyncio.sleep(0.1)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(2)  # let the API drop the connections
    return {
        "scenario": scenario,
        "clients": clients,
        "seconds": seconds,
        "rss_before_mb": round(before, 1),
        "rss_peak_mb": round(peak, 1),
        "per_client_mb": round((peak - before) / clients, 2),
        "rss_after_mb": round(api.rss(), 1),
        "ended": dict(codes),
    }


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    api = Api()
    try:
        await api.ready()
        await asyncio.sleep(1)
        results = []
        for scenario in args.scenario or SCENARIOS:
            result = await run_scenario(api, scenario, args.clients, args.seconds)
            print(orjson.dumps(result).decode(), flush=True)
            results.append(result)
        return results
    finally:
        api.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--scenario", action="append", choices=SCENARIOS)
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    head = f"{'scenario':<12} {'clients':>7} {'RSS before':>11} {'peak':>8} {'per client':>11}"
    print(f"\n{head} {'after':>8}  ended")
    for r in results:
        print(
            f"{r['scenario']:<12} {r['clients']:>7} {r['rss_before_mb']:>9} MB {r['rss_peak_mb']:>5} MB "
            f"{r['per_client_mb']:>8} MB {r['rss_after_mb']:>5} MB  {r['ended']}"
        )


if __name__ == "__main__":
    main()
