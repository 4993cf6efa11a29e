"""Registrants, registration questions and invite links of webinars and meetings, and webinar
panelists: one table per kind, each deleted with its webinar or meeting.

Revision ID: 0010
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def _session_fk(parent: str, *, key: bool = False) -> sa.Column[int]:
    return sa.Column(
        "session_id",
        sa.BigInteger,
        sa.ForeignKey(f"{parent}.id", ondelete="CASCADE"),
        nullable=False,
        primary_key=key,
        autoincrement=False,
    )


def upgrade() -> None:
    for name, parent in (
        ("webinar_registrants", "webinars"),
        ("meeting_registrants", "meetings"),
    ):
        op.create_table(
            name,
            sa.Column("id", sa.String(64), primary_key=True),
            _session_fk(parent),
            sa.Column("account_id", sa.String(64), nullable=False),
            sa.Column("email", sa.String(128), nullable=False),
            sa.Column("first_name", sa.String(64), nullable=False),
            sa.Column("last_name", sa.String(64), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("details", sa.Text, nullable=False),
            sa.Column("join_token", sa.String(64), nullable=False),
            sa.Column("pin_code", sa.BigInteger, nullable=False),
            sa.Column("create_time", sa.DateTime, nullable=False),
            sa.Column("updated_at", sa.DateTime, nullable=False),
            sa.Column("seq", sa.Integer, nullable=False),
            sa.CheckConstraint(
                "status IN ('pending', 'approved', 'denied')", name=f"ck_{name}_status"
            ),
        )
        op.create_index(f"ix_{name}_session_id", name, ["session_id"])
    for name, parent in (
        ("webinar_registration_questions", "webinars"),
        ("meeting_registration_questions", "meetings"),
    ):
        op.create_table(
            name,
            _session_fk(parent, key=True),
            sa.Column("form", sa.Text, nullable=False),
            sa.Column("updated_at", sa.DateTime, nullable=False),
        )
    op.create_table(
        "webinar_panelists",
        sa.Column("id", sa.String(64), primary_key=True),
        _session_fk("webinars"),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("email", sa.String(128), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("join_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
    )
    op.create_index("ix_webinar_panelists_session_id", "webinar_panelists", ["session_id"])
    for name, parent in (
        ("webinar_invite_links", "webinars"),
        ("meeting_invite_links", "meetings"),
    ):
        op.create_table(
            name,
            sa.Column("token", sa.String(64), primary_key=True),
            _session_fk(parent),
            sa.Column("name", sa.String(64), nullable=False),
            sa.Column("disable_video", sa.Boolean, nullable=False),
            sa.Column("disable_audio", sa.Boolean, nullable=False),
            sa.Column("created_at", sa.DateTime, nullable=False),
            sa.Column("expires_at", sa.DateTime, nullable=False),
        )
        op.create_index(f"ix_{name}_session_id", name, ["session_id"])


def downgrade() -> None:
    for name in (
        "meeting_invite_links",
        "webinar_invite_links",
        "webinar_panelists",
        "meeting_registration_questions",
        "webinar_registration_questions",
        "meeting_registrants",
        "webinar_registrants",
    ):
        op.drop_table(name)
