"""Persistence: records, the store interface and its two implementations, migrations.

:func:`open_store` picks the store for a database: the memory store for SQLite served by one
process (the default), the SQL store for PostgreSQL or for SQLite shared by worker processes.
"""

from __future__ import annotations

from zoomlive.api.sessions import SessionKind
from zoomlive.emulator.store.base import (
    ConcurrentUpdate,
    Store,
    StoreBusy,
    StoreClosed,
    StoreFailed,
    Tx,
)
from zoomlive.emulator.store.records import (
    PLANS,
    STREAM_STATES,
    STREAM_TRANSITIONS,
    Account,
    App,
    IllegalTransition,
    LiveStream,
    Meeting,
    Plan,
    Session,
    StreamEffect,
    StreamEvent,
    StreamState,
    StreamStateChanged,
    Token,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
    Webinar,
    WebinarStatus,
)


def is_sqlite(db: str) -> bool:
    """``:memory:``, a file path, or a ``sqlite://`` URL."""
    return "://" not in db or db.startswith("sqlite")


def open_store(db: str, *, lock: bool = True, holder: str = "", shared: bool = False) -> Store:
    """The store for ``db`` (``:memory:``, an SQLite path, or a database URL). ``shared``: the
    SQLite file is served by several worker processes, so the memory store (one process's
    truth) cannot be used. ``lock``/``holder``: see the SQLite file lock."""
    if is_sqlite(db) and "://" not in db and not shared:
        from zoomlive.emulator.store.memory import MemoryStore

        return MemoryStore(db, lock=lock, holder=holder)
    from zoomlive.emulator.store.sql import SqlStore

    return SqlStore(db, lock=lock, holder=holder)


__all__ = [
    "PLANS",
    "STREAM_STATES",
    "STREAM_TRANSITIONS",
    "Account",
    "App",
    "ConcurrentUpdate",
    "IllegalTransition",
    "LiveStream",
    "Meeting",
    "Plan",
    "Session",
    "SessionKind",
    "Store",
    "StoreBusy",
    "StoreClosed",
    "StoreFailed",
    "StreamEffect",
    "StreamEvent",
    "StreamState",
    "StreamStateChanged",
    "Token",
    "Tx",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
    "Webinar",
    "WebinarStatus",
    "is_sqlite",
    "open_store",
]
