"""The one declaration of what the store keeps: its tables (SQLAlchemy Core metadata, portable:
SQLite and PostgreSQL) and, for each table the emulator holds in memory, the record it maps to
(:data:`ENTITIES`). Everything else is derived from here: the DDL of a new database, the codecs
between records and rows, the statements the journal writes, and what replicas apply.

This is the *current* shape; each change to it comes with a migration in ``migrations/versions``.
A test checks that the migrations build exactly this schema.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import typing
from dataclasses import dataclass, field
from typing import Any

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
    true,
)

from zoomlive.emulator.store.records import (
    Account,
    App,
    DailyCount,
    InviteLink,
    JoinToken,
    LiveStream,
    Panelist,
    Registrant,
    RegistrationQuestions,
    Session,
    SpecResource,
    Token,
    User,
    WebhookDelivery,
    WebhookSubscription,
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
    # 0011: Zoom's user fields, its settings (what differs from Zoom's defaults) and the two
    # live-streaming gates those settings make, kept as columns for the live-stream hot path
    Column("status", String(16), nullable=False, server_default="active"),
    Column("role_id", String(16), nullable=False, server_default="0"),
    Column("profile", Text, nullable=False, server_default="{}"),
    Column("settings", Text, nullable=False, server_default="{}"),
    Column("meeting_live_streaming", Boolean, nullable=False, server_default=true()),
    Column("webinar_live_streaming", Boolean, nullable=False, server_default=true()),
)

join_tokens = Table(
    "join_tokens",
    metadata,
    Column("token", String(128), primary_key=True),
    Column("account_id", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("session_id", BigInteger, nullable=False, index=True),
    Column("purpose", String(32), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
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
        Column("recurrence", Text, nullable=True),
        Column("occurrence_changes", Text, nullable=True),
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

spec_resources = Table(
    "spec_resources",
    metadata,
    Column(
        "account_id", String(64), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("path", String(1024), primary_key=True),
    Column("body", Text, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)
"""What spec-tier writes said about a path (0008): its body, or that it was deleted."""

# Registrants, registration questions and panelists (0010): one table per kind, so that a
# deleted webinar or meeting takes its own with it (ON DELETE CASCADE).


def _registrant_table(name: str, parent: str) -> Table:
    return Table(
        name,
        metadata,
        Column("id", String(64), primary_key=True),
        Column(
            "session_id",
            BigInteger,
            ForeignKey(f"{parent}.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        Column("account_id", String(64), nullable=False),
        Column("email", String(128), nullable=False),
        Column("first_name", String(64), nullable=False),
        Column("last_name", String(64), nullable=False),
        Column("status", String(16), nullable=False),
        Column("details", Text, nullable=False),
        Column("join_token", String(64), nullable=False),
        Column("pin_code", BigInteger, nullable=False),
        Column("create_time", DateTime, nullable=False),
        Column("updated_at", DateTime, nullable=False),
        Column("seq", Integer, nullable=False),
        CheckConstraint("status IN ('pending', 'approved', 'denied')", name=f"ck_{name}_status"),
    )


def _questions_table(name: str, parent: str) -> Table:
    return Table(
        name,
        metadata,
        Column(
            "session_id",
            BigInteger,
            ForeignKey(f"{parent}.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        Column("form", Text, nullable=False),
        Column("updated_at", DateTime, nullable=False),
    )


webinar_registrants = _registrant_table("webinar_registrants", "webinars")
meeting_registrants = _registrant_table("meeting_registrants", "meetings")
webinar_questions = _questions_table("webinar_registration_questions", "webinars")
meeting_questions = _questions_table("meeting_registration_questions", "meetings")

webinar_panelists = Table(
    "webinar_panelists",
    metadata,
    Column("id", String(64), primary_key=True),
    Column(
        "session_id",
        BigInteger,
        ForeignKey("webinars.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("account_id", String(64), nullable=False),
    Column("email", String(128), nullable=False),
    Column("name", String(200), nullable=False),
    Column("details", Text, nullable=False),
    Column("join_token", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("seq", Integer, nullable=False),
)


def _invite_links_table(name: str, parent: str) -> Table:
    return Table(
        name,
        metadata,
        Column("token", String(64), primary_key=True),
        Column(
            "session_id",
            BigInteger,
            ForeignKey(f"{parent}.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        Column("name", String(64), nullable=False),
        Column("disable_video", Boolean, nullable=False),
        Column("disable_audio", Boolean, nullable=False),
        Column("created_at", DateTime, nullable=False),
        Column("expires_at", DateTime, nullable=False),
    )


webinar_invite_links = _invite_links_table("webinar_invite_links", "webinars")
meeting_invite_links = _invite_links_table("meeting_invite_links", "meetings")

# What the workers and hosts of one PostgreSQL store share besides Zoom's state (0006). A
# single-process emulator keeps these in memory and leaves the tables empty.

control_state = Table(
    "control_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
"""Small shared documents: ``clock`` (the emulator clock's setting), ``feed_seq`` (the id of the
event feed's newest event: feed.py)."""

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

snapshots = Table(
    "snapshots",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("created_at", DateTime, nullable=False),
    Column("body", Text, nullable=False),
)
"""Named snapshots of the state (0013): each an export document (docs/state.md), restored on
demand. Kept apart from the state: an export leaves this table out."""

# Replication between the hosts of one PostgreSQL store (0007): every commit's changes, in
# order. A host applies the ones it has not seen before it answers (see store/journal.py).

changes = Table(
    "zoomlive_changes",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("origin", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("at", DateTime, nullable=False),
)
"""A commit's changes as JSON (table, what, row), for the other hosts' in-memory copies."""


# Records <-> rows -------------------------------------------------------------------------------

Codec = str
"""How a column holds a record's field: ``plain``, ``time`` (UTC), ``flag`` (boolean),
``words`` (a list of words, space-separated), ``json`` (a JSON document)."""


@dataclass(frozen=True)
class Entity:
    """A table the emulator keeps in memory, and the record each row is.

    ``key``: the primary key's columns. ``fixed``: record fields that are not columns but
    follow from the table (a session's ``kind``). The record's other fields that are not
    columns (scratch lists, a delivery's secret) keep their defaults when a row is read."""

    table: Table
    record: type[Any]
    key: tuple[str, ...]
    fixed: dict[str, Any] = field(default_factory=dict)
    scratch: tuple[str, ...] = ()
    """Record fields that are not kept (a copy gets them empty)."""

    @property
    def name(self) -> str:
        return self.table.name

    @functools.cached_property
    def columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.table.columns)

    @functools.cached_property
    def codecs(self) -> tuple[Codec, ...]:
        hints = typing.get_type_hints(self.record)
        out: list[Codec] = []
        for column in self.table.columns:
            hint = str(hints[column.name])
            if isinstance(column.type, DateTime):
                out.append("time")
            elif isinstance(column.type, Boolean):
                out.append("flag")
            elif hint.startswith("list"):
                out.append("words")
            elif hint.startswith("dict"):
                out.append("json")
            else:
                out.append("plain")
        return tuple(out)

    # The database's constraints, as the store enforces them before a change is applied (the
    # journal must never meet a row the database refuses), derived from the table.

    @functools.cached_property
    def uniques(self) -> tuple[str, ...]:
        """Columns whose values are unique (each gets an index in memory)."""
        return tuple(c.name for c in self.table.columns if c.unique)

    @functools.cached_property
    def parents(self) -> tuple[tuple[str, str], ...]:
        """(column, table) of each foreign key to a table held whole in memory."""
        return tuple(
            (fk.parent.name, fk.column.table.name)
            for fk in self.table.foreign_keys
            if fk.column.table.name in ENTITIES and fk.column.table.name not in PARTIAL
        )

    @functools.cached_property
    def checks(self) -> tuple[tuple[str, str, frozenset[str]], ...]:
        """(name, column, allowed values) of each CHECK constraint (``column IN (...)``)."""
        out = []
        for constraint in self.table.constraints:
            if isinstance(constraint, CheckConstraint):
                text = str(constraint.sqltext)
                found = _CHECK_IN.match(text)
                if found is None:  # the store could not enforce it before the database does
                    raise TypeError(f"{self.name}: only 'column IN (...)' checks: {text}")
                values = frozenset(re.findall(r"'([^']*)'", found.group(2)))
                out.append((str(constraint.name), found.group(1), values))
        return tuple(out)

    @functools.cached_property
    def copied(self) -> tuple[str, ...]:
        """Mutable fields (lists, dicts) that a copy of a record copies."""
        hints = typing.get_type_hints(self.record)
        return tuple(
            f.name
            for f in dataclasses.fields(self.record)
            if f.name not in self.scratch and str(hints[f.name]).startswith(("list", "dict"))
        )

    def key_of(self, record: Any) -> Any:
        """The record's key in memory: the value, or a tuple for a composite key."""
        if len(self.key) == 1:
            return getattr(record, self.key[0])
        return tuple(getattr(record, k) for k in self.key)


_CHECK_IN = re.compile(r'^\s*"?(\w+)"?\s+IN\s*\((.*)\)\s*$', re.DOTALL)


def _entity(
    table: Table,
    record: type[Any],
    *,
    fixed: dict[str, Any] | None = None,
    scratch: tuple[str, ...] = (),
) -> Entity:
    entity = Entity(table, record, tuple(c.name for c in table.primary_key), fixed or {}, scratch)
    names = {f.name for f in dataclasses.fields(record)}
    missing = [c for c in entity.columns if c not in names]
    if missing:  # the declaration and the record disagree: fail at import, not on a call
        raise TypeError(f"{record.__name__} has no field for {table.name}.{', '.join(missing)}")
    entity.codecs  # noqa: B018 (every column's codec and check resolves at import)
    entity.checks  # noqa: B018
    return entity


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        _entity(accounts, Account),
        _entity(users, User),
        _entity(join_tokens, JoinToken),
        _entity(apps, App),
        _entity(tokens, Token),
        _entity(webinars, Session, fixed={"kind": "webinar"}),
        _entity(meetings, Session, fixed={"kind": "meeting"}),
        _entity(livestreams, LiveStream, scratch=("events", "effects")),
        _entity(daily_counters, DailyCount),
        _entity(webhook_subscriptions, WebhookSubscription),
        _entity(webhook_deliveries, WebhookDelivery),
        _entity(spec_resources, SpecResource),
        _entity(webinar_registrants, Registrant, fixed={"kind": "webinar"}),
        _entity(meeting_registrants, Registrant, fixed={"kind": "meeting"}),
        _entity(webinar_questions, RegistrationQuestions, fixed={"kind": "webinar"}),
        _entity(meeting_questions, RegistrationQuestions, fixed={"kind": "meeting"}),
        _entity(webinar_panelists, Panelist),
        _entity(webinar_invite_links, InviteLink, fixed={"kind": "webinar"}),
        _entity(meeting_invite_links, InviteLink, fixed={"kind": "meeting"}),
    )
}
"""Every table held in memory, by name (the others are logs, read by query)."""

PARTIAL = frozenset({"webhook_deliveries"})
"""Entities of which memory holds only some rows (pending deliveries): never checked as
parents."""

SESSION_TABLES: dict[str, str] = {"webinar": "webinars", "meeting": "meetings"}

REGISTRANT_TABLES: dict[str, str] = {
    "webinar": "webinar_registrants",
    "meeting": "meeting_registrants",
}
INVITE_LINK_TABLES: dict[str, str] = {
    "webinar": "webinar_invite_links",
    "meeting": "meeting_invite_links",
}
QUESTION_TABLES: dict[str, str] = {
    "webinar": "webinar_registration_questions",
    "meeting": "meeting_registration_questions",
}
