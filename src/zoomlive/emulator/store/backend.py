"""What differs between the databases under the store: how to connect, how a value is held
(the codecs), and the statements that write a transaction's :data:`~.tx.Op` list. Everything is
derived from the one declaration in :mod:`.schema`; no rule and no ordering lives here.

* :class:`SqliteBackend`: a file (WAL, ``synchronous=FULL``) or ``:memory:``, one process.
* :class:`PostgresBackend`: one database shared by workers and hosts, with the change log
  (``zoomlive_changes``) that keeps their in-memory copies in step.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from zoomlive.emulator.store.base import Op
from zoomlive.emulator.store.records import StreamEvent, WebhookAttempt, WebhookDelivery
from zoomlive.emulator.store.schema import ENTITIES, Entity, metadata
from zoomlive.emulator.store.state import State

HEAD_REVISION = "0013"
"""The Alembic head that a new database is created at (a test keeps them together)."""
MIGRATION_LOCK = 0x7A6C6D69  # a PostgreSQL advisory lock key of our own ("zlmi")
WRITE_LOCK = 0x7A6C7772  # ("zlwr"): one writer at a time across every host of a database


# codecs ----------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return [part for part in text.split(" ") if part]


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _text_time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _time_of_text(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


def _naive_time(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


def _time_of_naive(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


def _int_flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _flag_of(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _same(value: Any) -> Any:
    return value


class Dialect:
    """How one database holds values, and its parameter mark."""

    def __init__(
        self,
        name: str,
        mark: str,
        time: tuple[Callable[[Any], Any], Callable[[Any], Any]],
        flag: tuple[Callable[[Any], Any], Callable[[Any], Any]],
    ) -> None:
        self.name = name
        self.mark = mark
        self.time_in, self.time_out = time
        codecs: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
            "plain": (_same, _same),
            "time": time,
            "flag": flag,
            "words": (" ".join, _words),
            "json": (_json, json.loads),
        }
        self._codecs = codecs
        self._encoders: dict[str, Callable[[Any], tuple[Any, ...]]] = {}
        self._decoders: dict[str, Callable[[Iterable[Any]], Any]] = {}
        self._sql: dict[tuple[str, str], str] = {}

    def sql(self, text: str) -> str:
        """A statement written with ``?`` marks, in this dialect."""
        return text if self.mark == "?" else text.replace("?", self.mark)

    def encoder(self, entity: Entity) -> Callable[[Any], tuple[Any, ...]]:
        """record -> row (in the table's column order)."""
        found = self._encoders.get(entity.name)
        if found is None:
            parts = [
                (column, self._codecs[codec][0])
                for column, codec in zip(entity.columns, entity.codecs, strict=True)
            ]

            def encode(record: Any) -> tuple[Any, ...]:
                return tuple(None if (v := getattr(record, c)) is None else f(v) for c, f in parts)

            found = self._encoders[entity.name] = encode
        return found

    def decoder(self, entity: Entity) -> Callable[[Iterable[Any]], Any]:
        """row -> record."""
        found = self._decoders.get(entity.name)
        if found is None:
            outs = [self._codecs[codec][1] for codec in entity.codecs]
            names = entity.columns
            fixed = entity.fixed
            record = entity.record

            def decode(row: Iterable[Any]) -> Any:
                values = {
                    n: None if v is None else f(v) for n, f, v in zip(names, outs, row, strict=True)
                }
                return record(**values, **fixed)

            found = self._decoders[entity.name] = decode
        return found

    def statement(self, what: str, table: str, columns: tuple[str, ...] = ()) -> str:
        """The statement of an op: ``put`` (upsert by key), ``del`` (by key), ``add`` (a log
        row with these columns), ``clear``."""
        cache_key = (what, table + ":" + ",".join(columns))
        found = self._sql.get(cache_key)
        if found is not None:
            return found
        if what == "put":
            entity = ENTITIES[table]
            cols = ", ".join(f'"{c}"' for c in entity.columns)
            marks = ", ".join([self.mark] * len(entity.columns))
            keys = ", ".join(f'"{c}"' for c in entity.key)
            sets = ", ".join(
                f'"{c}" = excluded."{c}"' for c in entity.columns if c not in entity.key
            )
            found = (
                f"INSERT INTO {table} ({cols}) VALUES ({marks}) "
                f"ON CONFLICT ({keys}) DO UPDATE SET {sets}"
            )
        elif what == "del":
            entity = ENTITIES[table]
            found = f"DELETE FROM {table} WHERE " + " AND ".join(
                f'"{c}" = {self.mark}' for c in entity.key
            )
        elif what == "add":
            cols = ", ".join(f'"{c}"' for c in columns)
            found = f"INSERT INTO {table} ({cols}) VALUES ({', '.join([self.mark] * len(columns))})"
        elif what == "clear":
            found = f"DELETE FROM {table}"
        else:  # pragma: no cover
            raise ValueError(what)
        self._sql[cache_key] = found
        return found

    def params(self, what: str, table: str, data: Any) -> tuple[str, tuple[Any, ...]]:
        """An op as (statement, parameters)."""
        if what == "put":
            return self.statement(what, table), self.encoder(ENTITIES[table])(data)
        if what == "del":
            key = data if isinstance(data, tuple) else (data,)
            return self.statement(what, table), key
        if what == "add":
            columns = tuple(data)
            values = tuple(self.time_in(v) if isinstance(v, datetime) else v for v in data.values())
            return self.statement(what, table, columns), values
        return self.statement(what, table), ()


SQLITE = Dialect("sqlite", "?", (_text_time, _time_of_text), (_int_flag, _flag_of))
POSTGRES = Dialect("postgresql", "%s", (_naive_time, _time_of_naive), (_same, _flag_of))


def statements(dialect: Dialect, ops: list[Op]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Ops as statements, consecutive equal statements grouped (for ``executemany``)."""
    out: list[tuple[str, list[tuple[Any, ...]]]] = []
    for what, table, data in ops:
        sql, params = dialect.params(what, table, data)
        if out and out[-1][0] == sql:
            out[-1][1].append(params)
        else:
            out.append((sql, [params]))
    return out


def replicated(ops: list[Op]) -> str:
    """The ops other hosts apply to their copies (entities only; logs live in the database),
    as JSON in SQLite's value forms."""
    body: list[Any] = []
    for what, table, data in ops:
        if table not in ENTITIES and what != "clear":
            continue
        if what == "put":
            body.append(["put", table, SQLITE.encoder(ENTITIES[table])(data)])
        elif what == "del":
            body.append(["del", table, list(data) if isinstance(data, tuple) else data])
        elif what == "clear" and table in ENTITIES:
            body.append(["clear", table, None])
    return json.dumps(body, separators=(",", ":"))


def apply_replicated(state: State, body: str) -> None:
    """Apply another host's commit to this host's copy."""
    for what, table, data in json.loads(body):
        entity = ENTITIES[table]
        if what == "put":
            state.put(entity, SQLITE.decoder(entity)(data))
        elif what == "del":
            state.remove(entity, tuple(data) if isinstance(data, list) else data)
        else:
            state.clear_table(table)


# loading ---------------------------------------------------------------------------------------


def load_state(dialect: Dialect, rows: Callable[[str], Iterable[Iterable[Any]]]) -> State:
    """Every entity's rows into a new :class:`State` (``rows(sql)`` runs a query)."""
    state = State()
    for entity in ENTITIES.values():
        cols = ", ".join(f'"{c}"' for c in entity.columns)
        sql = f"SELECT {cols} FROM {entity.name}"
        if entity.name == "webhook_deliveries":
            sql += " WHERE status = 'pending'"
        decode = dialect.decoder(entity)
        for row in rows(sql):
            state.put(entity, decode(row))
    for (top,) in rows("SELECT MAX(id) FROM webhook_deliveries"):
        state.next_delivery_id = (int(top) if top is not None else 0) + 1
    return state


# the logs, read by query -----------------------------------------------------------------------

EVENT_COLUMNS = "id, kind, owner_id, from_state, to_state, at, detail"


def stream_events_query(
    kind: str | None, owner_id: int | None, after: int, limit: int | None
) -> tuple[str, list[Any]]:
    where = ["id > ?"]
    params: list[Any] = [after]
    if kind is not None:
        where.append("kind = ?")
        params.append(kind)
    if owner_id is not None:
        where.append("owner_id = ?")
        params.append(owner_id)
    sql = f"SELECT {EVENT_COLUMNS} FROM livestream_events WHERE {' AND '.join(where)} ORDER BY id"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, params


def stream_event(dialect: Dialect, r: Any) -> StreamEvent:
    return StreamEvent(r[1], int(r[2]), r[3], r[4], dialect.time_out(r[5]), r[6], id=int(r[0]))


def read_deliveries(
    dialect: Dialect,
    query: Callable[[str, list[Any]], list[Any]],
    limit: int,
    before: int | None,
) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    decode = dialect.decoder(ENTITIES["webhook_deliveries"])
    cols = ", ".join(ENTITIES["webhook_deliveries"].columns)
    where, params = ("WHERE id < ? ", [before]) if before is not None else ("", [])
    rows = query(
        f"SELECT {cols} FROM webhook_deliveries {where}ORDER BY id DESC LIMIT {int(limit)}",
        params,
    )
    out = []
    for r in rows:
        attempts = [
            WebhookAttempt(dialect.time_out(a[0]), a[1], a[2], a[3], a[4] or "", a[5] or "")
            for a in query(
                "SELECT at, status_code, duration_ms, error, request_timestamp, signature "
                "FROM webhook_attempts WHERE delivery_id = ? ORDER BY id",
                [r[0]],
            )
        ]
        out.append((decode(r), attempts))
    return out


# opening ---------------------------------------------------------------------------------------


def sqlite_ddl() -> str:
    """The head schema for SQLite, derived from the declaration (plus Alembic's stamp)."""
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    dialect = sqlite.dialect()
    parts = []
    for table in metadata.sorted_tables:
        parts.append(str(CreateTable(table).compile(dialect=dialect)).strip() + ";")
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            parts.append(str(CreateIndex(index).compile(dialect=dialect)).strip() + ";")
    parts.append(
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
        "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));"
    )
    parts.append(f"INSERT INTO alembic_version (version_num) VALUES ('{HEAD_REVISION}');")
    return "\n".join(parts)


def revision_of(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # no such table: a new database
        return None
    return None if row is None else str(row[0])


def migrate(url: str, revision: str = "head") -> None:
    """Bring a database's schema up to ``revision`` with Alembic (rare: loaded lazily). On
    PostgreSQL, hosts that start together take turns: one migrates, the others find it done."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn, conn.begin():
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            else:
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            cfg = Config()
            location = resources.files("zoomlive.emulator.store") / "migrations"
            cfg.set_main_option("script_location", str(location))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def sqlalchemy_url(db: str) -> str:
    """``:memory:``, a file path, or a database URL -> an SQLAlchemy URL (psycopg 3)."""
    if db == ":memory:":
        return "sqlite://"
    if "://" in db:
        for prefix in ("postgres://", "postgresql://"):
            if db.startswith(prefix):
                return "postgresql+psycopg://" + db.removeprefix(prefix)
        return db
    return f"sqlite:///{db}"


def sqlite_path(db: str) -> str | None:
    """The file of an SQLite store (None for ``:memory:``)."""
    if db in (":memory:", "", "sqlite://", "sqlite:///:memory:"):
        return None
    if db.startswith("sqlite:///"):
        return db.removeprefix("sqlite:///")
    return db


def open_sqlite(path: str | None) -> sqlite3.Connection:
    """A connection to a migrated SQLite database (new: the head schema; older: migrated)."""
    if path is None:
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        conn.executescript(_memory_schema())
    else:
        if os.path.exists(path):
            probe = sqlite3.connect(path, timeout=30)
            try:
                revision = revision_of(probe)
            finally:
                probe.close()
            if revision not in (None, HEAD_REVISION):
                migrate(path)  # an older file
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        if revision_of(conn) is None:
            conn.executescript(_memory_schema())
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


_ddl_cache: list[str] = []


def _memory_schema() -> str:
    if not _ddl_cache:
        _ddl_cache.append(sqlite_ddl())
    return _ddl_cache[0]


__all__ = [
    "HEAD_REVISION",
    "POSTGRES",
    "SQLITE",
    "WRITE_LOCK",
    "Dialect",
    "apply_replicated",
    "load_state",
    "migrate",
    "open_sqlite",
    "replicated",
    "revision_of",
    "sqlalchemy_url",
    "sqlite_ddl",
    "sqlite_path",
    "statements",
]
