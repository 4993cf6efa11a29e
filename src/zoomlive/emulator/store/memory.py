"""The memory store: the emulator's state in memory, every change journaled to SQLite.

Why: a Zoom call reads a handful of records and changes one or two. Through SQL each read is a
statement at an ORM's per-statement cost, inside a database transaction, behind a thread hop;
here a read is a dict lookup and a change is applied in memory and handed, as SQL, to the
:class:`~zoomlive.emulator.store.journal.Journal`, whose one writer thread commits everything
that arrived meanwhile in one transaction. The caller is answered only when the commit that
holds its change is on disk, so a 2xx still means durable (``synchronous=FULL``).

Rules:

* One emulator per SQLite file (its lock), so the memory is the whole truth; several worker
  processes, or several hosts, use the SQL store on PostgreSQL instead.
* Transactions are serial (a lock) and short: they run on the event loop for the Zoom API (see
  :meth:`MemoryStore.begin`) or in worker threads (:meth:`read`, :meth:`write`). A change is
  applied at once and undone if the transaction fails, so a transaction reads its own writes.
* Reads hand out copies: a record changes only through a write method.
* A reader waits until what it saw is durable, so no answer shows a change that a crash could
  still take back.
* Logs that only grow (stream state changes, webhook attempts) are written, not kept in
  memory; reading them is a query the journal runs after every change submitted before it.

Startup: a new file gets the head schema (``schema.sql``); an older one is migrated with
Alembic first; then every table is read into memory. ``:memory:`` journals to an in-memory
SQLite database, so it behaves the same, minus durability.
"""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from importlib import resources
from operator import attrgetter
from typing import Any, TypeVar

