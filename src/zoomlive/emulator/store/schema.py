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
    LargeBinary,
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


def _session_table(name: str) -> Table:
    """Webinars and meetings share one shape."""
    return Table(
        name,
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
        CheckConstraint("status IN ('waiting', 'started', 'ended')", name=f"ck_{name}_status"),
    )


webinars = _session_table("webinars")
meetings = _session_table("meetings")

livestreams = Table(
    "livestreams",
    metadata,
    Column("kind", String(8), primary_key=True),
    Column("owner_id", BigInteger, primary_key=True, autoincrement=False),
    Column(
        "account_id",
        String(64),
        ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("stream_url", String(1024), nullable=True),
    Column("stream_key", String(512), nullable=True),
    Column("page_url", String(1024), nullable=True),
    Column("resolution", String(8), nullable=True),
    Column("state", String(16), nullable=False),
    Column("display_name", String(200), nullable=True),
    Column("active_speaker_name", Boolean, nullable=True),
    Column("layout", String(16), nullable=True),
    Column("close_caption", String(16), nullable=True),
    Column("started_at", DateTime, nullable=True),
    Column("stopped_at", DateTime, nullable=True),
    Column("last_start_request_at", DateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("updated_at", DateTime, nullable=True),
    Column("version", Integer, nullable=False),
    CheckConstraint("kind IN ('webinar', 'meeting')", name="ck_livestreams_kind"),
    CheckConstraint(
        "state IN ('stopped', 'starting', 'live', 'failed')", name="ck_livestreams_state"
    ),
)

livestream_events = Table(
    "livestream_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(8), nullable=False),
    Column("owner_id", BigInteger, nullable=False),
    Column("from_state", String(16), nullable=False),
    Column("to_state", String(16), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("detail", Text, nullable=False),
)

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column(
        "client_id", String(128), ForeignKey("apps.client_id", ondelete="CASCADE"), primary_key=True
    ),
    Column("account_id", String(64), nullable=False, index=True),
    Column("url", String(2048), nullable=False),
    Column("secret_token", String(256), nullable=False),
    Column("events", Text, nullable=False),
    Column("validated_at", DateTime, nullable=True),
    Column("validation_error", Text, nullable=True),
    Column("created_at", DateTime, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", String(128), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("event", String(100), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("delivered_at", DateTime, nullable=True),
    CheckConstraint(
        "status IN ('pending', 'delivered', 'failed')", name="ck_webhook_deliveries_status"
    ),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "delivery_id",
        Integer,
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("at", DateTime, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Column("error", Text, nullable=True),
    Column("request_timestamp", String(20), nullable=True),
    Column("signature", String(100), nullable=True),
)

daily_counters = Table(
    "daily_counters",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("count", Integer, nullable=False),
)

# What the workers and hosts of one PostgreSQL store share besides Zoom's state (0006). A
# single-process emulator keeps these in memory and leaves the tables empty.

control_state = Table(
    "control_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
"""Small shared documents: ``clock`` (the emulator clock's setting)."""

fault_rules = Table(
    "fault_rules",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("remaining", Integer, nullable=True),
)
"""Fault rules in force, in the order they were added; ``remaining`` is consumed atomically."""

stream_leases = Table(
    "stream_leases",
    metadata,
    Column("kind", String(8), primary_key=True),
    Column("owner_id", BigInteger, primary_key=True),
    Column("worker", String(128), nullable=False),
    Column("expires_at", DateTime, nullable=False),
)
"""Which media worker pushes which stream, until when (renewed while ffmpeg runs)."""

stream_reports = Table(
    "stream_reports",
    metadata,
    Column("kind", String(8), primary_key=True),
    Column("owner_id", BigInteger, primary_key=True),
    Column("worker", String(128), nullable=False),
    Column("speaker", String(200), nullable=True),
    Column("metrics", Text, nullable=True),
    Column("thumbnail", LargeBinary, nullable=True),
    Column("updated_at", DateTime, nullable=False),
)
"""What a media worker reports of a stream (metrics, the latest frame) and its active speaker."""
