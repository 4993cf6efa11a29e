"""Users carry Zoom's fields and settings (and the live-streaming gates those settings make);
join tokens handed out for webinars and meetings are kept so they can be checked.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_USER_COLUMNS = (
    ("status", lambda: sa.Column("status", sa.String(16), nullable=False, server_default="active")),
    ("role_id", lambda: sa.Column("role_id", sa.String(16), nullable=False, server_default="0")),
    ("profile", lambda: sa.Column("profile", sa.Text, nullable=False, server_default="{}")),
    ("settings", lambda: sa.Column("settings", sa.Text, nullable=False, server_default="{}")),
    (
        "meeting_live_streaming",
        lambda: sa.Column(
            "meeting_live_streaming", sa.Boolean, nullable=False, server_default=sa.true()
        ),
    ),
    (
        "webinar_live_streaming",
        lambda: sa.Column(
            "webinar_live_streaming", sa.Boolean, nullable=False, server_default=sa.true()
        ),
    ),
)


def upgrade() -> None:
    for _, column in _USER_COLUMNS:
        op.add_column("users", column())
    op.create_table(
        "join_tokens",
        sa.Column("token", sa.String(128), primary_key=True),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("session_id", sa.BigInteger, nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_join_tokens_account_id", "join_tokens", ["account_id"])
    op.create_index("ix_join_tokens_session_id", "join_tokens", ["session_id"])


def downgrade() -> None:
    op.drop_table("join_tokens")
    with op.batch_alter_table("users") as batch:
        for name, _ in reversed(_USER_COLUMNS):
            batch.drop_column(name)
