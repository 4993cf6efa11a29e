"""The store's tables, as SQLAlchemy Core metadata (portable: SQLite and PostgreSQL).

This is the *current* shape; each change to it comes with a migration in ``migrations/versions``.
A test checks that the migrations build exactly this schema.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("plan", String(16), nullable=False),
    Column("webinar_addon", Boolean, nullable=False),
    Column("custom_live_streaming", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
    CheckConstraint("plan IN ('free', 'pro', 'business', 'enterprise')", name="ck_accounts_plan"),
)

users = Table(
    "users",
    metadata,
    Column("id", String(64), primary_key=True),
    Column(
        "account_id",
        String(64),
        ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("email", String(320), nullable=False, unique=True),
    Column("first_name", String(64), nullable=False),
    Column("last_name", String(64), nullable=False),
    Column("type", Integer, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

apps = Table(
    "apps",
    metadata,
    Column("client_id", String(128), primary_key=True),
    Column(
        "account_id",
        String(64),
        ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("name", String(200), nullable=False),
    Column("secret_hash", String(256), nullable=False),
    Column("scopes", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column(
        "client_id",
        String(128),
        ForeignKey("apps.client_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("account_id", String(64), nullable=False),
    Column("scopes", Text, nullable=False),
    Column("issued_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False, index=True),
)

webinars = Table(
    "webinars",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("uuid", String(64), nullable=False, unique=True),
    Column(
        "account_id",
        String(64),
        ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column(
        "host_id",
        String(64),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("topic", String(200), nullable=False),
    Column("type", Integer, nullable=False),
    Column("start_time", DateTime, nullable=True),
    Column("duration", Integer, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("agenda", Text, nullable=False),
    Column("password", String(10), nullable=False),
    Column("settings", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("started_at", DateTime, nullable=True),
    Column("ended_at", DateTime, nullable=True),
    CheckConstraint("status IN ('waiting', 'started', 'ended')", name="ck_webinars_status"),
)

daily_counters = Table(
    "daily_counters",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("count", Integer, nullable=False),
)
