"""The web wallboard: one static page (no build step) served from ``static/``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

STATIC = Path(__file__).parent / "static"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
       "frame-ancestors 'none'")


PAGE_HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "Content-Security-Policy": CSP}


class _Static(StaticFiles):
    """The page's scripts and styles; an HTML file here (the page itself, reached as
    ``/static/wallboard.html``) gets the same headers as ``/wallboard``."""

    def file_response(self, full_path: Any, stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        if str(full_path).endswith((".html", ".htm")):
            response.headers.update(PAGE_HEADERS)
        return response


def mount(app: FastAPI) -> None:
    app.mount("/static", _Static(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def root(request: Request) -> RedirectResponse:
        query = request.url.query
        return RedirectResponse("/wallboard" + (f"?{query}" if query else ""), status_code=307)

    @app.get("/wallboard", include_in_schema=False)
    async def page() -> FileResponse:
        # the token travels in the query string; keep it out of Referer headers and caches
        return FileResponse(STATIC / "wallboard.html", headers=PAGE_HEADERS)
