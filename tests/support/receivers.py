"""Local stand-ins for the notification destinations: an HTTP receiver (webhook, WeCom, DingTalk
and Feishu robots all take a JSON POST) and an SMTP server (aiosmtpd). Both record what they got."""

from __future__ import annotations

import http.server
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller

from shared.broker import free_port


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it arrived
    answered: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def key(self) -> str:
        return self.headers.get("Idempotency-Key", "")


@dataclass
class HttpReceiver:
    """Answers POSTs with ``mode``: ``ok`` (200 + the vendor's success JSON), ``fail`` (500),
    ``hang`` (holds the connection ``hang_s``, then 500) or ``slow`` (holds it ``hang_s``, then
    accepts: 200). Every request is recorded when answered; ``started`` counts arrivals."""

    mode: str = "ok"
    hang_s: float = 30.0
    hits: list[Hit] = field(default_factory=list)
    started: int = 0
    port: int = 0
    _server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> HttpReceiver:
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                mode = outer.mode
                outer.started += 1
                if mode in ("hang", "slow"):
                    time.sleep(outer.hang_s)
                code = 200 if mode in ("ok", "slow") else 500
                outer.hits.append(Hit(self.path, dict(self.headers), body, time.monotonic(), code))
                answer = b'{"errcode":0,"errmsg":"ok","code":0,"msg":"success"}' if code == 200 else b"down"
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass

            def log_message(self, *_args: Any) -> None:
                pass

        self.port = free_port()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ok(self, path: str | None = None) -> list[Hit]:
        return [h for h in self.hits if h.answered == 200 and (path is None or h.path.startswith(path))]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


class SmtpReceiver:
    def __init__(self) -> None:
        self.inbox = _Inbox()
        self.port = free_port()
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpReceiver:
        self._controller.start()
        return self

    @property
    def messages(self) -> list[tuple[str, list[str], bytes]]:
        return self.inbox.messages

    def stop(self) -> None:
        self._controller.stop()
