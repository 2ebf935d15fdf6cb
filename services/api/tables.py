"""The API's own tables: ``api_tokens`` and ``audit_log`` (Alembic owns the schema: migrations 0002, 0003).

A token itself is never stored, only its SHA-256 hex digest. ``scope`` is
``{"sites": [...] | null, "teams": [...] | null, "queues": [...] | null}`` (null = unrestricted).
A token with ``revoked_at`` set is refused.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base

BigId = BigInteger().with_variant(Integer(), "sqlite")


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # zh | en: its reader's language (issue 15); NULL: the site's default, then the browser's
    language: Mapped[str | None] = mapped_column(String(8), default=None)


class AuditRow(Base):
    """One audited action: who (``actor``, ``role``), when (``at``), what (``action`` on ``target``),
    where (``site`` and the alert / silence ``scope``, for scoped reading), and its ``detail``."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_site_id", "site", "id"), Index("ix_audit_log_action_target",
                                                                          "action", "target"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(128))
    site: Mapped[str | None] = mapped_column(String(64), default=None)
    scope: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    request_id: Mapped[str] = mapped_column(String(64))
