"""Keep each webhook attempt's timestamp header and signature (shown by the dashboard).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_attempts") as batch:
        batch.add_column(sa.Column("request_timestamp", sa.String(20), nullable=True))
        batch.add_column(sa.Column("signature", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_attempts") as batch:
        batch.drop_column("signature")
        batch.drop_column("request_timestamp")
