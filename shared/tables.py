"""Tables shared by the services (typed SQLAlchemy 2 mappings; Alembic owns the schema).

* ``events``: every canonical event once (unique on ``source`` + ``event_id``), queryable by site
  and time for reports; ``src_*`` records where it was consumed from, so ingest can tell its own
  replay after a crash from a true duplicate.
* ``alert_transitions``: one row per alert transition (unique ``transition_id``).
* ``engine_snapshots``: the alerts engine's state per events-topic partition, with the offset it
  covers, so a restart resumes exactly there.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("source", "event_id", name="uq_events_source_id"),
        Index("ix_events_site_ts", "site", "ts"),
    )

    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(128))
    site: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(32))
    ts: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[str] = mapped_column(Text)
    src_topic: Mapped[str] = mapped_column(String(255))
    src_partition: Mapped[int] = mapped_column(Integer)
    src_offset: Mapped[int] = mapped_column(BigInteger)
    ingested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AlertTransitionRow(Base):
    __tablename__ = "alert_transitions"
    __table_args__ = (Index("ix_alert_transitions_site_time", "site", "event_time"),)

    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    transition_id: Mapped[str] = mapped_column(String(96), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    rule: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    site: Mapped[str] = mapped_column(String(64))
    scope: Mapped[dict[str, str]] = mapped_column(JSON)
    event_time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class EngineSnapshotRow(Base):
    __tablename__ = "engine_snapshots"

    group_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    topic: Mapped[str] = mapped_column(String(255), primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_offset: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
