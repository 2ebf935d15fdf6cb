"""Handing a command to the alerts engine, and recording it in the audit log.

The entry is written first: a command that could not be recorded is not sent (503). If the sink
then fails, a ``command.failed`` entry says so and the caller gets 503."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import HTTPException, status

from services.api.audit import AuditEntry
from services.api.auth import Principal
from services.api.models import Accepted
from services.api.runtime import Runtime

logger = logging.getLogger(__name__)


def request_id() -> str:
    return uuid.uuid4().hex


async def audit(runtime: Runtime, principal: Principal, action: str, target: str, *, rid: str,
                site: str | None = None, scope: dict[str, Any] | None = None,
                detail: dict[str, Any] | None = None) -> AuditEntry:
    entry = AuditEntry(at=runtime.clock(), actor=principal.name, role=principal.role, action=action,
                       target=target, request_id=rid, site=site, scope=scope, detail=detail or {})
    try:
        return await runtime.audit.record(entry)
    except Exception as exc:
        logger.exception("audit log write failed action=%s target=%s", action, target)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            f"the audit log is unavailable, so nothing was done: {exc}") from exc


async def send(runtime: Runtime, principal: Principal, site: str, command: dict[str, Any]) -> Accepted:
    try:
        await runtime.commands.send(site, command)
    except Exception as exc:
        rid = command["request_id"]
        try:
            await runtime.audit.record(AuditEntry(
                at=runtime.clock(), actor=principal.name, role=principal.role, action="command.failed",
                target=rid, request_id=rid, site=site, scope=None,
                detail={"op": command["op"], "error": str(exc)}))
        except Exception:
            logger.exception("audit log write failed for a failed command request_id=%s", rid)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            f"could not hand the command to the alerts engine: {exc}") from exc
    return Accepted(request_id=command["request_id"], command=command)
