"""events: an index on ts alone (a report rebuild reads a range of time across every site)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 17:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # PostgreSQL builds it CONCURRENTLY (outside a transaction): ingest keeps inserting while a
    # large events table is indexed. SQLite locks the file while it builds (docs/reports.md).
    with op.get_context().autocommit_block():
        op.create_index("ix_events_ts", "events", ["ts"], unique=False, postgresql_concurrently=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index("ix_events_ts", table_name="events", postgresql_concurrently=True)
