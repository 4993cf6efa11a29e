"""The memory store's journal: one thread writes committed changes to SQLite, many at a time.

Transactions hand in their statements with :meth:`Journal.submit` and get a sequence number
(LSN). The writer thread takes everything submitted since its last commit and writes it in one
SQLite transaction; with ``synchronous=FULL`` the commit returns once it is on disk, and only
then are the waiters of those LSNs released (group commit: one fsync covers every change that
arrived while the previous one ran, so durability costs a fraction of an fsync per change).

Reads of what only the database keeps (the stream event log, the webhook delivery log) are
jobs on the same thread, so they see every change submitted before them.

A failed commit (disk full, I/O error) fails the journal for good: every waiter and every later
submission gets :class:`StoreFailed`, so nothing is acknowledged that is not on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from zoomlive.emulator.store.base import StoreClosed, StoreFailed

log = logging.getLogger("zoomlive.store")

T = TypeVar("T")
Op = tuple[str, Sequence[Any]]
"""One SQL statement and its parameters."""


@dataclass
class _Job:
    """Something the writer must run after every write submitted before it."""

    run: Callable[[sqlite3.Connection], Any]
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


class Journal:
    """The writer thread and its SQLite connection (``sqlite3``: no ORM on this path)."""

    def __init__(self, connection: sqlite3.Connection, path: str | None = None) -> None:
        """``path``: the database file, for the checkpointer; None for ``:memory:``."""
        self._conn = connection
        self._cond = threading.Condition()
        self._pending: list[Op] = []
        self._jobs: list[_Job] = []
        self._submitted = 0
        self._durable = 0
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._failure: BaseException | None = None
        self._closing = False
        self.commits = 0
        """How many database transactions the writer has committed (for tests and benches)."""
        self._thread = threading.Thread(target=self._run, name="zoomlive-journal", daemon=True)
        self._checkpointer: _Checkpointer | None = None
        if path is not None:
            # SQLite would checkpoint the WAL inside whichever commit crosses 1000 pages: that
            # commit, and every answer waiting on it, would wait for the database file's fsync
            # too (a 40 ms tail under load). A thread of its own does it instead, off the path.
            connection.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = _Checkpointer(path)
        self._thread.start()

    # submitting ----------------------------------------------------------------------------
    @property
    def submitted(self) -> int:
        """The LSN of the last change handed in."""
        return self._submitted

    def submit(self, ops: list[Op]) -> int:
        """Queue one transaction's statements; its LSN. Never blocks on the disk."""
        with self._cond:
            self._check()
            self._pending.extend(ops)
            self._submitted += 1
            self._cond.notify()
            return self._submitted

    def wait(self, lsn: int, timeout: float | None = None) -> None:
        """Block until ``lsn`` is on disk (worker threads, not the event loop)."""
        with self._cond:
            ready = self._cond.wait_for(
                lambda: self._durable >= lsn or self._failure is not None, timeout
            )
            if self._failure is not None:
                raise StoreFailed(str(self._failure)) from self._failure
            if not ready:
                raise TimeoutError(f"the journal did not commit LSN {lsn} in time")

    def durable(self, lsn: int) -> asyncio.Future[None] | None:
        """None if ``lsn`` is on disk already; else a future of the running loop that resolves
        once it is (or fails with :class:`StoreFailed`)."""
        if self._durable >= lsn:
            return None
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            if self._failure is not None:
                future.set_exception(StoreFailed(str(self._failure)))
            elif self._durable >= lsn:
                return None
            else:
                self._waiters.append((lsn, loop, future))
        return future

    def run(self, job: Callable[[sqlite3.Connection], T], timeout: float = 60.0) -> T:
        """Run ``job`` on the writer's connection after every change submitted so far (reads
        of the logs that only the database keeps). Blocking."""
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
        if self._failure is not None:
            raise StoreFailed(str(self._failure)) from self._failure
        if self._closing:
            raise StoreClosed("the store is closed")

    # the writer ----------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._jobs and not self._closing:
                    self._cond.wait()
                if not self._pending and not self._jobs and self._closing:
                    return
                ops, self._pending = self._pending, []
                jobs, self._jobs = self._jobs, []
                lsn = self._submitted
            if ops and self._failure is None:
                try:
                    self._write(ops)
                except BaseException as exc:  # the disk said no: nothing more is acknowledged
                    log.critical("the store could not write to disk; restart it: %s", exc)
                    self._fail(exc)
                else:
                    self._release(lsn)
            elif not ops:
                self._release(lsn)
            for job in jobs:
                try:
                    job.result = job.run(self._conn)
                except BaseException as exc:
                    job.error = exc
                job.done.set()

    def _write(self, ops: list[Op]) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in ops:
                conn.execute(sql, params)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self.commits += 1
        if self._checkpointer is not None:
            self._checkpointer.poke()

    def _release(self, lsn: int) -> None:
        with self._cond:
            self._durable = max(self._durable, lsn)
            ready = [w for w in self._waiters if w[0] <= lsn]
            self._waiters = [w for w in self._waiters if w[0] > lsn]
            self._cond.notify_all()
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for _, loop, future in ready:
            by_loop.setdefault(loop, []).append(future)
        for loop, futures in by_loop.items():
            _call_soon(loop, _resolve, futures, None)

    def _fail(self, exc: BaseException) -> None:
        with self._cond:
            self._failure = exc
            waiters, self._waiters = self._waiters, []
            self._cond.notify_all()
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for _, loop, future in waiters:
            by_loop.setdefault(loop, []).append(future)
        for loop, futures in by_loop.items():
            _call_soon(loop, _resolve, futures, StoreFailed(str(exc)))

    # closing -------------------------------------------------------------------------------
    def close(self, timeout: float = 30.0) -> None:
        """Write what is pending, stop the thread, close the connection."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout)
        if self._checkpointer is not None:
            self._checkpointer.close()
        self._conn.close()


class _Checkpointer:
    """Copies the WAL into the database file, passively (it never blocks the writer), at most
    every ``EVERY_S`` seconds and only after commits: an idle emulator writes nothing."""

    EVERY_S = 1.0

    def __init__(self, path: str) -> None:
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


def _call_soon(loop: asyncio.AbstractEventLoop, *args: Any) -> None:
    with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
        loop.call_soon_threadsafe(*args)


def _resolve(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
