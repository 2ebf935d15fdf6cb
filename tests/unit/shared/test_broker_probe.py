"""BrokerProbe (shared/kafka.py): /readyz's question to the broker, on plain sockets."""

from __future__ import annotations

import socket
import struct
import threading
import time

from shared.broker import free_port
from shared.config import Settings
from shared.kafka import BrokerProbe


def _probe(port: int, timeout_s: float = 0.3) -> BrokerProbe:
    return BrokerProbe(Settings(kafka_bootstrap=f"127.0.0.1:{port}"), timeout_s=timeout_s, cache_s=0)


def _server(answer) -> int:  # type: ignore[no-untyped-def]
    """A one-connection-at-a-time server that reads a request and writes ``answer(request)``."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def run() -> None:
        while True:
            conn, _ = listener.accept()
            with conn:
                size = struct.unpack(">i", conn.recv(4))[0]
                request = conn.recv(size)
                reply = answer(request)
                if reply is not None:
                    conn.sendall(reply)
                else:
                    time.sleep(1)

    threading.Thread(target=run, daemon=True).start()
    return int(listener.getsockname()[1])


def _reply(correlation: int, error: int = 0) -> bytes:
    body = struct.pack(">ih", correlation, error) + b"\x00\x00\x00\x00"
    return struct.pack(">i", len(body)) + body


def test_a_broker_that_answers_is_no_problem() -> None:
    port = _server(lambda req: _reply(struct.unpack(">hhi", req[:8])[2]))
    assert _probe(port).problem() is None


def test_nothing_listening_is_unreachable_with_the_reason() -> None:
    problem = _probe(free_port()).problem()
    assert problem is not None and "unreachable" in problem and "Refused" in problem


def test_a_broker_that_accepts_but_never_answers_times_out_in_time() -> None:
    port = _server(lambda req: None)
    t0 = time.monotonic()
    problem = _probe(port, timeout_s=0.3).problem()
    assert problem is not None and "timed out" in problem
    assert time.monotonic() - t0 < 1.0


def test_a_wrong_answer_is_a_problem() -> None:
    port = _server(lambda req: _reply(12345))
    assert "expected" in (_probe(port).problem() or "")
    port = _server(lambda req: _reply(struct.unpack(">hhi", req[:8])[2], error=35))
    assert "error code 35" in (_probe(port).problem() or "")
