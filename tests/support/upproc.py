"""`floorwatch up` as a child process, waited on until ready, stopped with Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx

from shared.broker import free_port
from shared.config import Settings
from tests.support.procs import env_for, spawn

TOKEN = "e2e-admin-token"
# a queue's third waiting call fires `queue-backlog`; none waiting resolves it
BACKLOG_RULES = """
rules:
  - name: queue-backlog
    metric: calls_waiting
    scope: queue
    op: ">"
    value: 2
    clear: 0
    severity: critical
    summary: "{queue}: {value:.0f} calls waiting"
"""


class Up:
    def __init__(self, settings: Settings, workdir: Path, *args: str, env: dict[str, str] | None = None):
        self.port = free_port()
        self.log = workdir / "up.log"
        env = env_for(settings, FLOORWATCH_ADMIN_TOKEN=TOKEN, **(env or {}))
        cmd = [
            "up",
            "--kafka",
            settings.kafka_bootstrap,
            "--db",
            settings.database_url,
            "--port",
            str(self.port),
            *args,
        ]
        self.proc = spawn(cmd, env, self.log)
        self.base = f"http://127.0.0.1:{self.port}"
        self.ws = f"ws://127.0.0.1:{self.port}/v1/stream?token={TOKEN}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"floorwatch up exited {self.proc.returncode}:\n{self.tail()}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"floorwatch up not healthy in {timeout}s:\n{self.tail()}")

    def tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(
                    f"floorwatch up did not stop on Ctrl-C within {timeout}s:\n{self.tail()}"
                ) from None
        return self.proc.returncode
