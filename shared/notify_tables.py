"""The notifier's delivery log (typed SQLAlchemy 2 tables; Alembic migration 0004).

* ``notifications``: one row per message the notifier decided to send — its outbox and its log.
  ``notification_id`` is the idempotency id (``Idempotency-Key`` header, email ``Message-ID``);
  ``status`` is ``pending`` until delivered (``delivered``) or given up (``failed``). The
  rendered request body is kept so a restart re-sends exactly the same message; robot URLs and
  secrets are never stored (the shell resolves them from the environment at send time).
  ``sites`` and ``scopes`` let the API show a caller only the notifications about alerts it may
  see (``/v1/notifications``).
* ``notification_attempts``: every delivery attempt, with its outcome, HTTP status and error.

The notifier's dispatcher state (groups, timers, seen transition ids) is kept in
``engine_snapshots`` under its consumer group, with the offsets it covers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base
from shared.tables import BigId


class NotificationRow(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_receiver_status", "receiver", "status", "pk"),
        Index("ix_notifications_site_pk", "site", "pk"),
    )

    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    notification_id: Mapped[str] = mapped_column(String(96), unique=True)
    route: Mapped[str] = mapped_column(String(128))
    receiver: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    group_key: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed
    alert_status: Mapped[str] = mapped_column(String(16))  # firing | resolved
    site: Mapped[str | None] = mapped_column(String(64), nullable=True)  # when all its alerts share one
    sites: Mapped[list[str]] = mapped_column(JSON)
    scopes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # the alerts' scopes (+ labels)
    fingerprints: Mapped[list[str]] = mapped_column(JSON)
    alerts: Mapped[int] = mapped_column(Integer)
    shown: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class NotificationAttemptRow(Base):
    __tablename__ = "notification_attempts"

    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    notification_id: Mapped[str] = mapped_column(String(96), index=True)
    receiver: Mapped[str] = mapped_column(String(128))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(16))  # delivered | retry | failed
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_s: Mapped[float] = mapped_column(Float)
