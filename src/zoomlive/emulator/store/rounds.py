"""The PostgreSQL journal: several workers and hosts on one database, each with the state in
memory, kept in step by the change log ``zoomlive_changes`` (one row per commit: its ops).

The writer runs *rounds*. A write round takes the database-wide write lock (an advisory lock
held by its transaction), applies the changes other hosts committed since this host's last
round, then admits every write transaction waiting on this host; when all of them are done it
writes their ops and one change-log row and commits, which releases the lock (two pipelined
round trips in all). A read waits for the next round (a write round, or a read round that only
applies the others' changes), so it reflects every write acknowledged anywhere before it
arrived. A failed round answers its waiters :class:`StoreFailed` (503) and the next one
reconnects and reloads the state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from zoomlive.emulator.store.backend import (
    POSTGRES,
    WRITE_LOCK,
    apply_replicated,
    load_state,
    replicated,
    statements,
)
from zoomlive.emulator.store.base import StoreFailed
from zoomlive.emulator.store.journal import History, Journal, _call_soon, _settle_future
from zoomlive.emulator.store.link import Link
from zoomlive.emulator.store.state import State

log = logging.getLogger("zoomlive.store")
CATCH_UP = "SELECT seq, origin, body FROM zoomlive_changes WHERE seq > %s ORDER BY seq"


class RoundTicket:
    """A write transaction's place in a PostgreSQL write round: the round commits once every
    ticket it admitted is done (the transaction submitted, failed, or never began)."""

    __slots__ = ("_done", "journal")

    def __init__(self, journal: PostgresJournal) -> None:
        self.journal = journal
        self._done = False

    def done(self) -> None:
        if not self._done:
            self._done = True
            self.journal._ticket_done()


class _Waiter:
    """One transaction waiting for a round: a future (event loop) or an event (thread)."""

    __slots__ = ("cancelled", "error", "event", "future", "loop", "ticket", "write")

    def __init__(self, write: bool, loop: asyncio.AbstractEventLoop | None) -> None:
        self.write = write
        self.loop = loop
        self.future: asyncio.Future[None] | None = loop.create_future() if loop else None
        self.event: threading.Event | None = None if loop else threading.Event()
        self.ticket: RoundTicket | None = None
        self.error: BaseException | None = None
        self.cancelled = False

    def wake(self) -> None:
        if self.future is not None and self.loop is not None:
            _call_soon(self.loop, _settle_future, self.future, self.error)
        elif self.event is not None:
            self.event.set()


class PostgresJournal(Journal):
    """PostgreSQL: write and read rounds; see the module's notes."""

    shared = True

    def __init__(
        self,
        state: State,
        lock: threading.RLock,
        connect: Callable[[], Any],
        *,
        link: Link,
        history: History | None = None,
    ) -> None:
        """``state`` and ``lock``: the store's (rounds apply other hosts' changes to it under
        the lock); ``link``: the store's second connection (reads of the logs)."""
        super().__init__(connect, POSTGRES, history)
        self._state = state
        self._lock = lock
        self._link = link
        self.origin = uuid.uuid4().hex
        """This process, in the change log: its own entries need no applying."""
        self._queue: list[_Waiter] = []
        self._open = False
        self._tickets = 0
        self._reload = False
        self._thread.start()

    # entering ------------------------------------------------------------------------------
    async def enter(self, write: bool) -> RoundTicket | None:
        """Wait (event loop) until this host's state is fresh: for a write, admitted to a
        write round (its ticket); for a read, after the next round. SQLite: at once."""
        if not write and self._open:
            return None  # a write round holds the lock: nothing can change elsewhere
        waiter = _Waiter(write, asyncio.get_running_loop())
        self._enqueue(waiter)
        assert waiter.future is not None
        try:
            await waiter.future
        except asyncio.CancelledError:
            with self._cond:
                waiter.cancelled = True
                ticket = waiter.ticket
            if ticket is not None:
                ticket.done()
            raise
        return waiter.ticket

    def enter_blocking(self, write: bool, timeout: float = 60.0) -> RoundTicket | None:
        """:meth:`enter` for worker threads."""
        if not write and self._open:
            return None
        waiter = _Waiter(write, None)
        self._enqueue(waiter)
        assert waiter.event is not None
        if not waiter.event.wait(timeout):
            with self._cond:
                waiter.cancelled = True
                ticket = waiter.ticket
            if ticket is not None:
                ticket.done()
            raise StoreFailed("the store's database did not answer in time")
        if waiter.error is not None:
            raise waiter.error
        return waiter.ticket

    def _enqueue(self, waiter: _Waiter) -> None:
        with self._cond:
            self._check()
            self._queue.append(waiter)
            self._cond.notify()

    def _ticket_done(self) -> None:
        with self._cond:
            self._tickets -= 1
            if self._tickets <= 0:
                self._cond.notify_all()

    def _waiting(self) -> bool:
        return bool(self._queue)

    # rounds --------------------------------------------------------------------------------
    def _round(self) -> None:
        with self._cond:
            waiting, self._queue = self._queue, []
            jobs, self._jobs = self._jobs, []
        writers = [w for w in waiting if w.write]
        try:
            self._ensure_connected()
            if writers or self._pending:
                self._write_round(waiting, writers)
            else:
                self._read_round(waiting)
        except BaseException as exc:
            log.error("the store's PostgreSQL round failed: %s", exc)
            self._broken(exc, waiting)
        self._run_jobs(jobs)

    def _ensure_connected(self) -> None:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
            self._reload = True
        if self._reload:
            self._reload_state()

    def _reload_state(self) -> None:
        conn = self._conn
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM zoomlive_changes").fetchone()[0]
            fresh = load_state(POSTGRES, lambda sql: conn.execute(sql).fetchall())
        with self._lock:
            self._state.replace(fresh)
        self.seq = int(seq)
        self._reload = False
        log.info("the store's state was reloaded from PostgreSQL")

    def _catch_up(self, conn: Any, rows: list[Any] | None = None) -> None:
        """Apply the change-log entries this host has not seen (``rows``: already read)."""
        if rows is None:
            rows = conn.execute(CATCH_UP, (self.seq,)).fetchall()
        if rows and rows[0][0] != self.seq + 1:
            # Entries this host never saw were pruned (it lagged): read everything again.
            first = conn.execute("SELECT MIN(seq) FROM zoomlive_changes").fetchone()[0]
            if first is not None and first > self.seq + 1:
                self._load_all(conn)
                return
        if not rows:
            return
        with self._lock:
            for seq, origin, body in rows:
                if origin != self.origin:
                    apply_replicated(self._state, body)
                self.seq = int(seq)

    def _load_all(self, conn: Any) -> None:
        """Read the whole state (inside a write round's transaction: nobody else writes)."""
        seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM zoomlive_changes").fetchone()[0]
        fresh = load_state(POSTGRES, lambda sql: conn.execute(sql).fetchall())
        with self._lock:
            self._state.replace(fresh)
        self.seq = int(seq)

    def _read_round(self, waiting: list[_Waiter]) -> None:
        self._catch_up(self._conn)
        _wake_all(waiting)

    def _write_round(self, waiting: list[_Waiter], writers: list[_Waiter]) -> None:
        """One database transaction, two round trips: BEGIN, the lock and the catch-up in one
        pipeline; the writes, the change-log row and COMMIT in another."""
        conn = self._conn
        try:
            with conn.pipeline():
                conn.execute("BEGIN")
                conn.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
                rows = conn.execute(CATCH_UP, (self.seq,)).fetchall()
            self._catch_up(conn, rows)
            with self._cond:
                self._open = True
                for waiter in writers:
                    if not waiter.cancelled:
                        waiter.ticket = RoundTicket(self)
                        self._tickets += 1
            _wake_all(waiting)
            with self._cond:
                self._cond.wait_for(lambda: self._tickets <= 0)
                self._open = False
                ops, self._pending = self._pending, []
                lsn = self._submitted
            if not ops:
                conn.execute("COMMIT")
            else:
                with conn.pipeline(), conn.cursor() as cur:
                    for sql, params in statements(POSTGRES, ops):
                        cur.executemany(sql, params)
                    self._prune(ops, lambda sql, p: conn.execute(sql, p))
                    added = conn.execute(
                        "INSERT INTO zoomlive_changes (origin, body, at) VALUES (%s, %s, %s) "
                        "RETURNING seq",
                        (self.origin, replicated(ops), datetime.now(UTC).replace(tzinfo=None)),
                    )
                    conn.execute("COMMIT")
                    seq = added.fetchone()[0]
                self.seq = int(seq)
                self.commits += 1
        except BaseException:
            with contextlib.suppress(Exception):
                conn.execute("ROLLBACK")
            raise
        self._release(lsn)

    def _broken(self, exc: BaseException, waiting: list[_Waiter]) -> None:
        """A round failed (PostgreSQL went away, ...): what it held is not durable. Its
        waiters and transactions fail (503); the next round reconnects and reloads."""
        with self._cond:
            self._open = False
            self._tickets = 0
            self._pending = []
            lsn = self._submitted
        self._reload = True
        with contextlib.suppress(Exception):
            self._conn.close()
        error = StoreFailed(f"the store's database failed: {exc}")
        for waiter in waiting:
            waiter.error = error
        _wake_all(waiting)
        self._fail(exc, lsn, permanent=False)
        time.sleep(0.2)  # no busy loop while the database is away

    # the logs ------------------------------------------------------------------------------
    def query(self, sql: str, params: list[Any]) -> list[Any]:
        """On the store's link, not the writer's connection: never behind a write round,
        which may be waiting for the very transaction that reads."""
        assert self._link is not None
        try:
            return self._link.run(
                lambda conn: list(conn.execute(POSTGRES.sql(sql), params).fetchall()),
                idempotent=True,
            )
        except Exception as exc:
            raise StoreFailed(f"the store's database failed: {exc}") from exc


def _wake_all(waiters: list[_Waiter]) -> None:
    """Wake waiters: threads each, event loops once per loop for all of theirs (one wake-up of
    a loop, not one per request)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Waiter]] = {}
    for waiter in waiters:
        if waiter.loop is None:
            waiter.wake()
        else:
            by_loop.setdefault(waiter.loop, []).append(waiter)
    for loop, batch in by_loop.items():
        _call_soon(loop, _settle_waiters, batch)


def _settle_waiters(batch: list[_Waiter]) -> None:
    for waiter in batch:
        if waiter.future is not None:
            _settle_future(waiter.future, waiter.error)
