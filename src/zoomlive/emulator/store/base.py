"""The store's one interface, which the rules, the control API, the webhook dispatcher and the
media supervisor use: a :class:`Store` opens transactions, a :class:`Tx` reads and writes records.

Two stores implement it:

* :class:`~zoomlive.emulator.store.memory.MemoryStore` (SQLite, one emulator per file): the
  state lives in memory, every committed change is journaled to the SQLite file by one writer
  thread that commits what has arrived meanwhile in one transaction (group commit), and a
  caller is answered only once the commit that holds its change is on disk.
* :class:`~zoomlive.emulator.store.sql.SqlStore` (PostgreSQL, or SQLite shared by several
  worker processes): every transaction is a database transaction (SQLAlchemy Core).

Every acknowledged change is durable in both. Effects a transaction records in ``tx.effects``
(start this stream's media, announce this state change) reach the ``on_commit`` listeners
after the commit, never before and never on rollback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from zoomlive.api.sessions import SessionKind
from zoomlive.emulator.store.records import (
    Account,
    App,
    LiveStream,
    Session,
    StreamEvent,
    Token,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)


class StoreClosed(RuntimeError):
    """The store was closed: no transaction may start any more."""


class StoreFailed(RuntimeError):
    """The store could not make a change durable (disk full, I/O error): it answers nothing
    more until the emulator is restarted, so that no change is acknowledged that is not on
    disk."""


class StoreBusy(RuntimeError):
    """Another emulator already serves this SQLite file."""

    def __init__(self, path: str, holder: str) -> None:
        super().__init__(
            f"{path} is already served by {holder or 'another zoomlive process'}; "
            "stop it, or give another --db"
        )
        self.path = path
        self.holder = holder


class ConcurrentUpdate(Exception):
    """A row changed between read and write (only possible without row locks)."""


class Tx(Protocol):
    """Typed access to the records within one transaction."""

    effects: list[Any]
    """What must happen outside the store once this transaction commits."""

    # accounts
    def insert_account(self, a: Account) -> None: ...
    def update_account(self, a: Account) -> None: ...
    def get_account(self, account_id: str) -> Account | None: ...
    def list_accounts(self) -> list[Account]: ...

    # users
    def insert_user(self, u: User) -> None: ...
    def get_user(self, user_id: str) -> User | None: ...
    def get_user_by_email(self, email: str) -> User | None: ...
    def get_user_and_account(self, user_id: str) -> tuple[User, Account] | None: ...
    def list_users(self, account_id: str | None = None) -> list[User]: ...

    # apps
    def insert_app(self, a: App) -> None: ...
    def update_app(self, a: App) -> None: ...
    def get_app(self, client_id: str) -> App | None: ...
    def list_apps(self, account_id: str | None = None) -> list[App]: ...

    # tokens
    def insert_token(self, t: Token) -> None: ...
    def get_token(self, token_hash: str) -> Token | None: ...
    def get_token_and_app_enabled(self, token_hash: str) -> tuple[Token, bool, str] | None: ...
    def purge_tokens(self, expired_before: datetime) -> int: ...
    def count_tokens(self) -> int: ...

    # webinars and meetings
    def insert_session(self, w: Session) -> None: ...
    def update_session(self, w: Session) -> None: ...
    def delete_session(self, kind: SessionKind, session_id: int) -> None: ...
    def get_session(
        self, kind: SessionKind, session_id: int, *, for_update: bool = False
    ) -> Session | None: ...
    def get_session_by_uuid(self, kind: SessionKind, uuid: str) -> Session | None: ...
    def list_sessions(
        self,
        kind: SessionKind,
        *,
        host_id: str | None = None,
        account_id: str | None = None,
        statuses: Sequence[str] | None = None,
        start_after: datetime | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[list[Session], int]: ...

    # live streams
    def get_livestream(
        self, kind: SessionKind, owner_id: int, *, for_update: bool = False
    ) -> LiveStream | None: ...
    def list_livestreams(self, account_id: str | None = None) -> list[LiveStream]: ...
    def save_livestream(self, stream: LiveStream) -> None: ...
    def list_stream_events(
        self, kind: SessionKind | None = None, owner_id: int | None = None
    ) -> list[StreamEvent]: ...

    # daily counters
    def bump_counter(self, key: str, day: str) -> int: ...
    def get_counter(self, key: str, day: str) -> int: ...
    def list_counters(self) -> list[tuple[str, str, int]]: ...

    # webhooks
    def put_subscription(self, sub: WebhookSubscription) -> None: ...
    def get_subscription(self, client_id: str) -> WebhookSubscription | None: ...
    def validated_subscriptions(self, account_id: str) -> list[WebhookSubscription]: ...
    def stale_subscriptions(self, validated_before: datetime) -> list[str]: ...
    def set_validation(
        self, sub: WebhookSubscription, validated_at: datetime | None, error: str | None
    ) -> None: ...
    def insert_delivery(
        self, sub: WebhookSubscription, event: str, body: str, now: datetime
    ) -> None: ...
    def claim_deliveries(
        self,
        now: datetime,
        lease_until: datetime,
        *,
        room: int,
        per_endpoint: int,
        in_flight: dict[str, int],
        window: int,
    ) -> list[WebhookDelivery]: ...
    def record_attempt(self, delivery: WebhookDelivery, attempt: WebhookAttempt) -> None: ...
    def list_deliveries(
        self, limit: int = 200
    ) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]: ...
    def next_delivery_due(self) -> datetime | None: ...
    def first_validated_at(self) -> datetime | None: ...

    # the whole store
    def reset(self) -> None: ...


class Store(Protocol):
    """Persistence behind one interface: ``read()`` and ``write()`` yield a :class:`Tx`."""

    is_sqlite: bool
    on_commit: list[Callable[[list[Any]], None]]

    def read(self) -> AbstractContextManager[Tx]:
        """A read-only transaction."""
        ...

    def write(self) -> AbstractContextManager[Tx]:
        """A read-write transaction, durable when the block exits without error (blocking:
        for worker threads, never the event loop)."""
        ...

    def schema_revision(self) -> str | None: ...

    def token_facts(self, token_hash: str) -> tuple[Token, bool, str] | None:
        """A token, whether its app is enabled, and its account's plan (authentication)."""
        ...

    @property
    def closed(self) -> bool: ...

    def close(self, timeout: float = 30.0) -> None: ...
