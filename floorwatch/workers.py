"""``floorwatch api --workers N``: N API processes serving one host:port.

Why: one fan-out to 10,000 WebSocket clients costs the API 150–230 ms of CPU, almost all of it the
kernel's per-connection send, on one core (docs/benchmarks.md). N processes split the clients, so
each fan-out is N shorter loops running on N cores at once.

How the port is shared: each worker binds **its own** listening socket with ``SO_REUSEPORT`` and the
kernel spreads incoming connections over them by a hash of the connection's addresses. The other
way, one socket bound by the parent and inherited by every worker, lets whichever worker wakes
first take the connection: under a connect storm the idle worker takes most of them and the split
the fan-out depends on is lost. ``SO_REUSEPORT`` would also let a *second* server of the same user
silently share the port, so the parent first binds the address once without it (a plain bind fails
on a port already listened on), then lets it go and starts the workers.

Each worker is a whole API instance — its own Kafka feed, hub, token-store and database
connections — as design.md allows several instances behind a load balancer. The parent forks the
workers before it has created any thread, event loop or Kafka client (it only parses arguments)
and then only waits and relays signals:

* SIGTERM or SIGINT to the parent: SIGTERM to every worker, each drains as one ``floorwatch api``
  does (closes its WebSocket clients — 1012 from uvicorn — and its feed, flushes its producer); a
  worker still alive after ``drain_timeout_s`` is killed. Ctrl-C in a terminal reaches the workers
  directly too (same process group); a second Ctrl-C forces them.
* A worker that exits on its own takes the others down (exit status 1), as ``floorwatch up`` does
  with its services: half a fan-out that looks alive is worse than none.
* Workers get SIGTERM when the parent dies without stopping them (``PR_SET_PDEATHSIG``, Linux).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def check_free(host: str, port: int) -> int:
    """Bind ``host:port`` once without ``SO_REUSEPORT`` (fails with ``OSError`` if something listens
    there already) and return the port (the kernel's choice when ``port`` is 0)."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        return int(probe.getsockname()[1])


def reuseport_socket(host: str, port: int) -> socket.socket:
    """A bound (not yet listening) TCP socket with ``SO_REUSEPORT``: one per worker."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(False)
    return sock


def run_workers(count: int, worker: Callable[[int], int | None], *, drain_timeout_s: float = 30.0) -> int:
    """Fork ``count`` processes that each run ``worker(index)`` and exit with its result; wait for
    them and relay stop signals (module docstring). Returns 0 after a requested stop, 1 if a worker
    exited on its own or had to be killed."""
    parent = os.getpid()
    pids: dict[int, int] = {}
    for index in range(count):
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                _die_with_parent(parent)
                # uvicorn re-raises the stop signal once it has shut down; as KeyboardInterrupt (which
                # ``floorwatch api`` catches) the worker still runs its own teardown, instead of dying
                signal.signal(signal.SIGTERM, _interrupt)
                code = int(worker(index) or 0)
            except KeyboardInterrupt:
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
            except BaseException:
                logger.exception("API worker %d failed", index)
            finally:
                logging.shutdown()
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        pids[pid] = index
    logger.info("API workers started pids=%s", sorted(pids))
    return _supervise(pids, drain_timeout_s)


def _supervise(pids: dict[int, int], drain_timeout_s: float) -> int:
    stop_requested = False
    deadline: float | None = None
    failed = False

    def stop_all() -> None:
        nonlocal deadline
        if deadline is None:
            deadline = time.monotonic() + drain_timeout_s
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True
        stop_all()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while pids:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                if deadline is not None and time.monotonic() > deadline:
                    logger.warning("API workers %s did not stop within %.0f s: killing them",
                                   sorted(pids), drain_timeout_s)
                    failed = True
                    for left in pids:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(left, signal.SIGKILL)
                    deadline = time.monotonic() + 5
                time.sleep(0.1)
                continue
            if pid not in pids:
                continue
            index = pids.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            if not stop_requested:
                logger.error("API worker %d (pid %d) exited unexpectedly with code %s: stopping the others",
                             index, pid, code)
                failed = True
                stop_requested = True
                stop_all()
            elif code != 0:
                logger.warning("API worker %d (pid %d) exited with code %s", index, pid, code)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 1 if failed else 0
