"""A TCP proxy that a test can cut and restore: the broker "unreachable" without touching it.

The embedded broker keeps its data in memory, so it is never restarted; instead every client
reaches it through this proxy (the broker advertises the proxy's address, so metadata sends the
clients back here too). Two ways to cut:

* ``cut("reset")`` — every open connection is reset (RST) and new ones are accepted and reset at
  once: a broker that went away (connection refused / reset by peer);
* ``cut("stall")`` — nothing is forwarded any more in either direction and new connections are
  accepted but never answered: a network partition, where clients only notice by their own
  timeouts. On ``restore()`` the stalled connections are reset (what a peer does after a long
  partition) and new ones work again.

One thread accepts; one thread per connection pair forwards with ``select``. Plain sockets, no
asyncio, so it runs beside anything the test does.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from typing import Literal

Mode = Literal["reset", "stall"]


def _reset(sock: socket.socket) -> None:
    """Close with RST rather than FIN: the peer sees the connection break, not end."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class _Pair:
    def __init__(self, client: socket.socket, upstream: socket.socket):
        self.client = client
        self.upstream = upstream
        self.closed = threading.Event()

    def close(self) -> None:
        if not self.closed.is_set():
            self.closed.set()
            _reset(self.client)
            _reset(self.upstream)


class TcpProxy:
    """``TcpProxy(("127.0.0.1", broker_port)).start()``; clients connect to ``proxy.port``."""

    def __init__(self, target: tuple[str, int], host: str = "127.0.0.1", port: int = 0):
        self.target = target
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, port))
        self._listener.listen(128)
        self.host, self.port = self._listener.getsockname()[:2]
        self._lock = threading.Lock()
        self._pairs: set[_Pair] = set()
        self._held: list[socket.socket] = []  # accepted during a stall, never answered
        self._mode: Mode | None = None  # None: forwarding
        self._forwarding = threading.Event()
        self._forwarding.set()
        self._stopped = threading.Event()
        self.accepted = 0  # connections accepted in all (a test can see clients reconnect)
        self.refused = 0  # connections reset or held because the proxy was cut
        self._thread = threading.Thread(target=self._accept_loop, name="tcpproxy-accept", daemon=True)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def is_cut(self) -> bool:
        return self._mode is not None

    def start(self) -> TcpProxy:
        self._thread.start()
        return self

    def cut(self, mode: Mode = "reset") -> None:
        with self._lock:
            self._mode = mode
            self._forwarding.clear()
            if mode == "reset":
                pairs, self._pairs = self._pairs, set()
            else:
                pairs = set()
        for pair in pairs:
            pair.close()

    def restore(self) -> None:
        with self._lock:
            self._mode = None
            held, self._held = self._held, []
            # After a partition the stalled connections are dead to both ends: reset them.
            stalled, self._pairs = self._pairs, set()
            self._forwarding.set()
        for sock in held:
            _reset(sock)
        for pair in stalled:
            pair.close()

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        self.restore()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- threads -----------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            with self._lock:
                mode = self._mode
                if mode == "stall":
                    self._held.append(client)
            if mode == "reset":
                self.refused += 1
                _reset(client)
                continue
            if mode == "stall":
                self.refused += 1
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = _Pair(client, upstream)
            with self._lock:
                if self._mode == "reset":  # cut while connecting
                    pair.close()
                    continue
                self._pairs.add(pair)
            threading.Thread(target=self._pump, args=(pair,), name="tcpproxy-pump", daemon=True).start()

    def _pump(self, pair: _Pair) -> None:
        socks = [pair.client, pair.upstream]
        try:
            while not pair.closed.is_set():
                if not self._forwarding.is_set():
                    # stalled: leave the bytes where they are (the kernel buffers fill, as on a
                    # partitioned link); restore() resets this pair
                    pair.closed.wait(0.05)
                    continue
                readable, _, _ = select.select(socks, [], [], 0.05)
                for src in readable:
                    if not self._forwarding.is_set():
                        break
                    data = src.recv(65536)
                    if not data:
                        pair.close()
                        return
                    dst = pair.upstream if src is pair.client else pair.client
                    dst.sendall(data)
        except (OSError, ValueError):
            pass
        finally:
            pair.close()
            with self._lock:
                self._pairs.discard(pair)
