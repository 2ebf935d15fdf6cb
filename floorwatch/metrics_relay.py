"""One scrape target for ``floorwatch up``: the API's ``/metrics`` also carries the metrics of the
ingest and alerts children (each a process of its own, on a loopback port of its own).

At each scrape the API awaits :class:`MetricsRelay`, which fetches every child's ``/metrics``
concurrently (plain text format, HTTP/1.0 over loopback, a time limit and a size limit each) and
appends the bodies to the API's own exposition — the families never overlap, each service names
its own. A child that does not answer is left out and reported as
``floorwatch_relay_target_up{service=…} 0``, which the FloorwatchServiceDown alert watches.
In production each service is scraped on its own port; nothing is relayed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

MAX_BODY = 64 * 1024 * 1024


class RelayError(Exception):
    pass


class MetricsRelay:
    def __init__(self, targets: Mapping[str, tuple[str, int]], timeout_s: float = 5.0) -> None:
        """``targets``: service name -> (host, port) of its ``/metrics``."""
        self.targets = dict(targets)
        self.timeout_s = timeout_s

    async def __call__(self) -> bytes:
        names = sorted(self.targets)
        results = await asyncio.gather(*(self._one(self.targets[n]) for n in names), return_exceptions=True)
        bodies, up, took = [], [], []
        for name, result in zip(names, results, strict=True):
            if isinstance(result, BaseException):
                up.append(f'floorwatch_relay_target_up{{service="{name}"}} 0\n')
                continue
            body, seconds = result
            bodies.append(body if body.endswith(b"\n") else body + b"\n")
            up.append(f'floorwatch_relay_target_up{{service="{name}"}} 1\n')
            took.append(f'floorwatch_relay_scrape_duration_seconds{{service="{name}"}} {seconds:.6f}\n')
        own = (
            "# HELP floorwatch_relay_target_up 1 if the service's /metrics answered this scrape "
            "(floorwatch up relays ingest and alerts on the API's /metrics)\n"
            "# TYPE floorwatch_relay_target_up gauge\n"
            + "".join(up)
            + "# HELP floorwatch_relay_scrape_duration_seconds Time to fetch the service's /metrics\n"
            "# TYPE floorwatch_relay_scrape_duration_seconds gauge\n" + "".join(took)
        )
        return b"".join(bodies) + own.encode()

    async def _one(self, target: tuple[str, int]) -> tuple[bytes, float]:
        start = time.perf_counter()
        body = await asyncio.wait_for(_get(*target), self.timeout_s)
        return body, time.perf_counter() - start


async def _get(host: str, port: int, path: str = "/metrics") -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\n\r\n".encode())
        await writer.drain()
        data = await reader.read(MAX_BODY + 65536)
        while chunk := await reader.read(65536):
            data += chunk
            if len(data) > MAX_BODY + 65536:
                raise RelayError(f"{host}:{port}{path} answered more than {MAX_BODY} bytes")
    finally:
        writer.close()
    head, sep, body = data.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if not sep or len(status) < 2 or status[1] != b"200":
        raise RelayError(f"{host}:{port}{path} answered {head[:80]!r}")
    return body
