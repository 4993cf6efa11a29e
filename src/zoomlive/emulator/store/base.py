"""The store's errors and its change type (the store itself is
:class:`~zoomlive.emulator.store.core.Store`, its one transaction
:class:`~zoomlive.emulator.store.tx.Tx`)."""

from __future__ import annotations

from typing import Any, Protocol

Op = tuple[str, str, Any]
"""A change for the database: ``("put", table, record)`` (insert or replace by key),
``("del", table, key)``, ``("add", table, {column: value})`` (a log row), ``("clear", table,
None)``."""


class StoreClosed(RuntimeError):
    """The store was closed: no transaction may start any more."""


class StoreFailed(RuntimeError):
    """The store could not make a change durable (SQLite: disk full, I/O error, and it answers
    nothing more until the emulator is restarted; PostgreSQL: the database went away, and the
    next transaction reconnects), so that no change is acknowledged that is not durable."""


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
    """A record changed between read and write (its version moved on)."""


class IntegrityError(Exception):
    """A change the database's constraints refuse (a unique key taken, a missing parent, a
    value outside a CHECK): refused before it is applied, so the journal never meets it."""


class Ticket(Protocol):
    """A write transaction's place in a PostgreSQL write round: ``done()`` once the transaction
    has ended (the round commits when every ticket it gave is done)."""

    def done(self) -> None: ...
