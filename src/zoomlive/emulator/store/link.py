"""The store's link to PostgreSQL besides its journal: one autocommit connection, opened again
when it breaks. The store reads its logs through it, and what the workers and hosts of one
database share besides Zoom's state (the clock, fault rules: ``shared.py``; media leases:
``media/leases.py``) goes through it too, so every connection of a process to the store's
database is the store's (the journal's, this one, and the event bus's ``LISTEN``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger("zoomlive.store")
T = TypeVar("T")


def postgres_url(db: str) -> str:
    """The libpq form of a store URL (``postgresql+psycopg://`` -> ``postgresql://``)."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if db.startswith(prefix):
            return "postgresql://" + db.removeprefix(prefix)
    return db


class Link:
    """One autocommit connection to the store's PostgreSQL, used one call at a time (locked),
    and opened again when it breaks (PostgreSQL restarted, a failover, a cut connection).

    ``run(work)`` hands ``work`` the connection. When the link turns out to be broken, an
    ``idempotent`` call is run once more on a fresh connection; any other call fails (the caller
    answers a 500) and the next one reconnects, since its statement may have taken effect."""

    def __init__(self, url: str) -> None:
        self._url = postgres_url(url)
        self._lock = threading.Lock()
        self._conn: Any = self._open()

    def _open(self) -> Any:
        import psycopg

        return psycopg.connect(self._url, autocommit=True, connect_timeout=5)

    def run(self, work: Callable[[Any], T], *, idempotent: bool = False) -> T:
        import psycopg

        with self._lock:
            for attempt in (1, 2):
                if self._conn is None or self._conn.closed or self._conn.broken:
                    self._conn = None
                    self._conn = self._open()
                try:
                    return work(self._conn)
                except psycopg.OperationalError:
                    if not (self._conn.closed or self._conn.broken):
                        raise  # the statement failed, not the link
                    if attempt == 2 or not idempotent:
                        raise
                    log.warning("store connection lost; reconnecting")
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
