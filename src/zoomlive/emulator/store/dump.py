"""The store's state out and back in: every stored table as rows of JSON values, read at one
instant, and written back in one transaction (the format: docs/state.md).

Generic over the declaration in :mod:`.schema`: a table added there is exported and imported
with no code here, unless it is named in :data:`NOT_STATE` (what a process keeps for itself,
not Zoom's state). A value is written as the table stores it (a secret as its hash, a JSON
column as its text), with three JSON forms: a time is ISO 8601 in UTC, a flag is a boolean,
bytes are base64.

* :func:`read_tables`: SQLite, a job on the journal's writer connection (it runs after every
  change submitted before it, and nothing is written while it reads); PostgreSQL, one
  ``REPEATABLE READ`` transaction. Either way, one consistent instant, whatever is written
  meanwhile.
* :func:`check_tables`: every row against its table (types, lengths, NOT NULL, CHECKs, keys,
  unique columns, foreign keys) before anything changes, so a bad file changes nothing and the
  journal never meets a row the database refuses.
* :func:`replace_state`: inside one transaction, what was there is cleared and the file's rows
  put in its place (memory and database together; undone whole on failure).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, Integer, LargeBinary, Table
from sqlalchemy import String as SqlString
from sqlalchemy.sql.elements import False_, True_

from zoomlive.emulator.store.backend import POSTGRES, SQLITE, WRITE_LOCK, Dialect
from zoomlive.emulator.store.records import LiveStream, StreamEffect
from zoomlive.emulator.store.schema import _CHECK_IN, ENTITIES, metadata
from zoomlive.emulator.store.state import CLONE, State
from zoomlive.emulator.store.tx import Tx

NOT_STATE: dict[str, str] = {
    "zoomlive_changes": "PostgreSQL's change log between hosts (each host's own progress)",
    "stream_leases": "which media worker process pushes a stream (leases end with it)",
    "stream_reports": "a media worker's latest metrics and frame (made again as it streams)",
    "control_state": "the clock is exported on its own ('clock'); the feed's counter is not state",
    "fault_rules": "faults are a test's settings of the moment, as the rate limiter's counters",
    "snapshots": "named snapshots hold exports; an export does not hold them",
}
"""Tables an export leaves out, and why. Every other table of the declaration is exported."""

_clone_stream: Callable[[LiveStream], LiveStream] = CLONE["livestreams"]

Rows = dict[str, list[dict[str, Any]]]
"""table -> rows, each {column: JSON value}."""


class StateFileError(ValueError):
    """A state file that cannot be imported; the message is one line saying where and why."""


def state_tables() -> list[Table]:
    """The exported tables, parents before children."""
    return [t for t in metadata.sorted_tables if t.name not in NOT_STATE]


# values ----------------------------------------------------------------------------------------


def _to_json(dialect: Dialect, column: Any, value: Any) -> Any:
    """A stored value (as the database hands it over) as JSON."""
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, DateTime):
        time: datetime = dialect.time_out(value)
        return time.astimezone(UTC).isoformat()
    if isinstance(kind, Boolean):
        return bool(value)
    if isinstance(kind, LargeBinary):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(kind, Integer):  # BigInteger too
        return int(value)
    return value


_INT_RANGE = {True: (-(2**63), 2**63 - 1), False: (-(2**31), 2**31 - 1)}


def _from_json(where: str, column: Any, value: Any) -> Any:
    """A JSON value checked against its column: the Python value to store."""
    if value is None:
        if not column.nullable:
            raise StateFileError(f"{where}: must not be null")
        return None
    kind = column.type
    if isinstance(kind, DateTime):
        if not isinstance(value, str):
            raise StateFileError(f"{where}: expected a time (ISO 8601)")
        try:
            time = datetime.fromisoformat(value)
        except ValueError:
            raise StateFileError(f"{where}: expected a time (ISO 8601)") from None
        if time.tzinfo is None:
            raise StateFileError(f"{where}: a time needs its offset (UTC: +00:00)")
        return time.astimezone(UTC)
    if isinstance(kind, Boolean):
        if not isinstance(value, bool):
            raise StateFileError(f"{where}: expected true or false")
        return value
    if isinstance(kind, LargeBinary):
        if not isinstance(value, str):
            raise StateFileError(f"{where}: expected base64 text")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise StateFileError(f"{where}: expected base64 text") from None
    if isinstance(kind, Integer):
        low, high = _INT_RANGE[isinstance(kind, BigInteger)]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise StateFileError(f"{where}: expected an integer")
        return value
    if isinstance(kind, SqlString):  # Text too
        if not isinstance(value, str) or "\x00" in value:
            raise StateFileError(f"{where}: expected text")
        if kind.length is not None and len(value) > kind.length:
            raise StateFileError(f"{where}: longer than {kind.length} characters")
        return value
    raise StateFileError(f"{where}: a column this version cannot read")  # pragma: no cover


def _default(where: str, column: Any) -> Any:
    """The value of a column a file leaves out (written by an older version): its default."""
    default = column.server_default
    if default is not None:
        arg = default.arg
        if isinstance(arg, True_ | False_):
            return isinstance(arg, True_)
        if isinstance(arg, str):
            return int(arg) if isinstance(column.type, Integer) else arg
    if column.nullable:
        return None
    raise StateFileError(f"{where}: missing")


# reading ---------------------------------------------------------------------------------------


def _read_all(dialect: Dialect, query: Callable[[str], list[Any]]) -> Rows:
    out: Rows = {}
    for table in state_tables():
        columns = list(table.columns)
        names = ", ".join(f'"{c.name}"' for c in columns)
        order = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
        rows = query(f"SELECT {names} FROM {table.name} ORDER BY {order}")
        out[table.name] = [
            {c.name: _to_json(dialect, c, v) for c, v in zip(columns, row, strict=True)}
            for row in rows
        ]
    return out


def read_tables(store: Any) -> Rows:
    """Every exported table's rows, at one instant (see the module's notes)."""
    if store.is_sqlite:

        def job(conn: Any) -> Rows:
            conn.execute("BEGIN")
            try:
                return _read_all(SQLITE, lambda sql: conn.execute(sql).fetchall())
            finally:
                conn.execute("COMMIT")

        rows: Rows = store.journal.run(job)
        return rows

    def snapshot(conn: Any) -> Rows:
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return _read_all(POSTGRES, lambda sql: conn.execute(sql).fetchall())

    assert store.link is not None
    found: Rows = store.link.run(snapshot, idempotent=True)
    return found


# checking --------------------------------------------------------------------------------------


def _checks(table: Table) -> list[tuple[str, frozenset[str]]]:
    out = []
    for constraint in table.constraints:
        if isinstance(constraint, CheckConstraint):
            found = _CHECK_IN.match(str(constraint.sqltext))
            if found is not None:
                values = frozenset(re.findall(r"'([^']*)'", found.group(2)))
                out.append((found.group(1), values))
    return out


def check_tables(doc_tables: Any) -> dict[str, list[dict[str, Any]]]:
    """The file's ``tables`` checked against the declaration, as Python values by table (every
    exported table present, empty if the file has none). :class:`StateFileError` otherwise."""
    if not isinstance(doc_tables, dict):
        raise StateFileError("'tables' must be an object of table names")
    known = {t.name: t for t in state_tables()}
    unknown = sorted(set(doc_tables) - set(known))
    if unknown:
        raise StateFileError(
            f"unknown table {unknown[0]!r} (a file from a newer zoomlive, or not a state file)"
        )
    out: dict[str, list[dict[str, Any]]] = {}
    keys: dict[str, set[Any]] = {}
    for name, table in known.items():  # parents first: their keys are known for the children
        rows = doc_tables.get(name, [])
        if not isinstance(rows, list):
            raise StateFileError(f"tables.{name}: expected a list of rows")
        columns = {c.name: c for c in table.columns}
        primary = [c.name for c in table.primary_key.columns]
        uniques = [c.name for c in table.columns if c.unique]
        checks = _checks(table)
        parents = [
            (fk.parent.name, fk.column.table.name, fk.column.name) for fk in table.foreign_keys
        ]
        seen: set[Any] = set()
        seen_unique: dict[str, set[Any]] = {u: set() for u in uniques}
        values: list[dict[str, Any]] = []
        for i, row in enumerate(rows):
            where = f"tables.{name}[{i}]"
            if not isinstance(row, dict):
                raise StateFileError(f"{where}: expected an object of columns")
            extra = sorted(set(row) - set(columns))
            if extra:
                raise StateFileError(f"{where}.{extra[0]}: no such column")
            value = {
                c: _from_json(f"{where}.{c}", col, row[c])
                if c in row
                else _default(f"{where}.{c}", col)
                for c, col in columns.items()
            }
            key = tuple(value[c] for c in primary)
            if key in seen:
                raise StateFileError(f"{where}: the key {list(key)} appears twice")
            seen.add(key)
            for u in uniques:
                if value[u] in seen_unique[u]:
                    raise StateFileError(f"{where}.{u}: the value appears twice")
                seen_unique[u].add(value[u])
            for column, allowed in checks:
                if value[column] not in allowed:
                    raise StateFileError(f"{where}.{column}: must be one of {sorted(allowed)}")
            for column, parent, _ in parents:
                target = value[column]
                if target is not None and (target,) not in keys.get(parent, set()):
                    raise StateFileError(f"{where}.{column}: no {parent} row {target!r}")
            values.append(value)
        out[name] = values
        # the keys children refer to (a one-column key, or the referenced unique column)
        keys[name] = seen | {(v,) for u in seen_unique.values() for v in u}
    return out


# writing ---------------------------------------------------------------------------------------


def _record(name: str, value: dict[str, Any]) -> Any:
    """A checked row as its entity's record (through the codecs SQLite's rows use)."""
    entity = ENTITIES[name]
    row = []
    for column, codec in zip(entity.columns, entity.codecs, strict=True):
        v = value[column]
        if v is not None and codec == "time":
            v = SQLITE.time_in(v)
        elif v is not None and codec == "flag":
            v = int(v)
        row.append(v)
    try:
        return SQLITE.decoder(entity)(row)
    except (ValueError, TypeError) as exc:  # a JSON column whose text is not JSON
        raise StateFileError(f"tables.{name}: a value this table cannot hold ({exc})") from None


def records_of(tables: dict[str, list[dict[str, Any]]]) -> dict[str, list[Any]]:
    """Checked rows as records for the tables held in memory (all converted before any change,
    so a bad value fails before the transaction starts)."""
    return {
        name: [_record(name, v) for v in rows] for name, rows in tables.items() if name in ENTITIES
    }


def replace_state(
    tx: Tx, tables: dict[str, list[dict[str, Any]]], records: dict[str, list[Any]]
) -> None:
    """Inside ``tx``: clear every exported table and put the checked rows in their place.
    Streams that were pushed are stopped; imported streams that are not stopped are pushed
    again (as after a restart)."""
    s = tx.s
    old_streams = [_clone_stream(x) for x in s.streams.values() if x.state != "stopped"]
    saved = State()
    saved.replace(s)
    tx._undo.append(lambda: s.replace(saved))
    s.clear()
    ordered = state_tables()
    for table in reversed(ordered):
        tx.ops.append(("clear", table.name, None))
    top_delivery = 0
    for table in ordered:
        name = table.name
        if name in ENTITIES:
            for record in records[name]:
                tx.insert(name, record)
            if name == "webhook_deliveries":
                top_delivery = max((r.id for r in records[name]), default=0)
        else:
            for value in tables[name]:
                tx._log(name, **value)
    s.next_delivery_id = top_delivery + 1
    for old in old_streams:
        # stopped for the media supervisor: this version of the stream, as the import left it
        old.state = "stopped"
        tx.effects.append(StreamEffect("stop", old.kind, old.owner_id, old))
    for new in records.get("livestreams", []):
        if new.state != "stopped":
            tx.effects.append(StreamEffect("start", new.kind, new.owner_id, _clone_stream(new)))


def sync_sequences(store: Any, tables: dict[str, list[dict[str, Any]]]) -> None:
    """PostgreSQL: the sequences of columns numbered by the database (the logs' ids) moved
    past the ids a file brings, so the next row numbered there does not take one of them.
    Under the write lock, between rounds (a sequence is not undone by a rollback, and a
    higher one only leaves a gap). SQLite numbers after the largest id by itself."""
    if store.is_sqlite:
        return
    serial: list[tuple[str, str, int]] = []
    for table in state_tables():
        for column in table.primary_key.columns:
            if column.autoincrement is True and isinstance(column.type, Integer):
                top = max((int(v[column.name]) for v in tables[table.name]), default=0)
                serial.append((table.name, column.name, top))
    if not serial:
        return

    def move(conn: Any) -> None:
        with conn.transaction():
            conn.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
            for name, column, top in serial:
                conn.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, %s), "
                    "GREATEST(nextval(pg_get_serial_sequence(%s, %s)), %s))",
                    (name, column, name, column, top),
                )

    assert store.link is not None
    store.link.run(move)


def dumps(doc: dict[str, Any]) -> str:
    """A document as the text of a state file (keys sorted, so two exports of one state are
    the same text)."""
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


# named snapshots (the ``snapshots`` table: not held in memory) --------------------------------


def _on_database(store: Any, work: Callable[[Any, Dialect], Any]) -> Any:
    """Run ``work(conn, dialect)`` where the store's own statements run: SQLite, a job on the
    writer's connection (after every change submitted before it); PostgreSQL, the link."""
    if store.is_sqlite:
        return store.journal.run(lambda conn: work(conn, SQLITE))
    assert store.link is not None
    return store.link.run(lambda conn: work(conn, POSTGRES))


def save_snapshot(store: Any, name: str, created_at: datetime, body: str, *, replace: bool) -> bool:
    """Keep ``body`` under ``name``; False if the name is taken and ``replace`` is not set."""

    def save(conn: Any, dialect: Dialect) -> bool:
        sql = dialect.sql
        taken = conn.execute(sql("SELECT 1 FROM snapshots WHERE name = ?"), (name,)).fetchall()
        if taken and not replace:
            return False
        conn.execute(
            sql(
                "INSERT INTO snapshots (name, created_at, body) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET created_at = excluded.created_at, "
                "body = excluded.body"
            ),
            (name, dialect.time_in(created_at), body),
        )
        return True

    saved: bool = _on_database(store, save)
    return saved


def list_snapshots(store: Any) -> list[dict[str, Any]]:
    """Each snapshot's name, time and size, oldest first."""

    def read(conn: Any, dialect: Dialect) -> list[dict[str, Any]]:
        rows = conn.execute(
            "SELECT name, created_at, LENGTH(body) FROM snapshots ORDER BY created_at, name"
        ).fetchall()
        return [
            {
                "name": name,
                "created_at": dialect.time_out(at).astimezone(UTC).isoformat(),
                "size": int(size),
            }
            for name, at, size in rows
        ]

    found: list[dict[str, Any]] = _on_database(store, read)
    return found


def load_snapshot(store: Any, name: str) -> str | None:
    def read(conn: Any, dialect: Dialect) -> str | None:
        rows = conn.execute(dialect.sql("SELECT body FROM snapshots WHERE name = ?"), (name,))
        found = rows.fetchall()
        return str(found[0][0]) if found else None

    body: str | None = _on_database(store, read)
    return body


def delete_snapshot(store: Any, name: str) -> bool:
    def delete(conn: Any, dialect: Dialect) -> bool:
        done = conn.execute(dialect.sql("DELETE FROM snapshots WHERE name = ?"), (name,))
        return bool(done.rowcount)

    deleted: bool = _on_database(store, delete)
    return deleted
