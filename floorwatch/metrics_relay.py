"""One scrape target for ``floorwatch up``: the API's ``/metrics`` also carries the metrics of the
ingest and alerts children (each a process of its own, on a loopback port of its own).

At each scrape the API awaits :class:`MetricsRelay`, which fetches every child's ``/metrics``
concurrently (plain text format, HTTP/1.0 over loopback, a time limit and a size limit each) and
appends the bodies to the API's own exposition — the families never overlap, each service names
its own. A child that does not answer is left out and reported as
``floorwatch_relay_target_up{service=…} 0``, which the FloorwatchServiceDown alert watches.
In production each service is scraped on its own port; nothing is relayed.

Several processes of one service (``up --alerts-processes N``: ``alerts-0``, ``alerts-1``, …)
export the same families. Appended as they are, the exposition would repeat a family's
``# HELP``/``# TYPE`` lines and its unlabelled series, which a scraper refuses; so the bodies of the
targets named in ``labelled`` are merged family by family instead, each of their samples with a
``process="<target>"`` label (what Prometheus's ``instance`` is when each is scraped on its own).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Mapping, Sequence

MAX_BODY = 64 * 1024 * 1024


class RelayError(Exception):
    pass


class MetricsRelay:
    def __init__(
        self,
        targets: Mapping[str, tuple[str, int]],
        timeout_s: float = 5.0,
        *,
        labelled: Collection[str] = (),
    ) -> None:
        """``targets``: service name -> (host, port) of its ``/metrics``; ``labelled``: the
        targets that are processes of one service (their families merged, samples labelled)."""
        self.targets = dict(targets)
        self.timeout_s = timeout_s
        self.labelled = frozenset(labelled)

    async def __call__(self) -> bytes:
        names = sorted(self.targets)
        results = await asyncio.gather(*(self._one(self.targets[n]) for n in names), return_exceptions=True)
        bodies, up, took = [], [], []
        processes: list[tuple[str, bytes]] = []
        for name, result in zip(names, results, strict=True):
            if isinstance(result, BaseException):
                up.append(f'floorwatch_relay_target_up{{service="{name}"}} 0\n')
                continue
            body, seconds = result
            if name in self.labelled:
                processes.append((name, body))
            else:
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
        if processes:
            bodies.append(merge_labelled(processes))
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


def merge_labelled(bodies: Sequence[tuple[str, bytes]]) -> bytes:
    """The text expositions of several processes of one service as one: each family's
    ``# HELP``/``# TYPE`` once (the first process's), then every process's samples of it, each with
    ``process="<name>"`` added to its labels."""
    heads: dict[str, list[str]] = {}
    samples: dict[str, list[str]] = {}
    for name, body in bodies:
        label = f'process="{name}"'
        family = ""
        # "\n" only: the exposition's one line break. str.splitlines() also breaks at U+2028, U+0085
        # and other characters prometheus_client leaves unescaped in label values (a queue named
        # with one made the merged scrape unreadable)
        for line in body.decode("utf-8", "replace").split("\n"):
            if line.startswith(("# HELP ", "# TYPE ")):
                family = line.split(" ", 3)[2]
                head = heads.setdefault(family, [])
                samples.setdefault(family, [])
                if not any(h.startswith(line[:7]) for h in head):
                    head.append(line)
            elif line and not line.startswith("#"):
                key = family or _sample_name(line)
                heads.setdefault(key, [])
                samples.setdefault(key, []).append(_with_label(line, label))
    return "".join(
        "".join(f"{line}\n" for line in (*heads[family], *samples[family])) for family in heads
    ).encode()


def _sample_name(line: str) -> str:
    return line.split("{", 1)[0].split(" ", 1)[0]


def _with_label(line: str, label: str) -> str:
    """``name{a="b"} 1`` -> ``name{a="b",<label>} 1``; ``name 1`` -> ``name{<label>} 1``."""
    name = _sample_name(line)
    rest = line[len(name):]
    if not rest.startswith("{"):
        return f"{name}{{{label}}}{rest}"
    # the closing brace: the first ``}`` outside a quoted label value (values may hold ``}``, ``\"``)
    quoted = escaped = False
    for i, ch in enumerate(rest):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = quoted
        elif ch == '"':
            quoted = not quoted
        elif ch == "}" and not quoted:
            inner = rest[1:i]
            joined = f"{inner},{label}" if inner.strip() else label
            return f"{name}{{{joined}}}{rest[i + 1:]}"
    return line  # not a well-formed sample: passed on as it came
