"""The journal: one thread per store writes committed changes to the database, many at a time.

Transactions hand in their ops with :meth:`Journal.submit` and get a sequence number (LSN). The
writer thread takes everything submitted since its last commit and writes it in one database
transaction; the waiters of those LSNs are released only once the commit returns (group commit:
one fsync covers every change that arrived while the previous one ran).

Two ways to run, one per backend:

* **SQLite** (one process): transactions run whenever they like; the writer commits behind them.
  A failed commit (disk full, I/O error) fails the journal for good: nothing is acknowledged
  that is not on disk. Reads of the logs are jobs on the writer's connection, after every
  change submitted before them.
* **PostgreSQL** (several workers and hosts on one database): the writer runs *rounds*. A write
  round takes the database-wide write lock (an advisory lock held by its transaction), applies
  the changes other hosts committed since this host's last round (``zoomlive_changes``), then
  admits every write transaction waiting on this host; when all of them are done it writes
  their ops and one change-log row and commits, which releases the lock. A read waits for the
  next round (a write round, or a read round that only applies the others' changes), so it
  reflects every write acknowledged anywhere before it arrived. A failed round answers its
  waiters :class:`StoreFailed` (503) and the next one reconnects and reloads the state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from zoomlive.emulator.store.backend import (
    POSTGRES,
    SQLITE,
    WRITE_LOCK,
    Dialect,
    apply_replicated,
    load_state,
    read_deliveries,
    replicated,
    statements,
    stream_event,
    stream_events_query,
)
from zoomlive.emulator.store.base import Op, StoreClosed, StoreFailed
from zoomlive.emulator.store.link import Link
from zoomlive.emulator.store.records import StreamEvent, WebhookAttempt, WebhookDelivery
from zoomlive.emulator.store.state import State

log = logging.getLogger("zoomlive.store")
CATCH_UP = "SELECT seq, origin, body FROM zoomlive_changes WHERE seq > %s ORDER BY seq"

T = TypeVar("T")


@dataclass
class History:
    """How much of the logs that only grow is kept (older entries are pruned as it goes)."""

    events: int = 10_000
    """State changes kept (the newest), all streams together."""
    deliveries: int = 10_000
    """Sent or failed webhook deliveries kept (the newest), with their attempts."""
    max_age: timedelta = timedelta(days=7)
    """Nothing older than this is kept in either log."""
    every: int = 500
    """Prune after this many log rows were added (and at least every minute)."""
    changes_age: timedelta = timedelta(seconds=30)
    """PostgreSQL: how long the change log keeps a commit for hosts that lag behind (a host
    that saw none of the others' commits for longer reloads its state at its next round)."""


@dataclass
class _Job:
    """Something the writer must run after every write submitted before it."""

    run: Callable[[Any], Any]
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


class Ticket:
    """A write transaction's place in a PostgreSQL write round: the round commits once every
    ticket it admitted is done (the transaction submitted, failed, or never began)."""

    __slots__ = ("_done", "journal")

    def __init__(self, journal: Journal) -> None:
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
        self.ticket: Ticket | None = None
        self.error: BaseException | None = None
        self.cancelled = False

    def wake(self) -> None:
        if self.future is not None and self.loop is not None:
            _call_soon(self.loop, _settle_future, self.future, self.error)
        elif self.event is not None:
            self.event.set()


class Journal:
    """The writer thread of one store; see the module's notes."""

    def __init__(
        self,
        state: State,
        lock: threading.RLock,
        connect: Callable[[], Any],
        dialect: Dialect,
        *,
        path: str | None = None,
        link: Link | None = None,
        history: History | None = None,
        seq: int = 0,
    ) -> None:
        """``state`` and ``lock``: the store's (rounds apply other hosts' changes to it under
        the lock); ``link``: PostgreSQL, the store's second connection (reads of the logs)."""
        self._state = state
        self._lock = lock
        self._link = link
        self.dialect = dialect
        self.shared = dialect is POSTGRES
        self.history = history or History()
        self._connect = connect
        self._conn: Any = connect()
        self._cond = threading.Condition()
        self._pending: list[Op] = []
        self._jobs: list[_Job] = []
        self._submitted = 0
        self._durable = 0
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._failure: BaseException | None = None
        self._lost: list[tuple[int, int]] = []
        """LSN ranges of failed PostgreSQL rounds: never durable, their waiters fail."""
        self._closing = False
        self.commits = 0
        """How many database transactions the writer has committed (for tests and benches)."""
        self._added = 0
        self._last_prune = time.monotonic()
        # PostgreSQL rounds
        self.origin = uuid.uuid4().hex
        self.seq = seq
        """The last change-log entry this host's state includes."""
        self._queue: list[_Waiter] = []
        self._open = False
        self._tickets = 0
        self._reload = False
        self._thread = threading.Thread(target=self._run, name="zoomlive-journal", daemon=True)
        self._checkpointer: _Checkpointer | None = None
        if path is not None:
            # SQLite would checkpoint the WAL inside whichever commit crosses 1000 pages: that
            # commit, and every answer waiting on it, would wait for the database file's fsync
            # too (a 40 ms tail under load). A thread of its own does it instead, off the path.
            self._conn.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = _Checkpointer(path)
        self._thread.start()

    # submitting ----------------------------------------------------------------------------
    @property
    def submitted(self) -> int:
        """The LSN of the last change handed in."""
        return self._submitted

    def submit(self, ops: list[Op]) -> int:
        """Queue one transaction's ops; its LSN. Never blocks on the database."""
        with self._cond:
            self._check()
            self._pending.extend(ops)
            self._submitted += 1
            self._cond.notify()
            return self._submitted

    def wait(self, lsn: int, timeout: float | None = None) -> None:
        """Block until ``lsn`` is durable (worker threads, not the event loop)."""
        with self._cond:
            ready = self._cond.wait_for(
                lambda: self._durable >= lsn or self._failure is not None, timeout
            )
            if (self._durable < lsn and self._failure is not None) or any(
                lo <= lsn <= hi for lo, hi in self._lost
            ):
                raise StoreFailed(str(self._failure)) from self._failure
            if not ready:
                raise TimeoutError(f"the journal did not commit LSN {lsn} in time")

    def durable(self, lsn: int) -> asyncio.Future[None] | None:
        """None if ``lsn`` is durable already; else a future of the running loop that resolves
        once it is (or fails with :class:`StoreFailed`)."""
        if self._durable >= lsn and not self._lost:
            return None
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            if (self._failure is not None and not self.shared) or any(
                lo <= lsn <= hi for lo, hi in self._lost
            ):
                future.set_exception(StoreFailed(str(self._failure)))
            elif self._durable >= lsn:
                return None
            else:
                self._waiters.append((lsn, loop, future))
        return future

    def run(self, job: Callable[[Any], T], timeout: float = 60.0) -> T:
        """Run ``job`` on the writer's connection after every change submitted so far.
        Blocking."""
        item = _Job(job)
        with self._cond:
            self._check()
            self._jobs.append(item)
            self._cond.notify()
        if not item.done.wait(timeout):
            raise TimeoutError("the journal did not run the query in time")
        if item.error is not None:
            raise item.error
        result: T = item.result
        return result

    def _check(self) -> None:
        if self._failure is not None and not self.shared:
            raise StoreFailed(str(self._failure)) from self._failure
        if self._closing:
            raise StoreClosed("the store is closed")

    # PostgreSQL rounds ---------------------------------------------------------------------
    async def enter(self, write: bool) -> Ticket | None:
        """Wait (event loop) until this host's state is fresh: for a write, admitted to a
        write round (its ticket); for a read, after the next round. SQLite: at once."""
        if not self.shared:
            return None
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

    def enter_blocking(self, write: bool, timeout: float = 60.0) -> Ticket | None:
        """:meth:`enter` for worker threads."""
        if not self.shared:
            return None
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

    # the writer ----------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while (
                    not self._pending and not self._jobs and not self._queue and not self._closing
                ):
                    self._cond.wait()
                if not self._pending and not self._jobs and not self._queue and self._closing:
                    return
            if self.shared:
                self._round()
            else:
                self._sqlite_round()

    def _sqlite_round(self) -> None:
        with self._cond:
            ops, self._pending = self._pending, []
            jobs, self._jobs = self._jobs, []
            lsn = self._submitted
        if ops and self._failure is None:
            try:
                self._write_sqlite(ops)
            except BaseException as exc:  # the disk said no: nothing more is acknowledged
                log.critical("the store could not write to disk; restart it: %s", exc)
                self._fail(exc, lsn, permanent=True)
            else:
                self._release(lsn)
        elif not ops:
            self._release(lsn)
        self._run_jobs(jobs)

    def _run_jobs(self, jobs: list[_Job]) -> None:
        for job in jobs:
            try:
                job.result = job.run(self._conn)
            except BaseException as exc:
                job.error = exc
            job.done.set()

    def _write_sqlite(self, ops: list[Op]) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, rows in statements(SQLITE, ops):
                if len(rows) == 1:
                    conn.execute(sql, rows[0])
                else:
                    conn.executemany(sql, rows)
            self._prune(ops, lambda sql, p: conn.execute(sql, p))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self.commits += 1
        if self._checkpointer is not None:
            self._checkpointer.poke()

    def _prune(self, ops: list[Op], execute: Callable[[str, tuple[Any, ...]], Any]) -> None:
        """Keep the logs bounded: every few hundred log rows, or every minute, drop what the
        history no longer keeps (in the same transaction as the writes)."""
        self._added += sum(1 for what, _, _ in ops if what == "add")
        now = time.monotonic()
        if self._added < self.history.every and now - self._last_prune < 60:
            return
        self._added, self._last_prune = 0, now
        h = self.history
        cutoff = self.dialect.time_in(datetime.now(UTC) - h.max_age)
        sql = self.dialect.sql
        execute(
            sql(
                "DELETE FROM livestream_events WHERE at < ? OR id <= "
                "(SELECT MAX(id) FROM livestream_events) - ?"
            ),
            (cutoff, h.events),
        )
        old = (
            "SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND (created_at < ? OR "
            "id <= (SELECT MAX(id) FROM webhook_deliveries) - ?)"
        )
        execute(
            sql(f"DELETE FROM webhook_attempts WHERE delivery_id IN ({old})"),
            (cutoff, h.deliveries),
        )
        execute(sql(f"DELETE FROM webhook_deliveries WHERE id IN ({old})"), (cutoff, h.deliveries))
        if self.shared:
            execute(
                sql("DELETE FROM zoomlive_changes WHERE at < ? AND seq < ?"),
                (self.dialect.time_in(datetime.now(UTC) - h.changes_age), self.seq),
            )

    # PostgreSQL ----------------------------------------------------------------------------
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
                        waiter.ticket = Ticket(self)
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

    # the logs, read by query ---------------------------------------------------------------
    def stream_events(
        self, kind: str | None, owner_id: int | None, after: int, limit: int | None
    ) -> list[StreamEvent]:
        sql, params = stream_events_query(kind, owner_id, after, limit)
        rows = self.query(sql, params)
        return [stream_event(self.dialect, r) for r in rows]

    def deliveries(
        self, limit: int, before: int | None
    ) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
        if self.shared:
            return read_deliveries(self.dialect, self.query, limit, before)
        return self.run(
            lambda conn: read_deliveries(
                SQLITE, lambda sql, p: conn.execute(sql, p).fetchall(), limit, before
            )
        )

    def query(self, sql: str, params: list[Any]) -> list[Any]:
        """A read of committed rows. SQLite: on the writer, after every submitted change.
        PostgreSQL: on a connection of its own (never behind a write round, which may be
        waiting for the very transaction that reads)."""
        if not self.shared:
            return self.run(lambda conn: conn.execute(sql, params).fetchall())
        assert self._link is not None
        try:
            return self._link.run(
                lambda conn: list(conn.execute(POSTGRES.sql(sql), params).fetchall()),
                idempotent=True,
            )
        except Exception as exc:
            raise StoreFailed(f"the store's database failed: {exc}") from exc

    # outcomes ------------------------------------------------------------------------------
    def _release(self, lsn: int) -> None:
        with self._cond:
            self._durable = max(self._durable, lsn)
            ready = [w for w in self._waiters if w[0] <= lsn]
            self._waiters = [w for w in self._waiters if w[0] > lsn]
            self._cond.notify_all()
        _resolve_all(ready, None)

    def _fail(self, exc: BaseException, lsn: int, *, permanent: bool) -> None:
        with self._cond:
            if permanent:
                self._failure = exc
                failed, self._waiters = self._waiters, []
            else:
                failed = [w for w in self._waiters if w[0] <= lsn]
                self._waiters = [w for w in self._waiters if w[0] > lsn]
                if lsn > self._durable:
                    self._lost = [*self._lost[-20:], (self._durable + 1, lsn)]
                self._durable = max(self._durable, lsn)  # nothing below waits any more
                self._failure = exc
            self._cond.notify_all()
        _resolve_all(failed, StoreFailed(str(exc)))

    # closing -------------------------------------------------------------------------------
    def close(self, timeout: float = 30.0) -> None:
        """Write what is pending, stop the thread, close the connections."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout)
        if self._checkpointer is not None:
            self._checkpointer.close()
        with contextlib.suppress(Exception):
            self._conn.close()


class _Checkpointer:
    """Copies the WAL into the database file, passively (it never blocks the writer), at most
    every ``EVERY_S`` seconds and only after commits: an idle emulator writes nothing.

    Under a write load that never pauses, a passive checkpoint never catches up with the
    writer, and SQLite starts the WAL over only once one has: the file would grow without end.
    So past ``WAL_LIMIT`` bytes a checkpoint waits for the writer (TRUNCATE: a pause of a few
    milliseconds for the commits behind it, once in a while) and empties the WAL."""

    EVERY_S = 1.0
    WAL_LIMIT = 32 << 20

    def __init__(self, path: str) -> None:
        self._wal = path + "-wal"
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="zoomlive-checkpoint", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._stop.is_set():
                return
            self._wake.clear()
            try:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                if _size(self._wal) > self.WAL_LIMIT:
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:  # the next one will try again; commits are unaffected
                log.warning("WAL checkpoint failed: %s", exc)
            if self._stop.wait(self.EVERY_S):  # at most this often; a close ends the pause
                return

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(5)
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # leave a tidy file
        self._conn.close()


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


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


def _call_soon(loop: asyncio.AbstractEventLoop, *args: Any) -> None:
    with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
        loop.call_soon_threadsafe(*args)


def _settle_future(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


def _resolve_all(
    waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]],
    error: BaseException | None,
) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for _, loop, future in waiters:
        by_loop.setdefault(loop, []).append(future)
    for loop, futures in by_loop.items():
        _call_soon(loop, _resolve, futures, error)


def _resolve(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        _settle_future(future, error)
