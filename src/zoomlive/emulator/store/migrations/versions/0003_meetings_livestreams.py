"""Meetings, live streams (configuration and runtime state) and their state changes.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meetings",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("uuid", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "account_id",
            sa.String(64),
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "host_id", sa.String(64), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("type", sa.Integer, nullable=False),
        sa.Column("start_time", sa.DateTime, nullable=True),
        sa.Column("duration", sa.Integer, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("agenda", sa.Text, nullable=False),
        sa.Column("password", sa.String(10), nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=True),
        sa.Column("ended_at", sa.DateTime, nullable=True),
        sa.CheckConstraint("status IN ('waiting', 'started', 'ended')", name="ck_meetings_status"),
    )
    op.create_index("ix_meetings_account_id", "meetings", ["account_id"])
    op.create_index("ix_meetings_host_id", "meetings", ["host_id"])
    op.create_table(
        "livestreams",
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("owner_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column(
            "account_id",
            sa.String(64),
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("stream_url", sa.String(1024), nullable=True),
        sa.Column("stream_key", sa.String(512), nullable=True),
        sa.Column("page_url", sa.String(1024), nullable=True),
        sa.Column("resolution", sa.String(8), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=True),
        sa.Column("active_speaker_name", sa.Boolean, nullable=True),
        sa.Column("layout", sa.String(16), nullable=True),
        sa.Column("close_caption", sa.String(16), nullable=True),
        sa.Column("started_at", sa.DateTime, nullable=True),
        sa.Column("stopped_at", sa.DateTime, nullable=True),
        sa.Column("last_start_request_at", sa.DateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("updated_at", sa.DateTime, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.CheckConstraint("kind IN ('webinar', 'meeting')", name="ck_livestreams_kind"),
        sa.CheckConstraint(
            "state IN ('stopped', 'starting', 'live', 'failed')", name="ck_livestreams_state"
        ),
    )
    op.create_index("ix_livestreams_account_id", "livestreams", ["account_id"])
    op.create_table(
        "livestream_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("owner_id", sa.BigInteger, nullable=False),
        sa.Column("from_state", sa.String(16), nullable=False),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for table in ("livestream_events", "livestreams", "meetings"):
        op.drop_table(table)
