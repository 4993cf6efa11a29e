"""The stores: durability, migrations, constraints and a property-based round trip, on the
memory store (SQLite, one process) and on the SQL store (SQLAlchemy); the memory store's
journal, its schema, and files written by one store read by the other."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import given, settings
from hypothesis import strategies as st

from zoomlive.emulator.store import Account, Store, StoreFailed, User, Webinar, open_store
from zoomlive.emulator.store.memory import HEAD_REVISION, MemoryStore
from zoomlive.emulator.store.schema import metadata
from zoomlive.emulator.store.sql import SqlStore

STORES: dict[str, Callable[[str], Store]] = {"memory": MemoryStore, "sql": SqlStore}


@pytest.fixture(params=[*sorted(STORES), "postgres"])
def make_store(request: pytest.FixtureRequest) -> Iterator[Callable[[str], Store]]:
    """Opens stores of one kind; closes them after the test. ``postgres`` is the SQL store on a
    real PostgreSQL server (a private one, emptied for the test): the file name is ignored."""
    opened: list[Store] = []
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None

    def make(db: str) -> Store:
        store = SqlStore(url) if url is not None else STORES[request.param](db)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def seed_minimal(store: Store) -> None:
    with store.write() as tx:
        tx.insert_account(Account("a1", "A", "business", True, True, NOW))
        tx.insert_user(User("u1", "a1", "u1@example.com", "U", "One", 2, "UTC", NOW))


def test_migrations_build_the_declared_schema(tmp_path: Path) -> None:
    store = SqlStore(str(tmp_path / "m.db"))
    assert store.schema_revision() == "0006"
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_older_file_is_upgraded_with_its_data(tmp_path: Path) -> None:
    path = str(tmp_path / "old.db")
    old = SqlStore(path, migrate=False)
    old.migrate("0001")
    assert old.schema_revision() == "0001"
    seed_minimal(old)
    old.close()
    assert "daily_counters" not in {
        r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")
    }
    new = open_store(path)  # the memory store migrates it with Alembic before loading it
    assert isinstance(new, MemoryStore)
    assert new.schema_revision() == "0006"
    with new.read() as tx:
        assert tx.get_user("u1") is not None
    with new.write() as tx:
        assert tx.bump_counter("k", "2026-11-26") == 1
        assert tx.bump_counter("k", "2026-11-26") == 2
    new.close()


def test_committed_writes_survive_reopen_and_failed_ones_leave_nothing(
    tmp_path: Path, make_store: Callable[[str], Store]
) -> None:
    path = str(tmp_path / "d.db")
    store = make_store(path)
    seed_minimal(store)
    try:
        with store.write() as tx:
            tx.insert_account(Account("a2", "B", "pro", False, False, NOW))
            assert tx.get_account("a2") is not None  # a transaction reads its own writes
            raise RuntimeError("rule failed after the insert")
    except RuntimeError:
        pass
    with store.read() as tx:
        assert [a.id for a in tx.list_accounts()] == ["a1"]
    store.close()
    reopened = make_store(path)
    with reopened.read() as tx:
        assert [a.id for a in tx.list_accounts()] == ["a1"]


def test_database_constraints_hold(tmp_path: Path, make_store: Callable[[str], Store]) -> None:
    store = make_store(str(tmp_path / "c.db"))
    seed_minimal(store)
    bad = Webinar(
        1,
        "u",
        "a1",
        "u1",
        "t",
        5,
        None,
        60,
        "UTC",
        "",
        "",
        {},
        "flying",  # type: ignore[arg-type]
        NOW,
        NOW,
    )
    try:
        with store.write() as tx:
            tx.insert_session(bad)
    except Exception as exc:
        message = str(exc).lower()
        assert "check constraint failed" in message or "violates check constraint" in message
    else:
        raise AssertionError("a webinar status outside the state machine was stored")
    with store.read() as tx:  # and the store still works
        assert tx.get_session("webinar", 1) is None
    with store.write() as tx:
        tx.insert_account(Account("a3", "C", "pro", True, True, NOW))


text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=60)
moments = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))


@settings(max_examples=60, deadline=None)
@given(
    webinar_id=st.integers(min_value=1, max_value=2**63 - 1),
    topic=text.map(lambda t: t[:200]),
    agenda=text,
    start=st.none() | moments,
    duration=st.integers(min_value=0, max_value=100_000),
    status=st.sampled_from(["waiting", "started", "ended"]),
    settings_doc=st.dictionaries(
        st.sampled_from(["host_video", "audio", "x"]),
        st.booleans() | text | st.integers(-5, 5),
        max_size=3,
    ),
)
@pytest.mark.parametrize("kind", sorted(STORES))
def test_webinar_round_trip(
    kind: str,
    webinar_id: int,
    topic: str,
    agenda: str,
    start: datetime | None,
    duration: int,
    status: str,
    settings_doc: dict[str, object],
) -> None:
    store = STORES[kind](":memory:")
    seed_minimal(store)
    webinar = Webinar(
        webinar_id,
        f"uuid-{webinar_id}",
        "a1",
        "u1",
        topic,
        5,
        start,
        duration,
        "UTC",
        agenda,
        "pw",
        settings_doc,
        status,
        NOW,
        NOW,
    )  # type: ignore[arg-type]
    with store.write() as tx:
        tx.insert_session(webinar)
    with store.read() as tx:
        assert tx.get_session("webinar", webinar_id) == webinar
        assert tx.get_session_by_uuid("webinar", f"uuid-{webinar_id}") == webinar
    store.close()


# the memory store ------------------------------------------------------------------------------


def test_the_memory_stores_schema_is_what_the_migrations_build(tmp_path: Path) -> None:
    migrated = tmp_path / "migrated.db"
    SqlStore(str(migrated)).close()
    fresh = tmp_path / "fresh.db"
    MemoryStore(str(fresh)).close()

    def ddl(path: Path) -> list[tuple[str, str]]:
        conn = sqlite3.connect(path)
        rows = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"
        ).fetchall()
        version = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        conn.close()
        return [(name, " ".join(sql.split())) for name, sql in rows] + [("version", str(version))]

    assert ddl(fresh) == ddl(migrated)
    assert SqlStore(":memory:").schema_revision() == HEAD_REVISION


def test_each_store_reads_what_the_other_wrote(tmp_path: Path) -> None:
    path = str(tmp_path / "both.db")
    first = MemoryStore(path)
    seed_minimal(first)
    webinar = Webinar(
        7, "u7", "a1", "u1", "T", 5, NOW, 60, "UTC", "", "", {"x": 1}, "started", NOW, NOW
    )
    with first.write() as tx:
        tx.insert_session(webinar)
        assert tx.bump_counter("k", "d") == 1
    first.close()
    second = SqlStore(path)
    with second.read() as tx:
        assert tx.get_session("webinar", 7) == webinar
        assert tx.get_user_and_account("u1") is not None
    with second.write() as tx:
        assert tx.bump_counter("k", "d") == 2
        tx.insert_account(Account("a9", "Z", "free", False, False, NOW))
    second.close()
    third = MemoryStore(path)
    with third.read() as tx:
        assert tx.get_counter("k", "d") == 2
        assert [a.id for a in tx.list_accounts()] == ["a1", "a9"]
    third.close()


def test_the_journal_commits_concurrent_changes_together(tmp_path: Path) -> None:
    """Group commit: changes that arrive while a commit runs share the next one, and every
    writer returns only once its change is on disk (reopening the file shows them all)."""
    path = str(tmp_path / "group.db")
    store = MemoryStore(path)
    seed_minimal(store)
    before = store.journal.commits
    start = threading.Barrier(16)

    def writer(n: int) -> None:
        start.wait()
        for i in range(20):
            with store.write() as tx:
                tx.bump_counter(f"w{n}", str(i))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    commits = store.journal.commits - before
    store.close()
    assert commits < 16 * 20  # some commits carried several changes
    again = MemoryStore(path)
    with again.read() as tx:
        assert len(tx.list_counters()) == 16 * 20
    again.close()


def test_a_store_that_cannot_write_acknowledges_nothing_more(tmp_path: Path) -> None:
    store = MemoryStore(str(tmp_path / "broken.db"))
    seed_minimal(store)
    # The disk goes away under the journal (simulated: its connection stops working).
    store.journal._conn.close()
    with pytest.raises(StoreFailed), store.write() as tx:
        tx.insert_account(Account("lost", "L", "pro", True, True, NOW))
    with pytest.raises(StoreFailed), store.write() as tx:
        tx.insert_account(Account("later", "L", "pro", True, True, NOW))
    store.close()
