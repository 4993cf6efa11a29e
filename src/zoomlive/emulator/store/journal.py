"""The journal: one thread per store makes committed changes durable, many at a time.

Transactions hand in their ops with :meth:`Journal.submit` and get a sequence number (LSN). The
writer thread takes everything submitted since its last commit and writes it in one database
transaction; the waiters of those LSNs are released only once the commit returns (group commit:
one fsync covers every change that arrived while the previous one ran).

:class:`SqliteJournal` (one process): transactions run whenever they like, the writer commits
behind them. A failed commit (disk full, I/O error) fails the journal for good: nothing is
acknowledged that is not on disk. Reads of the logs are jobs on the writer's connection, after
every change submitted before them. The PostgreSQL journal, whose rounds keep several hosts in
step, is :class:`~zoomlive.emulator.store.rounds.PostgresJournal`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from zoomlive.emulator.store.backend import (
    SQLITE,
    Dialect,
    read_deliveries,
    statements,
    stream_event,
    stream_events_query,
)
from zoomlive.emulator.store.base import Op, StoreClosed, StoreFailed, Ticket
from zoomlive.emulator.store.records import StreamEvent, WebhookAttempt, WebhookDelivery

log = logging.getLogger("zoomlive.store")

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


class Journal:
    """What every journal does: take ops, give LSNs, tell who waits when they are durable, run
    jobs after the writes before them, keep the logs bounded, close. A subclass writes."""

    shared = False
    """Several processes share the database (PostgreSQL)."""

    def __init__(
        self, connect: Callable[[], Any], dialect: Dialect, history: History | None = None
    ) -> None:
        self.dialect = dialect
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
        """LSN ranges of failed rounds (PostgreSQL): never durable, their waiters fail."""
        self._closing = False
        self.commits = 0
        """How many database transactions the writer has committed (for tests and benches)."""
        self._added = 0
        self._last_prune = time.monotonic()
        self.seq = 0
        self._thread = threading.Thread(target=self._run, name="zoomlive-journal", daemon=True)

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

    async def enter(self, write: bool) -> Ticket | None:
        """Wait (event loop) until this host's state is fresh; a write's ticket. SQLite: at
        once, nothing to wait for."""
        return None

    def enter_blocking(self, write: bool, timeout: float = 60.0) -> Ticket | None:
        """:meth:`enter` for worker threads."""
        return None

    # the writer ----------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._jobs and not self._waiting():
                    if self._closing:
                        return
                    self._cond.wait()
            self._round()

    def _waiting(self) -> bool:
        """Transactions wait for a round (PostgreSQL)."""
        return False

    def _round(self) -> None:
        raise NotImplementedError

    def _run_jobs(self, jobs: list[_Job]) -> None:
        for job in jobs:
            try:
                job.result = job.run(self._conn)
            except BaseException as exc:
                job.error = exc
            job.done.set()

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
        return read_deliveries(self.dialect, self.query, limit, before)

    def query(self, sql: str, params: list[Any]) -> list[Any]:
        """A read of committed rows (written with ``?`` marks)."""
        raise NotImplementedError

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

    def close(self, timeout: float = 30.0) -> None:
        """Write what is pending, stop the thread, close the connection."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout)
        with contextlib.suppress(Exception):
            self._conn.close()


class SqliteJournal(Journal):
    """SQLite: group commit behind transactions that run whenever they like."""

    def __init__(
        self, connect: Callable[[], Any], *, path: str | None, history: History | None = None
    ) -> None:
        """``path``: the database file (None for ``:memory:``)."""
        super().__init__(connect, SQLITE, history)
        self._checkpointer: _Checkpointer | None = None
        if path is not None:
            # SQLite would checkpoint the WAL inside whichever commit crosses 1000 pages: that
            # commit, and every answer waiting on it, would wait for the database file's fsync
            # too (a 40 ms tail under load). A thread of its own does it instead, off the path.
            self._conn.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = _Checkpointer(path)
        self._thread.start()

    def _round(self) -> None:
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

    def query(self, sql: str, params: list[Any]) -> list[Any]:
        """On the writer's connection, after every submitted change."""
        return self.run(lambda conn: conn.execute(sql, params).fetchall())

    def deliveries(
        self, limit: int, before: int | None
    ) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
        return self.run(
            lambda conn: read_deliveries(
                SQLITE, lambda sql, p: conn.execute(sql, p).fetchall(), limit, before
            )
        )

    def close(self, timeout: float = 30.0) -> None:
        super().close(timeout)
        if self._checkpointer is not None:
            self._checkpointer.close()


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
