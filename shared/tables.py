"""Tables shared by the services (typed SQLAlchemy 2 mappings; Alembic owns the schema).

* ``events``: every canonical event once (unique on ``source`` + ``event_id``), queryable by site
  and time for reports; ``src_*`` records where it was consumed from, so ingest can tell its own
  replay after a crash from a true duplicate.
* ``alert_transitions``: one row per alert transition (unique ``transition_id``).
* ``engine_snapshots``: the alerts engine's state per events-topic partition, with the offset it
  covers, so a restart resumes exactly there.
* ``report_*``: the reports' roll-ups, derived from ``events`` (``docs/reports.md``);
  ``handover_notes``: the outgoing supervisor's shift notes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("source", "event_id", name="uq_events_source_id"),
        Index("ix_events_site_ts", "site", "ts"),
        Index("ix_events_ts", "ts"),  # a report rebuild reads a time range across sites
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


# -- reports (services/reports; docs/reports.md) ---------------------------------------------------
# Roll-ups are derived data: `floorwatch reports rebuild` deletes and re-folds whole business days
# from `events`, so these tables carry no uniqueness beyond their surrogate key.

ROLLUP_COUNTERS = (
    "offered", "answered", "abandoned", "short_abandoned", "answered_in_sl", "wait_sum",
    "handled", "handled_untimed", "talk_sum", "hold_sum", "wrap_sum", "outcomes", "successes",
    "available_s", "not_ready_s", "talking_s", "holding_s", "wrapping_s", "logged_in_s",
    "exited", "unqueued",
)


def _rollup_table(name: str, with_bucket: bool) -> Table:
    cols: list[Column[Any]] = [
        Column("id", BigId, primary_key=True, autoincrement=True),
        Column("site", String(64), nullable=False),
        Column("day", Date, nullable=False),
    ]
    if with_bucket:
        cols.append(Column("bucket", DateTime(timezone=True), nullable=False))
    cols += [Column(d, String(128), nullable=False) for d in ("queue", "project", "team", "agent")]
    cols += [Column(c, Float, nullable=False) for c in ROLLUP_COUNTERS]
    return Table(name, Base.metadata, *cols, Index(f"ix_{name}_day_site", "day", "site"))


ROLLUP_15M = _rollup_table("report_rollup_15m", True)
ROLLUP_DAY = _rollup_table("report_rollup_day", False)

REPORT_NOT_READY = Table(
    "report_not_ready", Base.metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("site", String(64), nullable=False),
    Column("day", Date, nullable=False),
    Column("bucket", DateTime(timezone=True), nullable=False),
    Column("team", String(128), nullable=False),
    Column("agent", String(128), nullable=False),
    Column("reason", String(128), nullable=False),
    Column("seconds", Float, nullable=False),
    Index("ix_report_not_ready_day_site", "day", "site"),
)

REPORT_OUTCOMES = Table(
    "report_outcomes", Base.metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("site", String(64), nullable=False),
    Column("day", Date, nullable=False),
    Column("queue", String(128), nullable=False),
    Column("project", String(128), nullable=False),
    Column("team", String(128), nullable=False),
    Column("agent", String(128), nullable=False),
    Column("code", String(128), nullable=False),
    Column("reason", String(256), nullable=False),
    Column("success", Boolean, nullable=True),
    Column("n", Integer, nullable=False),
    Index("ix_report_outcomes_day_site", "day", "site"),
)

REPORT_FOLLOW_UPS = Table(
    "report_follow_ups", Base.metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("site", String(64), nullable=False),
    Column("day", Date, nullable=False),
    Column("call", String(128), nullable=False),
    Column("contact", String(128), nullable=False),
    Column("queue", String(128), nullable=False),
    Column("project", String(128), nullable=False),
    Column("team", String(128), nullable=False),
    Column("agent", String(128), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("code", String(128), nullable=False),
    Column("reason", String(256), nullable=False),
    Index("ix_report_follow_ups_day_site", "day", "site"),
    Index("ix_report_follow_ups_contact", "site", "contact"),
)

# wraps of calls that name their contact: what closes a follow-up (any later day)
REPORT_CONTACT_WRAPS = Table(
    "report_contact_wraps", Base.metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("site", String(64), nullable=False),
    Column("day", Date, nullable=False),
    Column("contact", String(128), nullable=False),
    Column("call", String(128), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_report_contact_wraps_day_site", "day", "site"),
    Index("ix_report_contact_wraps_contact", "site", "contact", "at"),
)

REPORT_SPANS = Table(
    "report_spans", Base.metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("site", String(64), nullable=False),
    Column("day", Date, nullable=False),
    Column("agent", String(128), nullable=False),
    Column("team", String(128), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", String(128), nullable=False),
    Column("start", DateTime(timezone=True), nullable=False),
    Column("end", DateTime(timezone=True), nullable=False),
    Column("call", String(128), nullable=False),
    Index("ix_report_spans_day_site", "day", "site"),
    Index("ix_report_spans_agent", "site", "agent", "day"),
)

# name -> value: `events_pk` = the highest events.pk folded into the roll-ups
REPORT_STATE = Table(
    "report_state", Base.metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

HANDOVER_NOTES = Table(
    "handover_notes", Base.metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("site", String(64), nullable=False),
    Column("shift", String(64), nullable=False),
    Column("day", Date, nullable=False),
    Column("note", Text, nullable=False),
    Column("author", String(128), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_handover_notes_site_day", "site", "day", "shift"),
)
