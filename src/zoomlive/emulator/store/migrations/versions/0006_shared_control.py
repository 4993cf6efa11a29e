"""What the workers and hosts of one PostgreSQL store share: the clock, fault rules, and the
media workers' stream leases and reports.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "control_state",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "fault_rules",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("remaining", sa.Integer, nullable=True),
    )
    op.create_table(
        "stream_leases",
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("owner_id", sa.BigInteger, primary_key=True),
        sa.Column("worker", sa.String(128), nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "stream_reports",
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("owner_id", sa.BigInteger, primary_key=True),
        sa.Column("worker", sa.String(128), nullable=False),
        sa.Column("speaker", sa.String(200), nullable=True),
        sa.Column("metrics", sa.Text, nullable=True),
        sa.Column("thumbnail", sa.LargeBinary, nullable=True),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("stream_reports", "stream_leases", "fault_rules", "control_state"):
        op.drop_table(table)
