"""The one place that builds the API's uvicorn server configuration.

Every server that runs the API — ``floorwatch api`` / ``up`` / ``--workers``, the tests' live
server, the benchmarks — takes its ``uvicorn.Config`` from :func:`server_config`, so the choices
the API depends on are made once and explicitly instead of by uvicorn's ``auto`` defaults:

* ``ws="websockets-sansio"``: the WebSocket implementation ``direct.py``'s fast path knows
  (``PRIVATE_ATTRIBUTES`` there lists what it reads of it). The ``auto`` default picks another
  implementation depending on what is installed.
* ``http="httptools"``: the C HTTP parser (installed with ``uvicorn[standard]``); ``h11`` works
  the same, slower.
* ``ws_per_message_deflate=False``: compression costs a zlib state per client and takes every
  message off the fast path (docs/api.md, "permessage-deflate is off").
* ``ws_max_size``: the largest client frame/message the server buffers before it closes the
  connection 1009 (uvicorn's default is 16 MiB per client). Messages above the API's own
  ``max_client_message_bytes`` (64 KiB) but within this limit get an ``error`` reply.
* ``log_config=None``: uvicorn's records go through ``shared/logs.py``'s handler.

uvicorn and websockets are pinned to the ranges this was checked against (pyproject.toml);
``tests/service/api/test_fast_path_guard.py`` names the attribute that broke if an upgrade breaks it.
"""

from __future__ import annotations

from typing import Any

import uvicorn

WS_IMPLEMENTATION = "websockets-sansio"
HTTP_IMPLEMENTATION = "httptools"
WS_MAX_SIZE = 256 * 1024  # 4 × ApiOptions.max_client_message_bytes


def server_config(app: Any, *, host: str = "127.0.0.1", port: int = 8000, log_level: str = "warning",
                  **overrides: Any) -> uvicorn.Config:
    """The uvicorn configuration for ``app`` (module docstring); ``overrides`` for tests and
    benchmarks (e.g. ``ws_ping_interval=None``, ``backlog``)."""
    options: dict[str, Any] = {
        "host": host, "port": port, "log_level": log_level, "log_config": None,
        "ws": WS_IMPLEMENTATION, "http": HTTP_IMPLEMENTATION,
        "ws_per_message_deflate": False, "ws_max_size": WS_MAX_SIZE,
    }
    options.update(overrides)
    return uvicorn.Config(app, **options)
