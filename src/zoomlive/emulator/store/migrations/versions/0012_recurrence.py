"""Recurring webinars and meetings: their ``recurrence`` and the changes and deletions of
single occurrences, as JSON text on the session rows (existing rows: none, one-time sessions).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("webinars", "meetings"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("recurrence", sa.Text, nullable=True))
            batch.add_column(sa.Column("occurrence_changes", sa.Text, nullable=True))


def downgrade() -> None:
    for table in ("webinars", "meetings"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("occurrence_changes")
            batch.drop_column("recurrence")
