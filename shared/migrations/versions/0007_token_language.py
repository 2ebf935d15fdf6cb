"""api tokens: the reader's language of a token (issue 15)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 23:59:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: the site's default language, then the reader's browser (existing tokens keep that)
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("language")
