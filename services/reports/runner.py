"""The periodic report refresh: the API's background task, or ``floorwatch reports refresh --every``
as a process of its own (what ``floorwatch up`` runs, at a lower CPU priority, so that folding a
busy floor's events does not compete with the API's event loop for its interpreter lock)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from services.reports.store import ReportStore

logger = logging.getLogger(__name__)


async def refresh_every(store: ReportStore, every_s: float,
                        stopped: Callable[[], bool] = lambda: False) -> None:
    """Fold newly stored events (late ones too) into the report roll-ups every ``every_s`` seconds,
    the first time ``every_s`` after the start, until ``stopped()`` (checked twice a second) or
    cancelled. A failed refresh is logged and the next one comes as planned (docs/reports.md)."""
    while True:
        due = time.monotonic() + every_s
        while (left := due - time.monotonic()) > 0:
            if stopped():
                return
            await asyncio.sleep(min(left, 0.5))
        if stopped():
            return
        try:
            done = await store.refresh()
            if done["days"]:
                logger.info("report roll-ups re-folded days=%s", ",".join(done["days"]))
            elif done.get("incremental"):
                logger.debug("report roll-ups: %d events folded live", done["incremental"])
        except Exception:
            logger.exception("refreshing the report roll-ups failed")
