"""The store: the state in memory, one transaction layer (:class:`~.tx.Tx`), and a journal that
makes every change durable in the database before anyone is answered.

Rules, whatever the backend:

* Transactions are serial (a lock) and short. They run on the event loop for the Zoom API
  (:meth:`Store.run`, or :meth:`begin` then :meth:`settle`) or in worker threads
  (:meth:`read`, :meth:`write`). A change is applied at once and undone if the transaction
  fails, so a transaction reads its own writes.
* Reads hand out copies: a record changes only through a write method.
* Nobody is answered before what they changed, or saw, is durable.
* On PostgreSQL (several workers and hosts), a transaction first waits for this host's copy to
  be fresh (:meth:`enter`): a write joins the next write round, which holds the database-wide
  write lock; a read waits for the next round. See :mod:`.journal`.

Startup: a new database gets the head schema (derived from :mod:`.schema`); an older one is
migrated with Alembic first; then every table of :data:`~.schema.ENTITIES` is read into memory.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from zoomlive._extras import require
from zoomlive.emulator.store.backend import (
    SQLITE,
    load_state,
    migrate,
    open_sqlite,
    revision_of,
    sqlite_path,
)
from zoomlive.emulator.store.base import StoreClosed, Ticket
from zoomlive.emulator.store.journal import History, Journal, SqliteJournal
from zoomlive.emulator.store.link import Link, postgres_url
from zoomlive.emulator.store.lock import FileLock
from zoomlive.emulator.store.records import Token
from zoomlive.emulator.store.rounds import PostgresJournal
from zoomlive.emulator.store.state import State, token_facts
from zoomlive.emulator.store.tx import Tx

log = logging.getLogger("zoomlive.store")
T = TypeVar("T")


class Store:
    """The emulator's store; see the module's notes. ``db``: ``:memory:``, an SQLite file path
    (or ``sqlite:///path``), or a ``postgresql://`` URL."""

    def __init__(
        self,
        db: str,
        *,
        lock: bool = True,
        holder: str = "",
        history: History | None = None,
    ) -> None:
        self.db = db
        self.is_sqlite = not db.startswith(("postgres://", "postgresql"))
        self.shared = not self.is_sqlite
        """Several processes share the database (PostgreSQL)."""
        self.on_commit: list[Callable[[list[Any]], None]] = []
        self._lock = threading.RLock()
        self._owner: int | None = None  # the thread in a transaction (they do not nest)
        self._closed = False
        self._file_lock: FileLock | None = None
        self.state = State()
        self.link: Link | None = None
        """PostgreSQL: the store's connection besides its journal (see :mod:`.link`)."""
        if self.is_sqlite:
            self.path = sqlite_path(db)
            if lock and self.path is not None:
                self._file_lock = FileLock(os.path.abspath(self.path))
                self._file_lock.acquire(holder or f"a zoomlive process (pid {os.getpid()})")
            try:
                conn = open_sqlite(self.path)
                self.state = load_state(SQLITE, lambda sql: conn.execute(sql).fetchall())
                path = self.path
                self.journal: Journal = SqliteJournal(lambda: conn, path=path, history=history)
            except BaseException:
                if self._file_lock is not None:
                    self._file_lock.release()
                raise
        else:
            self.path = None
            require("a PostgreSQL store", "psycopg")
            url = postgres_url(db)
            migrate(url)

            def connect() -> Any:
                import psycopg

                return psycopg.connect(url, autocommit=True)

            self.link = Link(url)
            journal = PostgresJournal(
                self.state, self._lock, connect, link=self.link, history=history
            )
            journal._reload_state()
            self.journal = journal

    # reads without a transaction ---------------------------------------------------------------
    def schema_revision(self) -> str | None:
        if self.is_sqlite:
            return self.journal.run(revision_of)
        rows = self.journal.query("SELECT version_num FROM alembic_version", [])
        return str(rows[0][0]) if rows else None

    def token_facts(self, token_hash: str) -> tuple[Token, bool, str] | None:
        """Authentication's lookup: dict reads, no lock (a 401 costs no transaction). On
        PostgreSQL, after :meth:`enter`."""
        return token_facts(self.state, token_hash)

    # transactions --------------------------------------------------------------------------
    def enter(self, *, write: bool) -> Awaitable[Ticket | None] | None:
        """Make this host's copy fresh before a transaction (PostgreSQL); None when there is
        nothing to wait for (SQLite). A write's ticket must be ``done()`` once its transaction
        has ended (``begin(ticket)`` does it)."""
        if not self.shared:
            return None
        return self.journal.enter(write)

    def begin(self, ticket: Ticket | None = None, *, optimistic: bool = False) -> _Transaction:
        """A transaction for the event loop: ``with store.begin() as tx: ...``, then
        ``await store.settle(tx)`` before answering (durability and listeners).

        ``optimistic`` (PostgreSQL): a call that may write runs first as a read, after a read
        round; if it changes nothing (a stop of a stopped stream, a refusal), that was enough;
        if it would change something, it is undone and :class:`NeedsWrite` raised: run it
        again with a write round's ticket."""
        return _Transaction(self, ticket, optimistic=optimistic)

    async def settle(self, tx: Tx) -> None:
        """Wait (without blocking the loop) until what ``tx`` changed or saw is durable, then
        hand its effects to the listeners."""
        pending = self.journal.durable(tx.lsn)
        if pending is not None:
            await pending
        self._notify(tx)

    async def run(self, work: Callable[[Tx], T], *, write: bool = True) -> T:
        """The one way in for the event loop: a fresh copy, one transaction, durability,
        listeners."""
        ticket: Ticket | None = None
        entering = self.enter(write=write)
        if entering is not None:
            ticket = await entering
        with self.begin(ticket) as tx:
            result = work(tx)
        await self.settle(tx)
        return result

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A transaction that only reads (blocking: worker threads)."""
        if self.shared:
            self.journal.enter_blocking(False)
        with _Transaction(self, None, readonly=self.shared) as tx:
            yield tx
        self.journal.wait(tx.lsn)

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """A transaction, durable when the block exits without error (blocking: worker
        threads). Its effects go to the ``on_commit`` listeners after that."""
        ticket = self.journal.enter_blocking(True) if self.shared else None
        with _Transaction(self, ticket) as tx:
            yield tx
        self.journal.wait(tx.lsn)
        self._notify(tx)

    def _notify(self, tx: Tx) -> None:
        if not tx.effects:
            return
        for listener in list(self.on_commit):
            try:
                listener(list(tx.effects))
            except Exception:  # the change is committed: a listener cannot undo it
                log.exception("on_commit listener failed")

    # closing -------------------------------------------------------------------------------
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
        if self.link is not None:
            self.link.close()
        if self._file_lock is not None:
            self._file_lock.release()


class NeedsWrite(Exception):
    """An optimistic transaction would change the store: run it again in a write round."""


class _Transaction:
    """Opens and ends one transaction (a class, not a generator: it runs on every request).

    Serial (the store's lock) and not nested; a change is applied at once and undone if the
    block fails. Its ops go to the journal under the lock, so the journal's order is the order
    changes were applied; ``tx.lsn`` is then what the caller waits for: its own change, or,
    for a transaction that changed nothing or failed, everything it could see."""

    __slots__ = ("optimistic", "readonly", "store", "ticket", "tx")

    def __init__(
        self,
        store: Store,
        ticket: Ticket | None,
        *,
        readonly: bool = False,
        optimistic: bool = False,
    ) -> None:
        self.store = store
        self.ticket = ticket
        self.readonly = readonly or (store.shared and ticket is None)
        self.optimistic = optimistic

    def __enter__(self) -> Tx:
        store = self.store
        if store._closed:
            if self.ticket is not None:
                self.ticket.done()
            raise StoreClosed("the store is closed")
        store._lock.acquire()
        me = threading.get_ident()
        if store._owner == me:
            store._lock.release()
            if self.ticket is not None:
                self.ticket.done()
            raise RuntimeError("store transactions do not nest")
        store._owner = me
        self.tx = Tx(store.state, store.journal)
        return self.tx

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        store, tx = self.store, self.tx
        journal = store.journal
        try:
            if self.readonly and (tx.ops or tx.effects) and kind in (None, NeedsWrite):
                tx.rollback()
                tx.lsn = journal.submitted
                if self.optimistic:
                    raise NeedsWrite
                raise RuntimeError("a read transaction changed the store")
            if kind is None:
                try:
                    tx.lsn = journal.submit(tx.ops) if tx.ops else journal.submitted
                except BaseException:
                    tx.rollback()
                    tx.lsn = journal.submitted
                    raise
            else:
                tx.rollback()
                tx.lsn = journal.submitted
        finally:
            store._owner = None
            store._lock.release()
            if self.ticket is not None:
                self.ticket.done()
