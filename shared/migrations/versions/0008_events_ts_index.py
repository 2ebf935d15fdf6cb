"""events: an index on ts alone (a report rebuild reads a range of time across every site)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 17:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # PostgreSQL builds it CONCURRENTLY (outside a transaction): ingest keeps inserting while a
    # large events table is indexed. SQLite locks the file while it builds (docs/reports.md).
    # A build that failed leaves an INVALID index of that name on PostgreSQL, and one interrupted
    # after the build but before the revision was stamped leaves a valid one: the first is dropped
    # and built again, the second kept, so `floorwatch db upgrade` run again finishes either way.
    with op.get_context().autocommit_block():
        if op.get_bind().dialect.name == "postgresql":
            invalid = op.get_bind().execute(sa.text(
                "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname = 'ix_events_ts' AND i.indrelid = 'events'::regclass "
                "AND NOT i.indisvalid")).first()
            if invalid is not None:
                op.drop_index("ix_events_ts", table_name="events", postgresql_concurrently=True)
        op.create_index("ix_events_ts", "events", ["ts"], unique=False, postgresql_concurrently=True,
                        if_not_exists=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index("ix_events_ts", table_name="events", postgresql_concurrently=True)
