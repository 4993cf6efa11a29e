"""The store on SQL: SQLite by default (one file, WAL, fsync on commit), PostgreSQL by URL.

Every public change happens inside ``Store.write()``, one transaction that is committed before the
emulator answers, so a 2xx is durable. SQLite writers are serialised in-process by a lock (its own
busy handler polls with sleeps, which would wreck tail latency) and across processes by
``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Connection,
    Engine,
    Table,
    create_engine,
    delete,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from zoomlive.api.sessions import SessionKind
from zoomlive.emulator.store import schema as s
from zoomlive.emulator.store.base import ConcurrentUpdate, StoreClosed
from zoomlive.emulator.store.lock import FileLock
from zoomlive.emulator.store.records import (
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

log = logging.getLogger("zoomlive.store")
MIGRATION_LOCK = 0x7A6C6D69  # a PostgreSQL advisory lock key of our own ("zlmi")


def _to_db(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None)


def _from_db(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC)


def _req_from_db(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def normalize_url(db: str) -> str:
    """``:memory:``, a file path, or an SQLAlchemy URL → an SQLAlchemy URL."""
    if db == ":memory:":
        return "sqlite://"
    if "://" in db:
        if db.startswith("postgres://"):
            db = "postgresql://" + db.removeprefix("postgres://")
        if db.startswith("postgresql://"):
            db = "postgresql+psycopg://" + db.removeprefix("postgresql://")
        return db
    return f"sqlite:///{db}"


POOL_SIZE = 48
_SESSION_TABLES: dict[SessionKind, Table] = {"webinar": s.webinars, "meeting": s.meetings}


_memory_template: Any = None
"""A migrated in-memory SQLite connection that new in-memory stores copy (see below)."""
_template_lock = threading.Lock()


class SqlStore:
    """The store on SQL (SQLAlchemy Core): PostgreSQL, or SQLite shared by several worker
    processes. ``read()`` and ``write()`` yield a :class:`SqlTx`."""

    in_memory = False
    """Transactions block on the database: run them in worker threads."""

    def __init__(
        self, url: str, *, migrate: bool = True, lock: bool = True, holder: str = ""
    ) -> None:
        """``lock``: take the SQLite file's lock (see :class:`FileLock`); ``holder`` says who
        holds it (e.g. "zoomlive serve on http://127.0.0.1:8080, pid 42") for the refusal
        message of the next one."""
        self.url = normalize_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self._memory = self.is_sqlite and parsed.database in (None, "", ":memory:")
        self._write_lock = threading.Lock() if self.is_sqlite else None
        self._read_lock = threading.Lock() if self._memory else None
        # Transactions in flight, so that close() waits for them and refuses new ones.
        self._gate = threading.Condition()
        self._active = 0
        self._closed = False
        self._file_lock: FileLock | None = None
        if lock and self.is_sqlite and not self._memory and parsed.database:
            self._file_lock = FileLock(os.path.abspath(parsed.database))
            self._file_lock.acquire(holder or f"a zoomlive process (pid {os.getpid()})")
        self.engine = self._make_engine()
        self.on_commit: list[Callable[[list[Any]], None]] = []
        try:
            if migrate and self._memory:
                self._copy_memory_template()
            elif migrate:
                self.migrate()
        except BaseException:
            self.close()
            raise

    def _make_engine(self) -> Engine:
        if not self.is_sqlite:
            # No pre-ping: it was a round trip on every checkout (a fifth of a call's CPU).
            # A connection found dead fails its one call, and SQLAlchemy then drops the whole
            # pool, so after a PostgreSQL restart each process answers one 500 and reconnects.
            return create_engine(self.url, pool_size=10, max_overflow=20)
        if self._memory:
            engine = create_engine(
                "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
            )
        else:
            # As many pooled connections as worker threads can ask for at once: a smaller pool
            # opens and closes a connection (and its PRAGMAs) on most requests under load.
            engine = create_engine(
                self.url,
                pool_size=POOL_SIZE,
                max_overflow=8,
                connect_args={"check_same_thread": False, "timeout": 30},
            )
        memory = self._memory

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # We issue BEGIN ourselves (below), so the driver must not.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")
                cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            write = conn.get_execution_options().get("zoomlive_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine

    def _copy_memory_template(self) -> None:
        """An in-memory store starts as a copy of a migrated one, made once per process: the
        migrations run once, not for every throwaway store (tests make hundreds)."""
        global _memory_template
        with _template_lock:
            if _memory_template is None:
                template = SqlStore(":memory:", migrate=False)
                template.migrate()
                # Kept with its store and pool, which would close it when collected.
                _memory_template = (template, template.engine.raw_connection())
            with self._locked(write=True):
                target = self.engine.raw_connection()
                try:
                    _memory_template[1].driver_connection.backup(target.driver_connection)
                finally:
                    target.close()

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema up to ``revision`` (versioned Alembic migrations)."""
        with self._locked(write=True), self.engine.connect() as conn:
            conn.execution_options(zoomlive_write=True)
            with conn.begin():
                if not self.is_sqlite:
                    # Workers, hosts and media workers may start together on one database:
                    # one migrates, the others wait and then find nothing left to do.
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
                cfg = Config()
                location = resources.files("zoomlive.emulator.store") / "migrations"
                cfg.set_main_option("script_location", str(location))
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)

    def token_facts(self, token_hash: str) -> tuple[Token, bool, str] | None:
        """Authentication's lookup, in a read transaction of its own (no write lock)."""
        with self.read() as tx:
            return tx.get_token_and_app_enabled(token_hash)

    def schema_revision(self) -> str | None:
        with self.read() as tx:
            row = tx.conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
            return None if row is None else str(row[0])

    @contextmanager
    def _in_flight(self) -> Iterator[None]:
        with self._gate:
            if self._closed:
                raise StoreClosed("the store is closed")
            self._active += 1
        try:
            yield
        finally:
            with self._gate:
                self._active -= 1
                if not self._active:
                    self._gate.notify_all()

    @contextmanager
    def _locked(self, *, write: bool) -> Iterator[None]:
        lock = self._write_lock if write else self._read_lock
        if self._memory:
            lock = self._read_lock  # one shared connection: one user at a time
        with self._in_flight():
            if lock is None:
                yield
                return
            with lock:
                yield

    @contextmanager
    def read(self) -> Iterator[SqlTx]:
        """A read-only transaction."""
        with self._locked(write=False), self.engine.connect() as conn, conn.begin():
            yield SqlTx(conn)

    @contextmanager
    def write(self) -> Iterator[SqlTx]:
        """A read-write transaction, committed (durably) when the block exits without error.
        Effects the transaction recorded (e.g. "start this stream's media") are handed to the
        ``on_commit`` listeners after the commit, never before and never on rollback."""
        with self._locked(write=True), self.engine.connect() as conn:
            conn.execution_options(zoomlive_write=True)
            with conn.begin():
                tx = SqlTx(conn)
                yield tx
        if tx.effects:
            for listener in list(self.on_commit):
                try:
                    listener(list(tx.effects))
                except Exception:  # the change is committed: a listener cannot undo it
                    log.exception("on_commit listener failed")

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self, timeout: float = 30.0) -> None:
        """Refuse new transactions, wait for those in flight, then release the connections
        and the file lock. Idempotent."""
        with self._gate:
            self._closed = True
            self._gate.wait_for(lambda: self._active == 0, timeout)
        self.engine.dispose()
        if self._file_lock is not None:
            self._file_lock.release()


