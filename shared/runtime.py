"""Process plumbing shared by the service shells: an asyncio loop in its own thread, and the
stop-signal handling of the composition roots.

Shutdown follows one pattern everywhere: a flag is set (signal handlers do nothing else), each
component drains with a time limit, then is torn down in reverse order; ``stop()`` is idempotent;
a second Ctrl-C forces exit.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import logging
import os
import signal
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

logger = logging.getLogger(__name__)
T = TypeVar("T")


class LoopThread:
    """An event loop running in a daemon thread; other threads hand it coroutines with :meth:`call`."""

    def __init__(self, name: str):
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` without waiting for it; the caller reads the outcome from the future."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def submit(self, coro: Coroutine[Any, Any, Any], *, what: str) -> concurrent.futures.Future[Any]:
        """Run ``coro`` without waiting for it; a failure is logged loudly (and the future returned
        says it too, for a caller that must know later)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)

        def done(f: concurrent.futures.Future[Any]) -> None:
            if not f.cancelled() and f.exception() is not None:
                logger.error("%s failed", what, exc_info=f.exception())

        future.add_done_callback(done)
        return future

    def drain(self, timeout: float = 5.0) -> None:
        """Wait (up to ``timeout``) for everything submitted so far to finish."""

        async def _all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if tasks:
                await asyncio.wait(tasks, timeout=timeout)

        self.call(_all(), timeout + 1)

    def stop(self, timeout: float = 5.0) -> None:
        if not self.loop.is_running():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()


def teardown(batch: Any, producer: Any, db: Any, loop: LoopThread | None, timeout: float) -> None:
    """Stop a service's parts in reverse order of their start, each with a time limit: the
    consumer loop (finishes its batch, commits), the producer (flushes), then what is still
    running on the event loop, the database engine, and the loop itself. Any part may be None."""
    if batch is not None:
        batch.stop()
        batch.join(timeout)
    if producer is not None:
        producer.flush(timeout)
        producer.close(timeout)
    if loop is not None:
        loop.drain(timeout)
        if db is not None:
            loop.call(db.dispose(), timeout)
        loop.stop()


def install_stop_handlers(stop: threading.Event) -> None:
    """SIGINT/SIGTERM set ``stop``; a second one exits at once (exit code 130)."""

    def handler(signum: int, _frame: object) -> None:
        if stop.is_set():
            logger.warning("second signal %s: forcing exit", signum)
            os._exit(130)
        logger.info("signal %s: stopping (again to force)", signum)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)



def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def sigterm_as_interrupt() -> None:
    """Make SIGTERM (systemd, ``docker stop``, Kubernetes) take exactly Ctrl-C's path.

    For commands whose main thread runs uvicorn: uvicorn handles both signals while it serves,
    shuts down, then raises the captured signal again with the handlers it found. SIGTERM's
    default handler would then kill the process (exit 143) before any ``finally`` ran; with this
    one it becomes the ``KeyboardInterrupt`` that the Ctrl-C path already handles.
    """
    signal.signal(signal.SIGTERM, _interrupt)


def freeze_startup_objects() -> int:
    """Once a service has started: collect, then move every object tracked now (modules, classes,
    settings, clients -- what start-up built and the process keeps) into the permanent generation,
    which collections skip. Without it each of the first full collections walks all of them: 50-100 ms
    per service process here, in the middle of the first seconds' traffic (docs/benchmarks.md,
    *What was tried for issue 14*). Frozen objects are still freed by reference
    counting. Returns how many objects are frozen."""
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    logger.info("start-up objects frozen for the garbage collector count=%d", frozen)
    return frozen