from zoomlive.api.sessions import SESSION_KINDS, SessionKind
from zoomlive.emulator.store.base import (
    ConcurrentUpdate,
    StoreClosed,
    StoreFailed,
)
from zoomlive.emulator.store.journal import Journal, Op
from zoomlive.emulator.store.lock import FileLock
from zoomlive.emulator.store.records import (
    PLANS,
    STREAM_STATES,
    WEBINAR_STATUSES,
    Account,
    App,
    LiveStream,
    Session,
    StreamEffect,
    StreamEvent,
    StreamStateChanged,
    Token,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

HEAD_REVISION = "0006"
"""The Alembic head that ``schema.sql`` builds (a test keeps them together)."""
_MISSING: Any = object()
T = TypeVar("T")
_PURGE_EVERY = timedelta(minutes=1)


# values as SQLite holds them (the same as SQLAlchemy writes, so both stores read each other)


def _dt(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _parse_dt(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _req_dt(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _bool(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _words(text: str) -> list[str]:
    return [part for part in text.split(" ") if part]


_SESSION_TABLE: dict[SessionKind, str] = {"webinar": "webinars", "meeting": "meetings"}
_SESSION_COLUMNS = (
    "id, uuid, account_id, host_id, topic, type, start_time, duration, timezone, agenda, "
    "password, settings, status, created_at, updated_at, started_at, ended_at"
)
_STREAM_COLUMNS = (
    "kind, owner_id, account_id, stream_url, stream_key, page_url, resolution, state, "
    "display_name, active_speaker_name, layout, close_caption, started_at, stopped_at, "
    "last_start_request_at, last_error, updated_at, version"
)


def _session_row(s: Session) -> tuple[Any, ...]:
    return (
        s.id,
        s.uuid,
        s.account_id,
        s.host_id,
        s.topic,
        s.type,
        _dt(s.start_time),
        s.duration,
        s.timezone,
        s.agenda,
        s.password,
        json.dumps(s.settings, separators=(",", ":"), sort_keys=True),
        s.status,
        _dt(s.created_at),
        _dt(s.updated_at),
        _dt(s.started_at),
        _dt(s.ended_at),
    )


def _stream_row(s: LiveStream, version: int) -> tuple[Any, ...]:
    return (
        s.kind,
        s.owner_id,
        s.account_id,
        s.stream_url,
        s.stream_key,
        s.page_url,
        s.resolution,
        s.state,
        s.display_name,
        _bool(s.active_speaker_name),
        s.layout,
        s.close_caption,
        _dt(s.started_at),
        _dt(s.stopped_at),
        _dt(s.last_start_request_at),
        s.last_error,
        _dt(s.updated_at),
        version,
    )


# copies: what the store keeps never shares a mutable part with what a caller holds


def _cloner(
    cls: type[T], *, copied: tuple[str, ...] = (), emptied: tuple[str, ...] = ()
) -> Callable[[T], T]:
    """A copy function for a slotted record: its constructor with every field (a generic
    ``copy.copy`` costs five times as much, and every read makes one), then fresh lists and
    dicts for its mutable fields (``copied``) and empty ones for its scratch lists
    (``emptied``)."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    values = attrgetter(*names)

    def clone(record: T) -> T:
        out = cls(*values(record))
        for name in copied:
            setattr(out, name, copy.copy(getattr(record, name)))
        for name in emptied:
            setattr(out, name, [])
        return out

    return clone


_clone_account = _cloner(Account)
_clone_user = _cloner(User)
_clone_app = _cloner(App, copied=("scopes",))
_clone_token = _cloner(Token, copied=("scopes",))
_clone_session = _cloner(Session, copied=("settings",))
_clone_stream = _cloner(LiveStream, emptied=("events", "effects"))
_clone_sub = _cloner(WebhookSubscription, copied=("events",))
_clone_delivery = _cloner(WebhookDelivery)


class State:
    """Every table the emulator reads on a call, in memory, with the indexes it needs."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.users: dict[str, User] = {}
        self.user_by_email: dict[str, str] = {}
        self.apps: dict[str, App] = {}
        self.tokens: dict[str, Token] = {}
        self.sessions: dict[SessionKind, dict[int, Session]] = {k: {} for k in SESSION_KINDS}
        self.session_by_uuid: dict[tuple[SessionKind, str], int] = {}
        self.streams: dict[tuple[SessionKind, int], LiveStream] = {}
        self.counters: dict[tuple[str, str], int] = {}
        self.subscriptions: dict[str, WebhookSubscription] = {}
        self.pending: dict[int, WebhookDelivery] = {}
        """Webhook deliveries still to be sent (sent and failed ones are in the database)."""
        self.next_delivery_id = 1

    def maps(self) -> list[MutableMapping[Any, Any]]:
        return [
            self.accounts,
            self.users,
            self.user_by_email,
            self.apps,
            self.tokens,
            *self.sessions.values(),
            self.session_by_uuid,
            self.streams,
            self.counters,
            self.subscriptions,
            self.pending,
        ]


class MemoryStore:
    """The store on SQLite for one emulator process; see the module's notes."""

    is_sqlite = True
    in_memory = True
    """Transactions are cheap enough to run on the event loop (:meth:`begin`)."""

    def __init__(self, db: str, *, lock: bool = True, holder: str = "") -> None:
        self.path = db
        self._memory = db in (":memory:", "")
        self._file_lock: FileLock | None = None
        self.on_commit: list[Callable[[list[Any]], None]] = []
        self._lock = threading.RLock()
        self._owner: int | None = None  # the thread in a transaction (they do not nest)
        self._closed = False
        self._last_purge: datetime | None = None
        if lock and not self._memory:
            self._file_lock = FileLock(os.path.abspath(db))
            self._file_lock.acquire(holder or f"a zoomlive process (pid {os.getpid()})")
        try:
            conn = self._open()
            self.state = _load(conn)
        except BaseException:
            if self._file_lock is not None:
                self._file_lock.release()
            raise
        self.journal = Journal(conn, None if self._memory else self.path)

    # opening ---------------------------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        if self._memory:
            conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            conn.executescript(_schema_sql())
        else:
            if _revision(self.path) not in (None, HEAD_REVISION):
                _migrate(self.path)  # an older file: Alembic upgrades it (rare, so loaded lazily)
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            if _revision_of(conn) is None:
                conn.executescript(_schema_sql())
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def schema_revision(self) -> str | None:
        return self.journal.run(_revision_of)

    def token_facts(self, token_hash: str) -> tuple[Token, bool, str] | None:
        """Authentication's lookup: dict reads, no lock (a 401 costs no transaction)."""
        return token_facts(self.state, token_hash)

    # transactions ----------------------------------------------------------------------------
    def begin(self) -> _Transaction:
        """A transaction for the event loop: ``with store.begin() as tx: ...``, then
        ``await store.settle(tx)`` before answering (durability and listeners)."""
        return _Transaction(self)

    async def settle(self, tx: MemoryTx) -> None:
        """Wait (without blocking the loop) until what ``tx`` changed or saw is on disk, then
        hand its effects to the listeners."""
        pending = self.journal.durable(tx.lsn)
        if pending is not None:
            await pending
        self._notify(tx)

    @contextmanager
    def read(self) -> Iterator[MemoryTx]:
        """A transaction that only reads (blocking: worker threads)."""
        with _Transaction(self) as tx:
            yield tx
        self.journal.wait(tx.lsn)

    @contextmanager
    def write(self) -> Iterator[MemoryTx]:
        """A transaction, durable when the block exits without error (blocking: worker
        threads). Its effects go to the ``on_commit`` listeners after that."""
        with _Transaction(self) as tx:
            yield tx
        self.journal.wait(tx.lsn)
        self._notify(tx)

    def _notify(self, tx: MemoryTx) -> None:
        if not tx.effects:
            return
        for listener in list(self.on_commit):
            try:
                listener(list(tx.effects))
            except Exception:  # the change is committed: a listener cannot undo it
                import logging

                logging.getLogger("zoomlive.store").exception("on_commit listener failed")

    # closing ---------------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    def close(self, timeout: float = 30.0) -> None:
        """Refuse new transactions, let the journal write what it holds, release the file.
        Idempotent."""
        if self._closed:
            return
        with self._lock:  # a transaction in flight finishes first
            self._closed = True
        self.journal.close(timeout)
        if self._file_lock is not None:
            self._file_lock.release()


class _Transaction:
    """Opens and ends one transaction (a class, not a generator: it runs on every request).

    Serial (the store's lock) and not nested; a change is applied at once and undone if the
    block fails. Its statements go to the journal under the lock, so the journal's order is
    the order changes were applied; ``tx.lsn`` is then what the caller waits for: its own
    change, or, for a transaction that changed nothing or failed, everything it could see."""

    __slots__ = ("store", "tx")

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def __enter__(self) -> MemoryTx:
        store = self.store
        if store._closed:
            raise StoreClosed("the store is closed")
        store._lock.acquire()
        me = threading.get_ident()
        if store._owner == me:
            store._lock.release()
            raise RuntimeError("memory store transactions do not nest")
        store._owner = me
        self.tx = MemoryTx(store)
        return self.tx

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        store, tx = self.store, self.tx
        try:
            if kind is None:
                try:
                    tx.lsn = store.journal.submit(tx.ops) if tx.ops else store.journal.submitted
                except BaseException:
                    tx.rollback()
                    tx.lsn = store.journal.submitted
                    raise
            else:
                tx.rollback()
                tx.lsn = store.journal.submitted
        finally:
            store._owner = None
            store._lock.release()


class MemoryTx:
    """One transaction of the memory store: changes apply at once and are undone on failure."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.s = store.state
        self.effects: list[Any] = []
        self.ops: list[Op] = []
        self.lsn = 0
        self._undo: list[Callable[[], None]] = []

    # change bookkeeping ----------------------------------------------------------------------
    def _set(self, mapping: MutableMapping[Any, Any], key: Any, value: Any) -> None:
        old = mapping.get(key, _MISSING)
        self._undo.append(lambda: _restore(mapping, key, old))
        mapping[key] = value

    def _delete(self, mapping: MutableMapping[Any, Any], key: Any) -> None:
        old = mapping.get(key, _MISSING)
        if old is _MISSING:
            return
        self._undo.append(lambda: _restore(mapping, key, old))
        del mapping[key]

    def _op(self, sql: str, *params: Any) -> None:
        self.ops.append((sql, params))

    def rollback(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()
        self.ops.clear()
        self.effects.clear()

    # accounts --------------------------------------------------------------------------------
    def insert_account(self, a: Account) -> None:
        _unique(a.id not in self.s.accounts, "accounts.id")
        _check(a.plan in PLANS, "ck_accounts_plan")
        self._set(self.s.accounts, a.id, _clone_account(a))
        self._op(
            "INSERT INTO accounts (id, name, plan, webinar_addon, custom_live_streaming, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            a.id,
            a.name,
            a.plan,
            int(a.webinar_addon),
            int(a.custom_live_streaming),
            _dt(a.created_at),
        )

    def update_account(self, a: Account) -> None:
        if a.id not in self.s.accounts:
            return
        _check(a.plan in PLANS, "ck_accounts_plan")
        self._set(self.s.accounts, a.id, _clone_account(a))
        self._op(
            "UPDATE accounts SET name = ?, plan = ?, webinar_addon = ?, "
            "custom_live_streaming = ? WHERE id = ?",
            a.name,
            a.plan,
            int(a.webinar_addon),
            int(a.custom_live_streaming),
            a.id,
        )

    def get_account(self, account_id: str) -> Account | None:
        found = self.s.accounts.get(account_id)
        return None if found is None else _clone_account(found)

    def list_accounts(self) -> list[Account]:
        rows = sorted(self.s.accounts.values(), key=lambda a: (a.created_at, a.id))
        return [_clone_account(a) for a in rows]

    # users -----------------------------------------------------------------------------------
    def insert_user(self, u: User) -> None:
        _unique(u.id not in self.s.users, "users.id")
        _unique(u.email not in self.s.user_by_email, "users.email")
        _foreign(u.account_id in self.s.accounts)
        self._set(self.s.users, u.id, _clone_user(u))
        self._set(self.s.user_by_email, u.email, u.id)
        self._op(
            "INSERT INTO users (id, account_id, email, first_name, last_name, type, timezone, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            u.id,
            u.account_id,
            u.email,
            u.first_name,
            u.last_name,
            u.type,
            u.timezone,
            _dt(u.created_at),
        )

    def get_user(self, user_id: str) -> User | None:
        found = self.s.users.get(user_id)
        return None if found is None else _clone_user(found)

    def get_user_by_email(self, email: str) -> User | None:
        user_id = self.s.user_by_email.get(email.lower())
        return None if user_id is None else self.get_user(user_id)

    def get_user_and_account(self, user_id: str) -> tuple[User, Account] | None:
        user = self.s.users.get(user_id)
        account = None if user is None else self.s.accounts.get(user.account_id)
        if user is None or account is None:
            return None
        return _clone_user(user), _clone_account(account)

    def list_users(self, account_id: str | None = None) -> list[User]:
        rows = [u for u in self.s.users.values() if account_id in (None, u.account_id)]
        rows.sort(key=lambda u: (u.created_at, u.id))
        return [_clone_user(u) for u in rows]

    # apps ------------------------------------------------------------------------------------
    def insert_app(self, a: App) -> None:
        _unique(a.client_id not in self.s.apps, "apps.client_id")
        _foreign(a.account_id in self.s.accounts)
        self._set(self.s.apps, a.client_id, _clone_app(a))
        self._op(
            "INSERT INTO apps (client_id, account_id, name, secret_hash, scopes, enabled, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            a.client_id,
            a.account_id,
            a.name,
            a.secret_hash,
            " ".join(a.scopes),
            int(a.enabled),
            _dt(a.created_at),
        )

    def update_app(self, a: App) -> None:
        if a.client_id not in self.s.apps:
            return
        stored = _clone_app(a)
        stored.secret_hash = self.s.apps[a.client_id].secret_hash
        self._set(self.s.apps, a.client_id, stored)
        self._op(
            "UPDATE apps SET name = ?, scopes = ?, enabled = ? WHERE client_id = ?",
            a.name,
            " ".join(a.scopes),
            int(a.enabled),
            a.client_id,
        )

    def get_app(self, client_id: str) -> App | None:
        found = self.s.apps.get(client_id)
        return None if found is None else _clone_app(found)

    def list_apps(self, account_id: str | None = None) -> list[App]:
        rows = [a for a in self.s.apps.values() if account_id in (None, a.account_id)]
        rows.sort(key=lambda a: (a.created_at, a.client_id))
        return [_clone_app(a) for a in rows]

    # tokens ----------------------------------------------------------------------------------
    def insert_token(self, t: Token) -> None:
        _unique(t.token_hash not in self.s.tokens, "tokens.token_hash")
        _foreign(t.client_id in self.s.apps)
        self._set(self.s.tokens, t.token_hash, _clone_token(t))
        self._op(
            "INSERT INTO tokens (token_hash, client_id, account_id, scopes, issued_at, "
            "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            t.token_hash,
            t.client_id,
            t.account_id,
            " ".join(t.scopes),
            _dt(t.issued_at),
            _dt(t.expires_at),
        )

    def get_token(self, token_hash: str) -> Token | None:
        found = self.s.tokens.get(token_hash)
        return None if found is None else _clone_token(found)

    def get_token_and_app_enabled(self, token_hash: str) -> tuple[Token, bool, str] | None:
        found = token_facts(self.s, token_hash)
        if found is None:
            return None
        token, enabled, plan = found
        return _clone_token(token), enabled, plan

    def purge_tokens(self, expired_before: datetime) -> int:
        """Forget tokens expired before then (at most once a minute: the scan is not free, and
        an expired token is refused anyway)."""
        last = self.store._last_purge
        if last is not None and abs(expired_before - last) < _PURGE_EVERY:
            return 0
        self.store._last_purge = expired_before
        old = [h for h, t in self.s.tokens.items() if t.expires_at < expired_before]
        for token_hash in old:
            self._delete(self.s.tokens, token_hash)
        if old:
            self._op("DELETE FROM tokens WHERE expires_at < ?", _dt(expired_before))
        return len(old)

    def count_tokens(self) -> int:
        return len(self.s.tokens)

    # webinars and meetings -------------------------------------------------------------------
    def insert_session(self, w: Session) -> None:
        table = self.s.sessions[w.kind]
        _unique(w.id not in table, f"{_SESSION_TABLE[w.kind]}.id")
        _unique((w.kind, w.uuid) not in self.s.session_by_uuid, f"{_SESSION_TABLE[w.kind]}.uuid")
        _foreign(w.account_id in self.s.accounts and w.host_id in self.s.users)
        _check(w.status in WEBINAR_STATUSES, f"ck_{_SESSION_TABLE[w.kind]}_status")
        self._set(table, w.id, _clone_session(w))
        self._set(self.s.session_by_uuid, (w.kind, w.uuid), w.id)
        self._op(
            f"INSERT INTO {_SESSION_TABLE[w.kind]} ({_SESSION_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            *_session_row(w),
        )

    def update_session(self, w: Session) -> None:
        table = self.s.sessions[w.kind]
        old = table.get(w.id)
        if old is None:
            return
        _check(w.status in WEBINAR_STATUSES, f"ck_{_SESSION_TABLE[w.kind]}_status")
        if old.uuid != w.uuid:
            self._delete(self.s.session_by_uuid, (w.kind, old.uuid))
            self._set(self.s.session_by_uuid, (w.kind, w.uuid), w.id)
        self._set(table, w.id, _clone_session(w))
        row = _session_row(w)
        self._op(
            f"UPDATE {_SESSION_TABLE[w.kind]} SET uuid = ?, account_id = ?, host_id = ?, "
            "topic = ?, type = ?, start_time = ?, duration = ?, timezone = ?, agenda = ?, "
            "password = ?, settings = ?, status = ?, created_at = ?, updated_at = ?, "
            "started_at = ?, ended_at = ? WHERE id = ?",
            *row[1:],
            w.id,
        )

    def delete_session(self, kind: SessionKind, session_id: int) -> None:
        """Delete a webinar or meeting and its live stream."""
        old = self.s.sessions[kind].get(session_id)
        if old is not None:
            self._delete(self.s.sessions[kind], session_id)
            self._delete(self.s.session_by_uuid, (kind, old.uuid))
        self.effects.append(StreamEffect("stop", kind, session_id))
        self._delete(self.s.streams, (kind, session_id))
        self._op(f"DELETE FROM {_SESSION_TABLE[kind]} WHERE id = ?", session_id)
        self._op("DELETE FROM livestreams WHERE kind = ? AND owner_id = ?", kind, session_id)

    def get_session(
        self, kind: SessionKind, session_id: int, *, for_update: bool = False
    ) -> Session | None:
        found = self.s.sessions[kind].get(session_id)
        return None if found is None else _clone_session(found)

    def get_session_by_uuid(self, kind: SessionKind, uuid: str) -> Session | None:
        session_id = self.s.session_by_uuid.get((kind, uuid))
        return None if session_id is None else self.get_session(kind, session_id)

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
    ) -> tuple[list[Session], int]:
        """Webinars or meetings in a stable order (start time, then id), with the total."""
        rows = [
            s
            for s in self.s.sessions[kind].values()
            if host_id in (None, s.host_id)
            and account_id in (None, s.account_id)
            and (statuses is None or s.status in statuses)
            and (
                start_after is None
                or s.status == "started"
                or (s.start_time is not None and s.start_time >= start_after)
            )
        ]
        # As SQL orders them: a missing start time first.
        rows.sort(key=lambda s: (s.start_time is not None, s.start_time or _EPOCH, s.id))
        page = rows[offset:] if limit is None else rows[offset : offset + limit]
        return [_clone_session(s) for s in page], len(rows)

    # live streams ----------------------------------------------------------------------------
    def get_livestream(
        self, kind: SessionKind, owner_id: int, *, for_update: bool = False
    ) -> LiveStream | None:
        found = self.s.streams.get((kind, owner_id))
        return None if found is None else _clone_stream(found)

    def list_livestreams(self, account_id: str | None = None) -> list[LiveStream]:
        rows = [s for s in self.s.streams.values() if account_id in (None, s.account_id)]
        rows.sort(key=lambda s: (s.kind, s.owner_id))
        return [_clone_stream(s) for s in rows]

    def save_livestream(self, stream: LiveStream) -> None:
        """Insert or update, with an optimistic version check, and log its state changes."""
        key = (stream.kind, stream.owner_id)
        current = self.s.streams.get(key)
        version = stream.version + 1
        _check(stream.kind in SESSION_KINDS, "ck_livestreams_kind")
        _check(stream.state in STREAM_STATES, "ck_livestreams_state")
        if stream.version == 0:
            _unique(current is None, "livestreams.(kind, owner_id)")
            _foreign(stream.account_id in self.s.accounts)
            self._op(
                f"INSERT INTO livestreams ({_STREAM_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                *_stream_row(stream, version),
            )
        else:
            if current is None or current.version != stream.version:
                raise ConcurrentUpdate(f"{stream.kind} {stream.owner_id} changed meanwhile")
            row = _stream_row(stream, version)
            self._op(
                "UPDATE livestreams SET account_id = ?, stream_url = ?, stream_key = ?, "
                "page_url = ?, resolution = ?, state = ?, display_name = ?, "
                "active_speaker_name = ?, layout = ?, close_caption = ?, started_at = ?, "
                "stopped_at = ?, last_start_request_at = ?, last_error = ?, updated_at = ?, "
                "version = ? WHERE kind = ? AND owner_id = ?",
                *row[2:],
                stream.kind,
                stream.owner_id,
            )
        stream.version = version
        self._set(self.s.streams, key, _clone_stream(stream))
        for change in stream.events:
            self.effects.append(StreamStateChanged(change, stream.last_error))
            self._op(
                "INSERT INTO livestream_events (kind, owner_id, from_state, to_state, at, "
                "detail) VALUES (?, ?, ?, ?, ?, ?)",
                change.kind,
                change.owner_id,
                change.from_state,
                change.to_state,
                _dt(change.at),
                change.detail,
            )
        stream.events.clear()
        self.effects.extend(stream.effects)
        stream.effects.clear()

    def list_stream_events(
        self, kind: SessionKind | None = None, owner_id: int | None = None
    ) -> list[StreamEvent]:
        """The log of state changes, from the database (after every change before this)."""
        self._settle_writes()
        where: list[str] = []
        params: list[Any] = []
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        if owner_id is not None:
            where.append("owner_id = ?")
            params.append(owner_id)
        sql = "SELECT kind, owner_id, from_state, to_state, at, detail FROM livestream_events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"

        def query(conn: sqlite3.Connection) -> list[StreamEvent]:
            return [
                StreamEvent(r[0], int(r[1]), r[2], r[3], _req_dt(r[4]), r[5])
                for r in conn.execute(sql, params)
            ]

        return self.store.journal.run(query)

    def _settle_writes(self) -> None:
        # This transaction's own statements go first, so that its query sees them.
        if self.ops:
            raise RuntimeError("read the logs before changing anything in a transaction")

    # daily counters --------------------------------------------------------------------------
    def bump_counter(self, key: str, day: str) -> int:
        """Add one to ``key`` for ``day`` and return the new count."""
        count = self.s.counters.get((key, day), 0) + 1
        self._set(self.s.counters, (key, day), count)
        self._op(
            'INSERT INTO daily_counters ("key", day, count) VALUES (?, ?, ?) '
            'ON CONFLICT ("key", day) DO UPDATE SET count = excluded.count',
            key,
            day,
            count,
        )
        return count

    def get_counter(self, key: str, day: str) -> int:
        return self.s.counters.get((key, day), 0)

    def list_counters(self) -> list[tuple[str, str, int]]:
        return sorted((k, d, n) for (k, d), n in self.s.counters.items())

    # webhooks --------------------------------------------------------------------------------
    def put_subscription(self, sub: WebhookSubscription) -> None:
        """Set (or replace) the app's subscription; it starts unvalidated."""
        _foreign(sub.client_id in self.s.apps)
        self._set(self.s.subscriptions, sub.client_id, _clone_sub(sub))
        self._op("DELETE FROM webhook_subscriptions WHERE client_id = ?", sub.client_id)
        self._op(
            "INSERT INTO webhook_subscriptions (client_id, account_id, url, secret_token, "
            "events, validated_at, validation_error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            sub.client_id,
            sub.account_id,
            sub.url,
            sub.secret_token,
            " ".join(sub.events),
            _dt(sub.validated_at),
            sub.validation_error,
            _dt(sub.created_at),
        )

    def get_subscription(self, client_id: str) -> WebhookSubscription | None:
        found = self.s.subscriptions.get(client_id)
        return None if found is None else _clone_sub(found)

    def validated_subscriptions(self, account_id: str) -> list[WebhookSubscription]:
        return [
            _clone_sub(s)
            for s in self.s.subscriptions.values()
            if s.account_id == account_id and s.validated_at is not None
        ]

    def stale_subscriptions(self, validated_before: datetime) -> list[str]:
        return [
            s.client_id
            for s in self.s.subscriptions.values()
            if s.validated_at is not None and s.validated_at < validated_before
        ]

    def first_validated_at(self) -> datetime | None:
        times = [s.validated_at for s in self.s.subscriptions.values() if s.validated_at]
        return min(times) if times else None

    def set_validation(
        self, sub: WebhookSubscription, validated_at: datetime | None, error: str | None
    ) -> None:
        """Record a validation's outcome, unless the subscription was replaced meanwhile."""
        current = self.s.subscriptions.get(sub.client_id)
        if current is None or (current.url, current.secret_token) != (sub.url, sub.secret_token):
            return
        changed = _clone_sub(current)
        changed.validated_at, changed.validation_error = validated_at, error
        self._set(self.s.subscriptions, sub.client_id, changed)
        self._op(
            "UPDATE webhook_subscriptions SET validated_at = ?, validation_error = ? "
            "WHERE client_id = ? AND url = ? AND secret_token = ?",
            _dt(validated_at),
            error,
            sub.client_id,
            sub.url,
            sub.secret_token,
        )

    def insert_delivery(
        self, sub: WebhookSubscription, event: str, body: str, now: datetime
    ) -> None:
        delivery_id = self.s.next_delivery_id
        old_next = self.s.next_delivery_id
        self.s.next_delivery_id += 1
        self._undo.append(lambda: setattr(self.s, "next_delivery_id", old_next))
        delivery = WebhookDelivery(
            id=delivery_id,
            client_id=sub.client_id,
            url=sub.url,
            event=event,
            body=body,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        self._set(self.s.pending, delivery_id, delivery)
        self._op(
            "INSERT INTO webhook_deliveries (id, client_id, url, event, body, status, attempts, "
            "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
            delivery_id,
            sub.client_id,
            sub.url,
            event,
            body,
            _dt(now),
            _dt(now),
        )

    def next_delivery_due(self) -> datetime | None:
        times = [d.next_attempt_at for d in self.s.pending.values() if d.next_attempt_at]
        return min(times) if times else None

    def claim_deliveries(
        self,
        now: datetime,
        lease_until: datetime,
        *,
        room: int,
        per_endpoint: int,
        in_flight: dict[str, int],
        window: int,
    ) -> list[WebhookDelivery]:
        """Due deliveries that can start at once (see the SQL store's twin); leased."""
        due = [
            d
            for d in self.s.pending.values()
            if d.next_attempt_at is not None
            and d.next_attempt_at <= now
            and d.client_id in self.s.subscriptions
        ]
        due.sort(key=lambda d: (d.next_attempt_at or _EPOCH, d.id))
        taken = dict(in_flight)
        picked: list[WebhookDelivery] = []
        for d in due[:window]:
            if len(picked) >= room:
                break
            if taken.get(d.url, 0) < per_endpoint:
                taken[d.url] = taken.get(d.url, 0) + 1
                leased = _clone_delivery(d)
                leased.next_attempt_at = lease_until
                self._set(self.s.pending, d.id, leased)
                self._op(
                    "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?",
                    _dt(lease_until),
                    d.id,
                )
                out = _clone_delivery(leased)
                out.secret_token = self.s.subscriptions[d.client_id].secret_token
                picked.append(out)
        return picked

    def record_attempt(self, delivery: WebhookDelivery, attempt: WebhookAttempt) -> None:
        """Log an attempt and store the delivery's new status, count and next attempt."""
        if delivery.status == "pending":
            kept = _clone_delivery(delivery)
            kept.secret_token = ""
            self._set(self.s.pending, delivery.id, kept)
        else:
            self._delete(self.s.pending, delivery.id)
        self._op(
            "INSERT INTO webhook_attempts (delivery_id, at, status_code, duration_ms, error, "
            "request_timestamp, signature) VALUES (?, ?, ?, ?, ?, ?, ?)",
            delivery.id,
            _dt(attempt.at),
            attempt.status_code,
            attempt.duration_ms,
            attempt.error,
            attempt.request_timestamp,
            attempt.signature,
        )
        self._op(
            "UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, "
            "delivered_at = ? WHERE id = ?",
            delivery.status,
            delivery.attempts,
            _dt(delivery.next_attempt_at),
            _dt(delivery.delivered_at),
            delivery.id,
        )

    def list_deliveries(
        self, limit: int = 200
    ) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
        """The latest deliveries with their attempts, from the database."""
        self._settle_writes()

        def query(conn: sqlite3.Connection) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
            rows = conn.execute(
                "SELECT id, client_id, url, event, body, status, attempts, next_attempt_at, "
                "created_at, delivered_at FROM webhook_deliveries ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
            out = []
            for r in rows:
                attempts = [
                    WebhookAttempt(_req_dt(a[0]), a[1], a[2], a[3], a[4] or "", a[5] or "")
                    for a in conn.execute(
                        "SELECT at, status_code, duration_ms, error, request_timestamp, "
                        "signature FROM webhook_attempts WHERE delivery_id = ? ORDER BY id",
                        (r[0],),
                    )
                ]
                delivery = WebhookDelivery(
                    id=int(r[0]),
                    client_id=r[1],
                    url=r[2],
                    event=r[3],
                    body=r[4],
                    status=r[5],
                    attempts=int(r[6]),
                    next_attempt_at=_parse_dt(r[7]),
                    created_at=_req_dt(r[8]),
                    delivered_at=_parse_dt(r[9]),
                )
                out.append((delivery, attempts))
            return out

        return self.store.journal.run(query)

    # the whole store -------------------------------------------------------------------------
    def reset(self) -> None:
        """Delete everything (children first); running streams are told to stop."""
        for stream in self.s.streams.values():
            if stream.state != "stopped":
                self.effects.append(StreamEffect("stop", stream.kind, stream.owner_id))
        for mapping in self.s.maps():
            self._undo.append(_refill(mapping, dict(mapping)))
            mapping.clear()
        for table in (
            "webhook_attempts",
            "webhook_deliveries",
            "webhook_subscriptions",
            "livestream_events",
            "livestreams",
            "daily_counters",
            "meetings",
            "webinars",
            "tokens",
            "apps",
            "users",
            "accounts",
        ):
            self._op(f"DELETE FROM {table}")


_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


def token_facts(state: State, token_hash: str) -> tuple[Token, bool, str] | None:
    """A token, whether its app is enabled, and its account's plan: dict reads only, safe
    without the store's lock (the API authenticates before it takes it)."""
    token = state.tokens.get(token_hash)
    if token is None:
        return None
    app = state.apps.get(token.client_id)
    account = state.accounts.get(token.account_id)
    if app is None or account is None:
        return None
    return token, app.enabled, account.plan


def _refill(mapping: MutableMapping[Any, Any], saved: dict[Any, Any]) -> Callable[[], None]:
    def undo() -> None:
        mapping.clear()
        mapping.update(saved)

    return undo


def _restore(mapping: MutableMapping[Any, Any], key: Any, old: Any) -> None:
    if old is _MISSING:
        mapping.pop(key, None)
    else:
        mapping[key] = old


def _unique(ok: bool, what: str) -> None:
    if not ok:
        raise sqlite3.IntegrityError(f"UNIQUE constraint failed: {what}")


def _check(ok: bool, constraint: str) -> None:
    """The database's CHECK constraints, enforced before a change is applied: the journal must
    never meet a row SQLite refuses (that would stop the store)."""
    if not ok:
        raise sqlite3.IntegrityError(f"CHECK constraint failed: {constraint}")


def _foreign(ok: bool) -> None:
    if not ok:
        raise sqlite3.IntegrityError("FOREIGN KEY constraint failed")


# opening a file --------------------------------------------------------------------------------


def _schema_sql() -> str:
    return (resources.files("zoomlive.emulator.store") / "schema.sql").read_text()


def _revision_of(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # no such table: a new database
        return None
    return None if row is None else str(row[0])


def _revision(path: str) -> str | None:
    if not os.path.exists(path):
        return None
    conn = sqlite3.connect(path, timeout=30)
    try:
        return _revision_of(conn)
    finally:
        conn.close()


def _migrate(path: str) -> None:
    from zoomlive.emulator.store.sql import SqlStore

    SqlStore(path, lock=False).close()  # opening runs the migrations


def _load(conn: sqlite3.Connection) -> State:
    state = State()
    for r in conn.execute(
        "SELECT id, name, plan, webinar_addon, custom_live_streaming, created_at FROM accounts"
    ):
        state.accounts[r[0]] = Account(r[0], r[1], r[2], bool(r[3]), bool(r[4]), _req_dt(r[5]))
    for r in conn.execute(
        "SELECT id, account_id, email, first_name, last_name, type, timezone, created_at FROM users"
    ):
        state.users[r[0]] = User(r[0], r[1], r[2], r[3], r[4], r[5], r[6], _req_dt(r[7]))
        state.user_by_email[r[2]] = r[0]
    for r in conn.execute(
        "SELECT client_id, account_id, name, secret_hash, scopes, enabled, created_at FROM apps"
    ):
        state.apps[r[0]] = App(r[0], r[1], r[2], r[3], _words(r[4]), bool(r[5]), _req_dt(r[6]))
    for r in conn.execute(
        "SELECT token_hash, client_id, account_id, scopes, issued_at, expires_at FROM tokens"
    ):
        state.tokens[r[0]] = Token(r[0], r[1], r[2], _words(r[3]), _req_dt(r[4]), _req_dt(r[5]))
    for kind, table in _SESSION_TABLE.items():
        for r in conn.execute(f"SELECT {_SESSION_COLUMNS} FROM {table}"):
            session = Session(
                id=int(r[0]),
                uuid=r[1],
                account_id=r[2],
                host_id=r[3],
                topic=r[4],
                type=r[5],
                start_time=_parse_dt(r[6]),
                duration=r[7],
                timezone=r[8],
                agenda=r[9],
                password=r[10],
                settings=json.loads(r[11]),
                status=r[12],
                created_at=_req_dt(r[13]),
                updated_at=_req_dt(r[14]),
                started_at=_parse_dt(r[15]),
                ended_at=_parse_dt(r[16]),
                kind=kind,
            )
            state.sessions[kind][session.id] = session
            state.session_by_uuid[(kind, session.uuid)] = session.id
    for r in conn.execute(f"SELECT {_STREAM_COLUMNS} FROM livestreams"):
        stream = LiveStream(
            kind=r[0],
            owner_id=int(r[1]),
            account_id=r[2],
            stream_url=r[3],
            stream_key=r[4],
            page_url=r[5],
            resolution=r[6],
            state=r[7],
            display_name=r[8],
            active_speaker_name=None if r[9] is None else bool(r[9]),
            layout=r[10],
            close_caption=r[11],
            started_at=_parse_dt(r[12]),
            stopped_at=_parse_dt(r[13]),
            last_start_request_at=_parse_dt(r[14]),
            last_error=r[15],
            updated_at=_parse_dt(r[16]),
            version=r[17],
        )
        state.streams[(stream.kind, stream.owner_id)] = stream
    for r in conn.execute('SELECT "key", day, count FROM daily_counters'):
        state.counters[(r[0], r[1])] = int(r[2])
    for r in conn.execute(
        "SELECT client_id, account_id, url, secret_token, events, validated_at, "
        "validation_error, created_at FROM webhook_subscriptions"
    ):
        state.subscriptions[r[0]] = WebhookSubscription(
            client_id=r[0],
            account_id=r[1],
            url=r[2],
            secret_token=r[3],
            events=_words(r[4]),
            validated_at=_parse_dt(r[5]),
            validation_error=r[6],
            created_at=_req_dt(r[7]),
        )
    for r in conn.execute(
        "SELECT id, client_id, url, event, body, status, attempts, next_attempt_at, created_at, "
        "delivered_at FROM webhook_deliveries WHERE status = 'pending'"
    ):
        state.pending[int(r[0])] = WebhookDelivery(
            id=int(r[0]),
            client_id=r[1],
            url=r[2],
            event=r[3],
            body=r[4],
            status=r[5],
            attempts=int(r[6]),
            next_attempt_at=_parse_dt(r[7]),
            created_at=_req_dt(r[8]),
            delivered_at=_parse_dt(r[9]),
        )
    top = conn.execute("SELECT MAX(id) FROM webhook_deliveries").fetchone()[0]
    state.next_delivery_id = (int(top) if top is not None else 0) + 1
    return state


__all__ = ["HEAD_REVISION", "MemoryStore", "MemoryTx", "StoreFailed", "token_facts"]
