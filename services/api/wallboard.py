"""The web wallboard: one static page (no build step) served from ``static/``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
       "frame-ancestors 'none'")


def mount(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def root(request: Request) -> RedirectResponse:
        query = request.url.query
        return RedirectResponse("/wallboard" + (f"?{query}" if query else ""), status_code=307)

    @app.get("/wallboard", include_in_schema=False)
    async def page() -> FileResponse:
        # the token travels in the query string; keep it out of Referer headers and caches
        return FileResponse(STATIC / "wallboard.html", headers={
            "Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "Content-Security-Policy": CSP})
