"""Encode an engine snapshot in a forked child, so the consumer thread does not hold every alert
behind the encoding (issue 14: ~145 ms for a 5,000-agent floor, every snapshot interval).

The child gets a copy-on-write view of the process as it is at ``fork()``: the engine there is
frozen at that instant whatever the parent does next, so the bytes are exactly those
``Engine.snapshot()`` would return in the parent at that point (the same code on the same state).
The parent pays for the fork itself (copying its page tables: ~10 ms at ~150 MiB here) and goes
on; a thread of the parent reads the bytes from a pipe and reaps the child. Redis's ``BGSAVE``
works the same way.

The child only runs the encoding function, writes the length and the bytes to the pipe and leaves
with ``os._exit``: no lock another thread may have held at the fork, no client, no logging, no
``atexit``. A child that fails, dies, outlives ``timeout_s`` (then killed) or delivers fewer
bytes than it announced resolves the future with :class:`ForkedEncodeFailed`, and the caller
encodes in its own thread again. (Python 3.12 and later warn about ``fork()`` in a process with
threads, for children that touch what those threads hold; this one does not.)
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import gc
import os
import select
import signal
import threading
import time
from collections.abc import Callable

CHUNK = 1 << 20


class ForkedEncodeFailed(RuntimeError):
    """The child did not deliver the bytes (it raised, died or was too slow)."""


def can_fork() -> bool:
    return hasattr(os, "fork")


def encode_forked(encode: Callable[[], bytes], *, timeout_s: float) -> concurrent.futures.Future[bytes]:
    """Run ``encode`` in a forked child; the future gets its bytes. Raises ``OSError`` when the
    fork itself fails (no memory, no processes left): then nothing was started."""
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        raise
    if pid == 0:  # the child: nothing but the encoding and the pipe
        status = 70
        try:
            os.close(read_fd)
            gc.disable()
            data = encode()
            view = memoryview(len(data).to_bytes(8, "big") + data)  # the length first: no torn read
            while view:
                view = view[os.write(write_fd, view):]
            status = 0
        finally:
            os._exit(status)
    os.close(write_fd)
    future: concurrent.futures.Future[bytes] = concurrent.futures.Future()
    threading.Thread(
        target=_collect, args=(pid, read_fd, future, time.monotonic() + timeout_s),
        name="snapshot-encoder-reader", daemon=True,
    ).start()
    return future


def _collect(pid: int, read_fd: int, future: concurrent.futures.Future[bytes], deadline: float) -> None:
    """Resolve ``future`` whatever happens: a future left pending would hold the partition's
    periodic snapshots back for good (a new one waits for the last)."""
    try:
        _read_and_reap(pid, read_fd, future, deadline)
    except BaseException as exc:
        if not future.done():
            future.set_exception(ForkedEncodeFailed(f"the snapshot encoder (pid {pid}): {exc!r}"))
        raise


def _read_and_reap(pid: int, read_fd: int, future: concurrent.futures.Future[bytes], deadline: float) -> None:
    chunks: list[bytes] = []
    failure: str | None = None
    ready = select.poll()  # not select.select: that refuses descriptors numbered 1024 and above
    ready.register(read_fd, select.POLLIN)
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not ready.poll(left * 1000):
                failure = "timed out"
                os.kill(pid, signal.SIGKILL)
                break
            chunk = os.read(read_fd, CHUNK)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError as exc:
        failure = f"reading its output failed: {exc}"
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    finally:
        os.close(read_fd)
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:  # reaped by someone else: its exit status is unknown
        status = 0
    if failure is None and status != 0:
        failure = (f"killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
                   else f"exit status {os.waitstatus_to_exitcode(status)}")
    out = b"".join(chunks)
    if failure is None and len(out) < 8:
        failure = "nothing came"
    elif failure is None and int.from_bytes(out[:8], "big") != len(out) - 8:
        failure = f"{len(out) - 8} bytes came, not the {int.from_bytes(out[:8], 'big')} announced"
    if failure is None:
        future.set_result(out[8:])
    else:
        future.set_exception(ForkedEncodeFailed(f"the snapshot encoder (pid {pid}): {failure}"))