def _scopes(text: str) -> list[str]:
    return [part for part in text.split(" ") if part]


class SqlTx:
    """Typed access to the tables within one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.effects: list[Any] = []
        """What must happen outside the database once this transaction commits."""

    # accounts --------------------------------------------------------------------------------
    def insert_account(self, a: Account) -> None:
        self.conn.execute(
            s.accounts.insert().values(
                id=a.id,
                name=a.name,
                plan=a.plan,
                webinar_addon=a.webinar_addon,
                custom_live_streaming=a.custom_live_streaming,
                created_at=_to_db(a.created_at),
            )
        )

    def update_account(self, a: Account) -> None:
        self.conn.execute(
            update(s.accounts)
            .where(s.accounts.c.id == a.id)
            .values(
                name=a.name,
                plan=a.plan,
                webinar_addon=a.webinar_addon,
                custom_live_streaming=a.custom_live_streaming,
            )
        )

    @staticmethod
    def _account(row: Any, prefix: str = "") -> Account:
        m = row._mapping
        return Account(
            id=m[prefix + "id"],
            name=m[prefix + "name"],
            plan=m[prefix + "plan"],
            webinar_addon=bool(m[prefix + "webinar_addon"]),
            custom_live_streaming=bool(m[prefix + "custom_live_streaming"]),
            created_at=_req_from_db(m[prefix + "created_at"]),
        )

    def get_account(self, account_id: str) -> Account | None:
        row = self.conn.execute(select(s.accounts).where(s.accounts.c.id == account_id)).first()
        return None if row is None else self._account(row)

    def list_accounts(self) -> list[Account]:
        rows = self.conn.execute(
            select(s.accounts).order_by(s.accounts.c.created_at, s.accounts.c.id)
        )
        return [self._account(r) for r in rows]

    # users -----------------------------------------------------------------------------------
    def insert_user(self, u: User) -> None:
        self.conn.execute(
            s.users.insert().values(
                id=u.id,
                account_id=u.account_id,
                email=u.email,
                first_name=u.first_name,
                last_name=u.last_name,
                type=u.type,
                timezone=u.timezone,
                created_at=_to_db(u.created_at),
            )
        )

    @staticmethod
    def _user(row: Any) -> User:
        m = row._mapping
        return User(
            id=m["id"],
            account_id=m["account_id"],
            email=m["email"],
            first_name=m["first_name"],
            last_name=m["last_name"],
            type=m["type"],
            timezone=m["timezone"],
            created_at=_req_from_db(m["created_at"]),
        )

    def get_user(self, user_id: str) -> User | None:
        row = self.conn.execute(select(s.users).where(s.users.c.id == user_id)).first()
        return None if row is None else self._user(row)

    def get_user_by_email(self, email: str) -> User | None:
        row = self.conn.execute(select(s.users).where(s.users.c.email == email.lower())).first()
        return None if row is None else self._user(row)

    def get_user_and_account(self, user_id: str) -> tuple[User, Account] | None:
        """A user with their account, in one query."""
        u, a = s.users, s.accounts
        q = select(u, *[c.label(f"acct_{c.name}") for c in a.c]).join(a, a.c.id == u.c.account_id)
        row = self.conn.execute(q.where(u.c.id == user_id)).first()
        if row is None:
            return None
        return self._user(row), self._account(row, prefix="acct_")

    def list_users(self, account_id: str | None = None) -> list[User]:
        q = select(s.users).order_by(s.users.c.created_at, s.users.c.id)
        if account_id is not None:
            q = q.where(s.users.c.account_id == account_id)
        return [self._user(r) for r in self.conn.execute(q)]

    # apps ------------------------------------------------------------------------------------
    def insert_app(self, a: App) -> None:
        self.conn.execute(
            s.apps.insert().values(
                client_id=a.client_id,
                account_id=a.account_id,
                name=a.name,
                secret_hash=a.secret_hash,
                scopes=" ".join(a.scopes),
                enabled=a.enabled,
                created_at=_to_db(a.created_at),
            )
        )

    def update_app(self, a: App) -> None:
        self.conn.execute(
            update(s.apps)
            .where(s.apps.c.client_id == a.client_id)
            .values(name=a.name, scopes=" ".join(a.scopes), enabled=a.enabled)
        )

    @staticmethod
    def _app(row: Any) -> App:
        m = row._mapping
        return App(
            client_id=m["client_id"],
            account_id=m["account_id"],
            name=m["name"],
            secret_hash=m["secret_hash"],
            scopes=_scopes(m["scopes"]),
            enabled=bool(m["enabled"]),
            created_at=_req_from_db(m["created_at"]),
        )

    def get_app(self, client_id: str) -> App | None:
        row = self.conn.execute(select(s.apps).where(s.apps.c.client_id == client_id)).first()
        return None if row is None else self._app(row)

    def list_apps(self, account_id: str | None = None) -> list[App]:
        q = select(s.apps).order_by(s.apps.c.created_at, s.apps.c.client_id)
        if account_id is not None:
            q = q.where(s.apps.c.account_id == account_id)
        return [self._app(r) for r in self.conn.execute(q)]

    # tokens ----------------------------------------------------------------------------------
    def insert_token(self, t: Token) -> None:
        self.conn.execute(
            s.tokens.insert().values(
                token_hash=t.token_hash,
                client_id=t.client_id,
                account_id=t.account_id,
                scopes=" ".join(t.scopes),
                issued_at=_to_db(t.issued_at),
                expires_at=_to_db(t.expires_at),
            )
        )

    def get_token(self, token_hash: str) -> Token | None:
        row = self.conn.execute(select(s.tokens).where(s.tokens.c.token_hash == token_hash)).first()
        return None if row is None else self._token(row)

    @staticmethod
    def _token(row: Any) -> Token:
        m = row._mapping
        return Token(
            token_hash=m["token_hash"],
            client_id=m["client_id"],
            account_id=m["account_id"],
            scopes=_scopes(m["scopes"]),
            issued_at=_req_from_db(m["issued_at"]),
            expires_at=_req_from_db(m["expires_at"]),
        )

    def get_token_and_app_enabled(self, token_hash: str) -> tuple[Token, bool, str] | None:
        """A token, whether its app is enabled, and its account's plan, in one query (every
        API call needs all three)."""
        t, a, acct = s.tokens, s.apps, s.accounts
        row = self.conn.execute(
            select(t, a.c.enabled, acct.c.plan)
            .join(a, a.c.client_id == t.c.client_id)
            .join(acct, acct.c.id == t.c.account_id)
            .where(t.c.token_hash == token_hash)
        ).first()
        if row is None:
            return None
        return self._token(row), bool(row._mapping["enabled"]), str(row._mapping["plan"])

    def purge_tokens(self, expired_before: datetime) -> int:
        result = self.conn.execute(
            delete(s.tokens).where(s.tokens.c.expires_at < _to_db(expired_before))
        )
        return int(result.rowcount or 0)

    def count_tokens(self) -> int:
        return int(self.conn.execute(select(func.count()).select_from(s.tokens)).scalar_one())

    # webinars and meetings ---------------------------------------------------------------------
    @staticmethod
    def _table(kind: SessionKind) -> Table:
        return _SESSION_TABLES[kind]

    @staticmethod
    def _session_values(w: Session) -> dict[str, Any]:
        return {
            "uuid": w.uuid,
            "account_id": w.account_id,
            "host_id": w.host_id,
            "topic": w.topic,
            "type": w.type,
            "start_time": _to_db(w.start_time),
            "duration": w.duration,
            "timezone": w.timezone,
            "agenda": w.agenda,
            "password": w.password,
            "settings": json.dumps(w.settings, separators=(",", ":"), sort_keys=True),
            "status": w.status,
            "created_at": _to_db(w.created_at),
            "updated_at": _to_db(w.updated_at),
            "started_at": _to_db(w.started_at),
            "ended_at": _to_db(w.ended_at),
        }

    def insert_session(self, w: Session) -> None:
        table = self._table(w.kind)
        self.conn.execute(table.insert().values(id=w.id, **self._session_values(w)))

    def update_session(self, w: Session) -> None:
        table = self._table(w.kind)
        self.conn.execute(update(table).where(table.c.id == w.id).values(**self._session_values(w)))

    def delete_session(self, kind: SessionKind, session_id: int) -> None:
        """Delete a webinar or meeting and its live stream."""
        table = self._table(kind)
        self.conn.execute(delete(table).where(table.c.id == session_id))
        self.effects.append(StreamEffect("stop", kind, session_id))
        ls = s.livestreams
        self.conn.execute(delete(ls).where(ls.c.kind == kind, ls.c.owner_id == session_id))

    @staticmethod
    def _session(row: Any, kind: SessionKind) -> Session:
        m = row._mapping
        return Session(
            id=int(m["id"]),
            uuid=m["uuid"],
            account_id=m["account_id"],
            host_id=m["host_id"],
            topic=m["topic"],
            type=m["type"],
            start_time=_from_db(m["start_time"]),
            duration=m["duration"],
            timezone=m["timezone"],
            agenda=m["agenda"],
            password=m["password"],
            settings=json.loads(m["settings"]),
            status=m["status"],
            created_at=_req_from_db(m["created_at"]),
            updated_at=_req_from_db(m["updated_at"]),
            started_at=_from_db(m["started_at"]),
            ended_at=_from_db(m["ended_at"]),
            kind=kind,
        )

    def get_session(
        self, kind: SessionKind, session_id: int, *, for_update: bool = False
    ) -> Session | None:
        table = self._table(kind)
        q = select(table).where(table.c.id == session_id)
        if for_update:
            q = q.with_for_update()
        row = self.conn.execute(q).first()
        return None if row is None else self._session(row, kind)

    def get_session_by_uuid(self, kind: SessionKind, uuid: str) -> Session | None:
        table = self._table(kind)
        row = self.conn.execute(select(table).where(table.c.uuid == uuid)).first()
        return None if row is None else self._session(row, kind)

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
        t = self._table(kind)
        cond = []
        if host_id is not None:
            cond.append(t.c.host_id == host_id)
        if account_id is not None:
            cond.append(t.c.account_id == account_id)
        if statuses is not None:
            cond.append(t.c.status.in_(list(statuses)))
        if start_after is not None:
            cond.append((t.c.status == "started") | (t.c.start_time >= _to_db(start_after)))
        total = int(
            self.conn.execute(select(func.count()).select_from(t).where(*cond)).scalar_one()
        )
        q = select(t).where(*cond).order_by(t.c.start_time, t.c.id).offset(offset)
        if limit is not None:
            q = q.limit(limit)
        return [self._session(r, kind) for r in self.conn.execute(q)], total

    # live streams ------------------------------------------------------------------------------
    def get_livestream(
        self, kind: SessionKind, owner_id: int, *, for_update: bool = False
    ) -> LiveStream | None:
        ls = s.livestreams
        q = select(ls).where(ls.c.kind == kind, ls.c.owner_id == owner_id)
        if for_update:
            q = q.with_for_update()
        row = self.conn.execute(q).first()
        return None if row is None else self._livestream(row)

    @staticmethod
    def _livestream(row: Any) -> LiveStream:
        m = row._mapping
        return LiveStream(
            kind=m["kind"],
            owner_id=int(m["owner_id"]),
            account_id=m["account_id"],
            stream_url=m["stream_url"],
            stream_key=m["stream_key"],
            page_url=m["page_url"],
            resolution=m["resolution"],
            state=m["state"],
            display_name=m["display_name"],
            active_speaker_name=m["active_speaker_name"],
            layout=m["layout"],
            close_caption=m["close_caption"],
            started_at=_from_db(m["started_at"]),
            stopped_at=_from_db(m["stopped_at"]),
            last_start_request_at=_from_db(m["last_start_request_at"]),
            last_error=m["last_error"],
            updated_at=_from_db(m["updated_at"]),
            version=m["version"],
        )

    def list_livestreams(self, account_id: str | None = None) -> list[LiveStream]:
        ls = s.livestreams
        q = select(ls).order_by(ls.c.kind, ls.c.owner_id)
        if account_id is not None:
            q = q.where(ls.c.account_id == account_id)
        return [self._livestream(r) for r in self.conn.execute(q)]

    def save_livestream(self, stream: LiveStream) -> None:
        """Insert or update, with an optimistic version check, and log its state changes."""
        ls = s.livestreams
        values = {
            "account_id": stream.account_id,
            "stream_url": stream.stream_url,
            "stream_key": stream.stream_key,
            "page_url": stream.page_url,
            "resolution": stream.resolution,
            "state": stream.state,
            "display_name": stream.display_name,
            "active_speaker_name": stream.active_speaker_name,
            "layout": stream.layout,
            "close_caption": stream.close_caption,
            "started_at": _to_db(stream.started_at),
            "stopped_at": _to_db(stream.stopped_at),
            "last_start_request_at": _to_db(stream.last_start_request_at),
            "last_error": stream.last_error,
            "updated_at": _to_db(stream.updated_at),
            "version": stream.version + 1,
        }
        if stream.version == 0:
            self.conn.execute(
                ls.insert().values(kind=stream.kind, owner_id=stream.owner_id, **values)
            )
        else:
            result = self.conn.execute(
                update(ls)
                .where(
                    ls.c.kind == stream.kind,
                    ls.c.owner_id == stream.owner_id,
                    ls.c.version == stream.version,
                )
                .values(**values)
            )
            if result.rowcount != 1:
                raise ConcurrentUpdate(f"{stream.kind} {stream.owner_id} changed meanwhile")
        stream.version += 1
        for change in stream.events:
            self.effects.append(StreamStateChanged(change, stream.last_error))
            self.conn.execute(
                s.livestream_events.insert().values(
                    kind=change.kind,
                    owner_id=change.owner_id,
                    from_state=change.from_state,
                    to_state=change.to_state,
                    at=_to_db(change.at),
                    detail=change.detail,
                )
            )
        stream.events.clear()
        self.effects.extend(stream.effects)
        stream.effects.clear()

    def list_stream_events(
        self, kind: SessionKind | None = None, owner_id: int | None = None
    ) -> list[StreamEvent]:
        ev = s.livestream_events
        q = select(ev).order_by(ev.c.id)
        if kind is not None:
            q = q.where(ev.c.kind == kind)
        if owner_id is not None:
            q = q.where(ev.c.owner_id == owner_id)
        return [
            StreamEvent(
                r.kind, int(r.owner_id), r.from_state, r.to_state, _req_from_db(r.at), r.detail
            )
            for r in self.conn.execute(q)
        ]

    # counters --------------------------------------------------------------------------------
    def bump_counter(self, key: str, day: str) -> int:
        """Add one to ``key`` for ``day`` and return the new count (atomic upsert)."""
        from sqlalchemy.dialects import postgresql, sqlite

        values = {"key": key, "day": day, "count": 1}
        bump = {"count": s.daily_counters.c.count + 1}
        if self.conn.dialect.name == "sqlite":
            stmt: Any = (
                sqlite.insert(s.daily_counters)
                .values(**values)
                .on_conflict_do_update(index_elements=["key", "day"], set_=bump)
            )
        else:
            stmt = (
                postgresql.insert(s.daily_counters)
                .values(**values)
                .on_conflict_do_update(index_elements=["key", "day"], set_=bump)
            )
        return int(self.conn.execute(stmt.returning(s.daily_counters.c.count)).scalar_one())

    def get_counter(self, key: str, day: str) -> int:
        value = self.conn.execute(
            select(s.daily_counters.c.count).where(
                s.daily_counters.c.key == key, s.daily_counters.c.day == day
            )
        ).scalar_one_or_none()
        return int(value or 0)

    def list_counters(self) -> list[tuple[str, str, int]]:
        rows = self.conn.execute(
            select(s.daily_counters).order_by(s.daily_counters.c.key, s.daily_counters.c.day)
        )
        return [(r.key, r.day, int(r._mapping["count"])) for r in rows]

    # webhooks ------------------------------------------------------------------------------
    @staticmethod
    def _subscription(row: Any) -> WebhookSubscription:
        m = row._mapping
        return WebhookSubscription(
            client_id=m["client_id"],
            account_id=m["account_id"],
            url=m["url"],
            secret_token=m["secret_token"],
            events=_scopes(m["events"]),
            created_at=_req_from_db(m["created_at"]),
            validated_at=_from_db(m["validated_at"]),
            validation_error=m["validation_error"],
        )

    def put_subscription(self, sub: WebhookSubscription) -> None:
        """Set (or replace) the app's subscription; it starts unvalidated."""
        t = s.webhook_subscriptions
        self.conn.execute(delete(t).where(t.c.client_id == sub.client_id))
        self.conn.execute(
            t.insert().values(
                client_id=sub.client_id,
                account_id=sub.account_id,
                url=sub.url,
                secret_token=sub.secret_token,
                events=" ".join(sub.events),
                created_at=_to_db(sub.created_at),
                validated_at=_to_db(sub.validated_at),
                validation_error=sub.validation_error,
            )
        )

    def get_subscription(self, client_id: str) -> WebhookSubscription | None:
        t = s.webhook_subscriptions
        row = self.conn.execute(select(t).where(t.c.client_id == client_id)).first()
        return None if row is None else self._subscription(row)

    def validated_subscriptions(self, account_id: str) -> list[WebhookSubscription]:
        t = s.webhook_subscriptions
        rows = self.conn.execute(
            select(t).where(t.c.account_id == account_id, t.c.validated_at.is_not(None))
        )
        return [self._subscription(r) for r in rows]

    def stale_subscriptions(self, validated_before: datetime) -> list[str]:
        """Apps whose endpoint was last validated before then (Zoom revalidates)."""
        t = s.webhook_subscriptions
        rows = self.conn.execute(
            select(t.c.client_id).where(t.c.validated_at < _to_db(validated_before))
        )
        return [r.client_id for r in rows]

    def set_validation(
        self, sub: WebhookSubscription, validated_at: datetime | None, error: str | None
    ) -> None:
        """Record a validation's outcome, unless the subscription was replaced meanwhile."""
        t = s.webhook_subscriptions
        self.conn.execute(
            update(t)
            .where(
                t.c.client_id == sub.client_id,
                t.c.url == sub.url,
                t.c.secret_token == sub.secret_token,
            )
            .values(validated_at=_to_db(validated_at), validation_error=error)
        )

    def insert_delivery(
        self, sub: WebhookSubscription, event: str, body: str, now: datetime
    ) -> None:
        self.conn.execute(
            s.webhook_deliveries.insert().values(
                client_id=sub.client_id,
                url=sub.url,
                event=event,
                body=body,
                status="pending",
                attempts=0,
                next_attempt_at=_to_db(now),
                created_at=_to_db(now),
            )
        )

    @staticmethod
    def _delivery(row: Any) -> WebhookDelivery:
        m = row._mapping
        return WebhookDelivery(
            id=int(m["id"]),
            client_id=m["client_id"],
            url=m["url"],
            event=m["event"],
            body=m["body"],
            status=m["status"],
            attempts=int(m["attempts"]),
            next_attempt_at=_from_db(m["next_attempt_at"]),
            created_at=_req_from_db(m["created_at"]),
            delivered_at=_from_db(m["delivered_at"]),
            secret_token=m.get("secret_token", ""),
        )

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
        """Due deliveries that can start at once, at most ``room`` in all and ``per_endpoint``
        to one URL counting those ``in_flight``, oldest due first; they are leased (their next
        attempt moved to ``lease_until``) so that no other worker takes them meanwhile."""
        d, sub = s.webhook_deliveries, s.webhook_subscriptions
        full = [url for url, n in in_flight.items() if n >= per_endpoint]
        query = (
            select(d, sub.c.secret_token)
            .join(sub, sub.c.client_id == d.c.client_id)
            .where(d.c.status == "pending", d.c.next_attempt_at <= _to_db(now))
        )
        if full:
            query = query.where(d.c.url.not_in(full))
        rows = self.conn.execute(
            query.order_by(d.c.next_attempt_at, d.c.id)
            .limit(window)
            .with_for_update(of=d, skip_locked=True)  # PostgreSQL; SQLite locks the database
        ).all()
        taken = dict(in_flight)
        picked: list[WebhookDelivery] = []
        for row in rows:
            if len(picked) >= room:
                break
            if taken.get(row.url, 0) < per_endpoint:
                taken[row.url] = taken.get(row.url, 0) + 1
                picked.append(self._delivery(row))
        if picked:
            self.conn.execute(
                update(d)
                .where(d.c.id.in_([p.id for p in picked]))
                .values(next_attempt_at=_to_db(lease_until))
            )
        return picked

    def record_attempt(self, delivery: WebhookDelivery, attempt: WebhookAttempt) -> None:
        """Log an attempt and store the delivery's new status, count and next attempt."""
        self.conn.execute(
            s.webhook_attempts.insert().values(
                delivery_id=delivery.id,
                at=_to_db(attempt.at),
                status_code=attempt.status_code,
                duration_ms=attempt.duration_ms,
                error=attempt.error,
                request_timestamp=attempt.request_timestamp,
                signature=attempt.signature,
            )
        )
        self.conn.execute(
            update(s.webhook_deliveries)
            .where(s.webhook_deliveries.c.id == delivery.id)
            .values(
                status=delivery.status,
                attempts=delivery.attempts,
                next_attempt_at=_to_db(delivery.next_attempt_at),
                delivered_at=_to_db(delivery.delivered_at),
            )
        )

    def next_delivery_due(self) -> datetime | None:
        d = s.webhook_deliveries
        value = self.conn.execute(
            select(func.min(d.c.next_attempt_at)).where(d.c.status == "pending")
        ).scalar_one_or_none()
        return _from_db(value)

    def first_validated_at(self) -> datetime | None:
        t = s.webhook_subscriptions
        value = self.conn.execute(select(func.min(t.c.validated_at))).scalar_one_or_none()
        return _from_db(value)

    def list_deliveries(
        self, limit: int = 200
    ) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
        """The latest deliveries, newest first, each with its attempts in order."""
        d, a = s.webhook_deliveries, s.webhook_attempts
        rows = self.conn.execute(select(d).order_by(d.c.id.desc()).limit(limit)).all()
        out = []
        for row in rows:
            attempts = self.conn.execute(
                select(a).where(a.c.delivery_id == row.id).order_by(a.c.id)
            ).all()
            out.append(
                (
                    self._delivery(row),
                    [
                        WebhookAttempt(
                            at=_req_from_db(x.at),
                            status_code=x.status_code,
                            duration_ms=x.duration_ms,
                            error=x.error,
                            request_timestamp=x.request_timestamp,
                            signature=x.signature,
                        )
                        for x in attempts
                    ],
                )
            )
        return out

    # whole store -----------------------------------------------------------------------------
    def reset(self) -> None:
        """Delete everything (children first); running streams are told to stop."""
        for stream in self.list_livestreams():
            if stream.state != "stopped":
                self.effects.append(StreamEffect("stop", stream.kind, stream.owner_id))
        for table in (
            s.livestream_events,
            s.livestreams,
            s.daily_counters,
            s.meetings,
            s.webinars,
            s.tokens,
            s.apps,
            s.users,
            s.accounts,
        ):
            self.conn.execute(delete(table))
