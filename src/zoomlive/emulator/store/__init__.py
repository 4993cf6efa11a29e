"""Persistence: the records, their one declaration (schema.py), the one transaction layer
(tx.py) over the state in memory (state.py), and the journal that makes changes durable in
SQLite or PostgreSQL (journal.py, backend.py); migrations for older databases.
"""

from __future__ import annotations

from zoomlive.api.sessions import SessionKind
from zoomlive.emulator.store.base import (
    ConcurrentUpdate,
    IntegrityError,
    StoreBusy,
    StoreClosed,
    StoreFailed,
)
from zoomlive.emulator.store.core import Store
from zoomlive.emulator.store.journal import History
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
from zoomlive.emulator.store.tx import Tx


def is_sqlite(db: str) -> bool:
    """``:memory:``, a file path, or a ``sqlite://`` URL."""
    return "://" not in db or db.startswith("sqlite")


def open_store(
    db: str, *, lock: bool = True, holder: str = "", history: History | None = None
) -> Store:
    """The store for ``db`` (``:memory:``, an SQLite path or URL, or a PostgreSQL URL).
    ``lock``/``holder``: see the SQLite file lock."""
    return Store(db, lock=lock, holder=holder, history=history)


__all__ = [
    "PLANS",
    "STREAM_STATES",
    "STREAM_TRANSITIONS",
    "Account",
    "App",
    "ConcurrentUpdate",
    "History",
    "IllegalTransition",
    "IntegrityError",
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
