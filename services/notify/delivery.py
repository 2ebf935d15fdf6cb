"""Delivery: one asyncio task per receiver sends its outbox in order, with retries and backoff.

A receiver that is down or hangs only delays itself: each has its own task, each attempt has a
time limit for the whole exchange (a server that trickles its answer is cut off too), at most
``MAX_RESPONSE_BYTES`` of an answer are read, and the others go on. Any error in an attempt (a
bad URL included) makes it a failed attempt. A failed attempt is recorded and retried (1 s, 2 s,
4 s … up to ``max_backoff_s``) until it is delivered or older than ``give_up_after_s``; an
answer that will not get better (a 4xx other than 408 / 425 / 429) fails the message at once.
While a receiver's backlog is at the configured limit, the dispatcher holds its groups
back instead of adding messages (``blocked()``), so the outbox stays bounded and later alerts are
grouped, not dropped.

Secrets (robot URLs, signing keys, SMTP passwords) are resolved here from the environment or a
file, and scrubbed from every error text before it is logged or stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import httpx

from services.notify.core.config import Receiver
from services.notify.core.render.signing import sign, vendor_error
from services.notify.metrics import NotifyMetrics
from services.notify.store import NotifyStore, Outgoing

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 64 * 1024  # robots answer with a small JSON; the rest is not read


class SecretError(ValueError):
    pass


def resolve(ref: str | None, env: dict[str, str] | None = None) -> str | None:
    """``env:NAME`` → the variable, ``file:/path`` → the file's text (stripped); else as is."""
    if ref is None:
        return None
    environ = os.environ if env is None else env
    if ref.startswith("env:"):
        name = ref[4:]
        if name not in environ:
            raise SecretError(f"environment variable {name} is not set")
        return environ[name].strip()  # a value set from a file or a heredoc ends with a newline
    if ref.startswith("file:"):
        try:
            return Path(ref[5:]).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretError(f"cannot read {ref[5:]}: {exc.strerror}") from None
    return ref


@dataclass(frozen=True)
class Endpoint:
    receiver: Receiver
    url: str
    secret: str | None
    password: str | None

    @classmethod
    def of(cls, receiver: Receiver, env: dict[str, str] | None = None) -> Endpoint:
        try:
            return cls(receiver, resolve(receiver.url, env) or "", resolve(receiver.secret, env),
                       resolve(receiver.password, env))
        except SecretError as exc:
            raise SecretError(f"receiver {receiver.name!r}: {exc}") from None

    def scrub(self, text: str) -> str:
        for secret in (self.url, self.secret, self.password):
            if secret:
                text = text.replace(secret, "<redacted>")
        return text


@dataclass(frozen=True)
class RetryPolicy:
    timeout_s: float = 10.0
    max_backoff_s: float = 30.0
    give_up_after_s: float = 24 * 3600.0

    def backoff(self, attempt: int) -> float:
        return float(min(self.max_backoff_s, 2 ** max(0, attempt - 1)))


@dataclass(frozen=True)
class Result:
    outcome: str  # delivered | retry | failed
    status_code: int | None = None
    error: str | None = None


