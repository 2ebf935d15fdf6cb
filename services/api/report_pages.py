"""The report and handover pages: static HTML + JS (no build step), charts by the vendored Apache
ECharts (``static/vendor/echarts``). The filters live in the URL, so a link can be shared; data
comes from ``/v1/reports/{name}`` and ``/v1/handover`` with the token of the URL (``?token=``)."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, status
from fastapi.responses import FileResponse

from services.api.wallboard import CSP, STATIC
from services.reports.core.reports import REPORTS

HEADERS = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "Content-Security-Policy": CSP}


def mount(app: FastAPI) -> None:
    @app.get("/reports/{name}", include_in_schema=False)
    async def report_page(name: str) -> FileResponse:
        if name not in REPORTS:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"no report {name!r}; reports: {', '.join(REPORTS)}")
        return FileResponse(STATIC / "reports.html", headers=HEADERS)

    @app.get("/handover", include_in_schema=False)
    async def handover_page() -> FileResponse:
        return FileResponse(STATIC / "handover.html", headers=HEADERS)
