"""The operational HTTP endpoints of a service without an API of its own (ingest, alerts):
``/metrics`` (Prometheus), ``/healthz`` (the process answers), ``/readyz`` (the service works).

A small threaded ``http.server`` in daemon threads, like prometheus_client's own
``start_http_server``, plus the probes that compose healthchecks and Kubernetes need.
``ready()`` returns None when ready, else the reason (served as ``503`` with the reason).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

logger = logging.getLogger(__name__)

Ready = Callable[[], str | None]


class OpsServer:
    def __init__(self, registry: CollectorRegistry, ready: Ready, host: str = "127.0.0.1", port: int = 0):
        handler = type("OpsHandler", (_Handler,), {"registry": registry, "ready": staticmethod(ready)})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="ops-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> OpsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    registry: CollectorRegistry
    ready: Ready
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            self._send(200, encoder(self.registry), content_type)
        elif path == "/healthz":
            self._send(200, b'{"status":"ok"}\n', "application/json")
        elif path == "/readyz":
            try:
                problem = self.ready()
            except Exception as exc:  # noqa: BLE001 -- a broken probe is "not ready", never a crashed server
                problem = f"readiness check failed: {exc!r}"
            if problem is None:
                self._send(200, b'{"status":"ready"}\n', "application/json")
            else:
                self._send(503, json.dumps({"detail": problem}).encode() + b"\n", "application/json")
        else:
            self._send(404, b'{"detail":"not found: try /metrics, /healthz, /readyz"}\n', "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("ops http: " + format, *args)