class Deliverer:
    def __init__(self, store: NotifyStore, endpoints: dict[str, Endpoint], metrics: NotifyMetrics,
                 policy: RetryPolicy, *, backlog_limit: int, wall: Callable[[], dt.datetime],
                 batch: int = 50) -> None:
        self.store = store
        self.endpoints = endpoints
        self.metrics = metrics
        self.policy = policy
        self.backlog_limit = backlog_limit
        self.wall = wall
        self.batch = batch
        self.backlog: dict[str, int] = dict.fromkeys(endpoints, 0)
        self._wake: dict[str, asyncio.Event] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: httpx.AsyncClient | None = None
        self._stopping = False

    # -- called from other threads ------------------------------------------------------------
    def blocked(self) -> frozenset[str]:
        return frozenset(r for r, n in self.backlog.items() if n >= self.backlog_limit)

    def added(self, counts: dict[str, int]) -> None:
        """New outbox rows were committed (consumer thread): count them and wake their tasks."""
        for receiver, n in counts.items():
            self.backlog[receiver] = self.backlog.get(receiver, 0) + n
            self.metrics.backlog.labels(receiver).set(self.backlog[receiver])
        loop = self._loop
        if loop is not None:
            for receiver in counts:
                event = self._wake.get(receiver)
                if event is not None:
                    loop.call_soon_threadsafe(event.set)

    # -- on the event loop --------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._http = httpx.AsyncClient(timeout=self.policy.timeout_s, follow_redirects=False)
        self.backlog.update(await self.store.backlog())
        for name in self.endpoints:
            self._wake[name] = asyncio.Event()
            self.metrics.backlog.labels(name).set(self.backlog.get(name, 0))
            self._tasks.append(asyncio.create_task(self._run(name), name=f"deliver-{name}"))

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._http is not None:
            await self._http.aclose()

    async def _run(self, receiver: str) -> None:
        while not self._stopping:
            try:
                await self._drain(receiver)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("delivery to %s failed unexpectedly; resuming in 1 s", receiver)
                await asyncio.sleep(1.0)

    async def _drain(self, receiver: str) -> None:
        wake = self._wake[receiver]
        while not self._stopping:
            wake.clear()
            batch = await self.store.pending(receiver, self.batch)
            self.backlog[receiver] = (await self.store.backlog(receiver)).get(receiver, 0)
            self.metrics.backlog.labels(receiver).set(self.backlog[receiver])
            if not batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=5.0)
                continue
            for msg in batch:
                await self._deliver(msg)
                self.backlog[receiver] = max(0, self.backlog[receiver] - 1)
                self.metrics.backlog.labels(receiver).set(self.backlog[receiver])

    async def _deliver(self, msg: Outgoing) -> None:
        """Attempts until the message is delivered or given up (in order: the next one waits)."""
        attempt = msg.attempts
        while True:
            attempt += 1
            started = time.monotonic()
            result = await self._attempt(msg)
            took = time.monotonic() - started
            now = self.wall()
            age = (now - msg.created_at).total_seconds()
            if result.outcome == "retry" and age > self.policy.give_up_after_s:
                result = Result("failed", result.status_code,
                                f"gave up after {attempt} attempts: {result.error}")
            await self.store.attempt(msg.notification_id, msg.receiver, at=now, outcome=result.outcome,
                                     status_code=result.status_code, error=result.error, duration_s=took)
            self.metrics.attempts.labels(msg.route, msg.receiver, msg.kind, result.outcome).inc()
            self.metrics.duration.labels(msg.receiver, msg.kind).observe(took)
            if result.outcome == "delivered":
                self.metrics.delay.labels(msg.receiver).observe(max(0.0, age))
                logger.info("notification delivered id=%s receiver=%s attempts=%d", msg.notification_id,
                            msg.receiver, attempt)
                return
            if result.outcome == "failed":
                logger.error("notification failed id=%s receiver=%s error=%s", msg.notification_id,
                             msg.receiver, result.error)
                return
            wait = self.policy.backoff(attempt)
            logger.warning("notification attempt failed id=%s receiver=%s attempt=%d retry_in=%.0fs "
                           "error=%s", msg.notification_id, msg.receiver, attempt, wait, result.error)
            await asyncio.sleep(wait)

    async def _attempt(self, msg: Outgoing) -> Result:
        endpoint = self.endpoints.get(msg.receiver)
        if endpoint is None:
            return Result("failed", error=f"receiver {msg.receiver!r} is no longer configured")
        if msg.kind == "none":  # a receiver without integrations: logged, nothing to send
            return Result("delivered")
        try:
            async with asyncio.timeout(self.policy.timeout_s):
                if msg.kind == "email":
                    return await self._email(endpoint, msg)
                return await self._http_post(endpoint, msg)
        except TimeoutError:
            return Result("retry", error=f"no answer within {self.policy.timeout_s:g} s")
        except Exception as exc:  # noqa: BLE001 -- any error is a failed attempt, recorded and retried
            return Result("retry", error=endpoint.scrub(f"{type(exc).__name__}: {exc}"))

    async def _http_post(self, endpoint: Endpoint, msg: Outgoing) -> Result:
        assert self._http is not None
        signed = sign(msg.kind, endpoint.url, msg.body, endpoint.secret, self.wall().timestamp(),
                      msg.notification_id, msg.content_type)
        headers = dict(endpoint.receiver.headers)
        headers.update(signed.headers)
        async with self._http.stream("POST", signed.url, content=signed.body, headers=headers) as response:
            content = b""
            async for chunk in response.aiter_bytes():
                content += chunk[: MAX_RESPONSE_BYTES - len(content)]
                if len(content) >= MAX_RESPONSE_BYTES:
                    break
        code = response.status_code
        problem = vendor_error(msg.kind, code, content)
        if problem is not None:  # a robot's own error code: its rate limits are worth a retry
            return Result("retry" if problem.retry else "failed", code, endpoint.scrub(problem.message))
        if 200 <= code < 300:
            return Result("delivered", code)
        error = endpoint.scrub(f"HTTP {code}: {content[:300].decode(errors='replace')}")
        if 400 <= code < 500 and code not in (408, 425, 429):
            return Result("failed", code, error)
        return Result("retry", code, error)

    async def _email(self, endpoint: Endpoint, msg: Outgoing) -> Result:
        rec = endpoint.receiver
        mail = EmailMessage()
        mail["Subject"] = msg.subject
        mail["From"] = rec.sender
        mail["To"] = ", ".join(rec.to)
        mail["Message-ID"] = f"<{msg.notification_id}@floorwatch>"
        mail.set_content(msg.body)
        if msg.html:
            mail.add_alternative(msg.html, subtype="html")
        host, _, port = rec.smarthost.rpartition(":")
        await aiosmtplib.send(mail, hostname=host, port=int(port), username=rec.username or None,
                              password=endpoint.password, start_tls=rec.starttls, use_tls=False,
                              timeout=self.policy.timeout_s)
        return Result("delivered")
