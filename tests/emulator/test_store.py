"""The store: one transaction layer over SQLite (a file, ``:memory:``) and PostgreSQL. The same
tests run on every backend (durability, constraints, a property-based round trip); then what is
particular to each: migrations and the derived schema, SQLite's group commit and failure,
PostgreSQL's hosts kept in step, and the bounded logs."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, insert

from zoomlive.emulator.store import (
    Account,
    History,
    IntegrityError,
    LiveStream,
    Store,
    StoreFailed,
    User,
    Webinar,
    open_store,
)
from zoomlive.emulator.store.backend import HEAD_REVISION, migrate
from zoomlive.emulator.store.schema import ENTITIES, accounts, metadata, users

BACKENDS = ["sqlite", "memory", "postgres"]


@pytest.fixture(params=BACKENDS)
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens stores on one backend (each call: the same database again); closes them after
    the test. ``postgres`` is a real PostgreSQL server (a private one, emptied for the test);
    ``memory`` keeps nothing across opens."""
    opened: list[Store] = []
    db = {
        "sqlite": str(tmp_path / "d.db"),
        "memory": ":memory:",
        "postgres": request.getfixturevalue("pg_url") if request.param == "postgres" else "",
    }[request.param]

    def make() -> Store:
        store = open_store(db)
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


def webinar(webinar_id: int = 7, **changes: object) -> Webinar:
    w = Webinar(
        webinar_id, f"u{webinar_id}", "a1", "u1", "T", 5, NOW, 60, "UTC", "", "", {"x": 1},
        "started", NOW, NOW,
    )  # fmt: skip
    return replace(w, **changes)  # type: ignore[arg-type]


# every backend ---------------------------------------------------------------------------------


def test_committed_writes_survive_reopen_and_failed_ones_leave_nothing(
    make_store: Callable[[], Store], request: pytest.FixtureRequest
) -> None:
    store = make_store()
    seed_minimal(store)
    with pytest.raises(RuntimeError), store.write() as tx:
        tx.insert_account(Account("a2", "B", "pro", False, False, NOW))
        assert tx.get_account("a2") is not None  # a transaction reads its own writes
        raise RuntimeError("rule failed after the insert")
    with store.read() as tx:
        assert [a.id for a in tx.list_accounts()] == ["a1"]
    with store.write() as tx:
        tx.insert_session(webinar())
        assert tx.bump_counter("k", "d") == 1
    store.close()
    if "memory" in request.node.name:
        return  # nothing to reopen
    reopened = make_store()
    with reopened.read() as tx:
        assert [a.id for a in tx.list_accounts()] == ["a1"]
        assert tx.get_session("webinar", 7) == webinar()
        assert tx.get_counter("k", "d") == 1


def test_database_constraints_hold_before_anything_changes(
    make_store: Callable[[], Store],
) -> None:
    store = make_store()
    seed_minimal(store)
    refusals: list[Callable[[], object]] = []
    with store.read() as tx:
        pass
    cases = [
        lambda tx: tx.insert_session(webinar(status="flying")),  # CHECK
        lambda tx: tx.insert_session(webinar(host_id="nobody")),  # FOREIGN KEY
        lambda tx: tx.insert_user(User("u2", "a1", "u1@example.com", "", "", 1, "UTC", NOW)),
        lambda tx: tx.insert_account(Account("a1", "A", "business", True, True, NOW)),
        lambda tx: tx.insert_account(Account("a5", "A", "gold", True, True, NOW)),  # type: ignore[arg-type]
    ]
    for case in cases:
        with pytest.raises(IntegrityError), store.write() as tx:
            tx.insert_session(webinar(99))  # a change before the refusal is undone with it
            case(tx)
        refusals.append(case)
    with store.read() as tx:
        assert tx.get_session("webinar", 99) is None
        assert tx.get_session("webinar", 7) is None
        assert [u.id for u in tx.list_users()] == ["u1"]
    with store.write() as tx:  # and the store still works
        tx.insert_account(Account("a3", "C", "pro", True, True, NOW))
    assert len(refusals) == len(cases)


def test_lists_have_one_order_on_every_backend(make_store: Callable[[], Store]) -> None:
    """Sessions without a start time first, then by start time, then by id."""
    store = make_store()
    seed_minimal(store)
    later = datetime(2027, 1, 1, tzinfo=UTC)
    with store.write() as tx:
        tx.insert_session(webinar(5, start_time=later))
        tx.insert_session(webinar(3, start_time=None))
        tx.insert_session(webinar(4, start_time=NOW))
        tx.insert_session(webinar(2, start_time=NOW))
    with store.read() as tx:
        rows, total = tx.list_sessions("webinar", offset=1, limit=2)
    assert total == 4 and [w.id for w in rows] == [2, 4]


text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=60)
moments = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))


@settings(max_examples=40, deadline=None)
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
def test_webinar_round_trip_through_the_database(
    tmp_path_factory: pytest.TempPathFactory,
    webinar_id: int,
    topic: str,
    agenda: str,
    start: datetime | None,
    duration: int,
    status: str,
    settings_doc: dict[str, object],
) -> None:
    """What is written is what is read back, after a reopen (so through the codecs)."""
    path = str(tmp_path_factory.mktemp("rt") / "rt.db")
    store = open_store(path)
    seed_minimal(store)
    w = webinar(
        webinar_id, uuid=f"uuid-{webinar_id}", topic=topic, agenda=agenda, start_time=start,
        duration=duration, status=status, settings=settings_doc,
    )  # fmt: skip
    with store.write() as tx:
        tx.insert_session(w)
    store.close()
    again = open_store(path)
    with again.read() as tx:
        assert tx.get_session("webinar", webinar_id) == w
        assert tx.get_session_by_uuid("webinar", f"uuid-{webinar_id}") == w
    again.close()


# schema and migrations -------------------------------------------------------------------------


def _diff(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), metadata))
    finally:
        engine.dispose()


def test_the_migrations_and_the_derived_schema_both_build_the_declaration(
    tmp_path: Path,
) -> None:
    migrated = tmp_path / "migrated.db"
    migrate(str(migrated))
    assert _diff(f"sqlite:///{migrated}") == []
    fresh = tmp_path / "fresh.db"
    store = open_store(str(fresh))  # a new file: the schema derived from schema.py
    assert store.schema_revision() == HEAD_REVISION
    store.close()
    assert _diff(f"sqlite:///{fresh}") == []


def test_postgres_is_migrated_to_the_declaration(pg_url: str) -> None:
    store = open_store(pg_url)
    assert store.schema_revision() == HEAD_REVISION
    store.close()
    assert _diff(pg_url.replace("postgresql://", "postgresql+psycopg://")) == []


def test_every_entity_column_has_a_record_field() -> None:
    """The record and its table are declared once each and kept together (import fails
    otherwise); every entity round-trips its columns."""
    for entity in ENTITIES.values():
        assert set(entity.columns) <= set(entity.record.__dataclass_fields__)


def test_an_older_file_is_upgraded_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    migrate(str(path), "0001")
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(insert(accounts).values(
            id="a1", name="A", plan="business", webinar_addon=True, custom_live_streaming=True,
            created_at=NOW.replace(tzinfo=None),
        ))  # fmt: skip
        conn.execute(insert(users).values(
            id="u1", account_id="a1", email="u1@example.com", first_name="U", last_name="One",
            type=2, timezone="UTC", created_at=NOW.replace(tzinfo=None),
        ))  # fmt: skip
    engine.dispose()
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    assert "daily_counters" not in tables
    store = open_store(str(path))  # migrated with Alembic before it is loaded
    assert store.schema_revision() == HEAD_REVISION
    with store.read() as tx:
        assert tx.get_user_and_account("u1") is not None
    with store.write() as tx:
        assert tx.bump_counter("k", "2026-11-26") == 1
    store.close()


# SQLite ----------------------------------------------------------------------------------------


def test_the_journal_commits_concurrent_changes_together(tmp_path: Path) -> None:
    """Group commit: changes that arrive while a commit runs share the next one, and every
    writer returns only once its change is on disk (reopening the file shows them all)."""
    path = str(tmp_path / "group.db")
    store = open_store(path)
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
    again = open_store(path)
    with again.read() as tx:
        assert len(tx.list_counters()) == 16 * 20
    again.close()


def test_a_store_that_cannot_write_acknowledges_nothing_more(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "broken.db"))
    seed_minimal(store)
    # The disk goes away under the journal (simulated: its connection stops working).
    store.journal._conn.close()
    with pytest.raises(StoreFailed), store.write() as tx:
        tx.insert_account(Account("lost", "L", "pro", True, True, NOW))
    with pytest.raises(StoreFailed), store.write() as tx:
        tx.insert_account(Account("later", "L", "pro", True, True, NOW))
    store.close()


def test_the_logs_stay_bounded(tmp_path: Path) -> None:
    """The state-change log keeps the newest entries (by count and age) whatever the load."""
    path = str(tmp_path / "bounded.db")
    store = open_store(path, history=History(events=40, every=50))
    seed_minimal(store)
    with store.write() as tx:
        tx.save_livestream(LiveStream("webinar", 7, "a1", stream_url="rtmp://127.0.0.1/x"))
    for n in range(300):
        with store.write() as tx:
            stream = tx.get_livestream("webinar", 7)
            assert stream is not None
            moved = "starting" if stream.state == "stopped" else "stopped"
            stream.move_to(moved, datetime.now(UTC), str(n))  # age counts by the machine's clock
            tx.save_livestream(stream)
    with store.read() as tx:
        kept = tx.list_stream_events("webinar", 7)
        page = tx.list_stream_events("webinar", 7, after=kept[0].id, limit=5)
    assert 40 <= len(kept) <= 40 + 50
    assert kept[-1].detail == "299"  # the newest are the ones kept
    assert [e.id for e in page] == [e.id for e in kept[1:6]]
    store.close()


# PostgreSQL: several hosts, one store ----------------------------------------------------------


def test_hosts_see_each_others_writes_and_take_turns(pg_url: str) -> None:
    """Two stores on one PostgreSQL (as two hosts): a write through one is read through the
    other at once, and writers on both never lose an update (the write rounds hold the
    database-wide lock, after catching up)."""
    a, b = open_store(pg_url), open_store(pg_url)
    try:
        seed_minimal(a)
        with b.read() as tx:
            assert tx.get_user("u1") is not None
        start = threading.Barrier(8)

        def writer(store: Store) -> None:
            start.wait()
            for _ in range(25):
                with store.write() as tx:
                    tx.bump_counter("shared", "d")

        threads = [threading.Thread(target=writer, args=(s,)) for s in (a, b) * 4]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for store in (a, b):
            with store.read() as tx:
                assert tx.get_counter("shared", "d") == 8 * 25
        with b.write() as tx:
            tx.delete_session("webinar", 1)
            tx.insert_session(webinar(1))
        with a.read() as tx:
            assert tx.get_session("webinar", 1) == webinar(1)
    finally:
        a.close()
        b.close()
    c = open_store(pg_url)  # a host that starts later loads it all
    with c.read() as tx:
        assert tx.get_counter("shared", "d") == 200 and tx.get_session("webinar", 1) is not None
    c.close()


def test_the_generic_methods_enforce_the_declaration_and_cascade(
    make_store: Callable[[], Store], request: pytest.FixtureRequest
) -> None:
    """What a new stored object gets without a line of its own: insert, update, get, select
    and delete on any entity, with the constraints and cascades its table declares."""
    store = make_store()
    seed_minimal(store)
    with store.write() as tx:
        tx.insert("webinars", webinar(1))
        tx.insert("webinars", webinar(2, uuid="other"))
        with pytest.raises(IntegrityError, match=r"UNIQUE constraint failed: webinars\.uuid"):
            tx.update("webinars", webinar(2, uuid="u1"))
        assert tx.update("webinars", webinar(2, topic="renamed"))
        assert not tx.update("webinars", webinar(3))
    with store.read() as tx:
        assert [w.topic for w in tx.select("webinars", order=lambda w: -w.id)] == ["renamed", "T"]
        assert tx.get("users", "u1") is not None and tx.get("users", "nobody") is None
    with store.write() as tx:  # the account goes, and what names it with it
        assert tx.delete("accounts", "a1")
    with store.read() as tx:
        assert tx.select("users") == [] and tx.select("webinars") == []
    if "memory" in request.node.name:
        return
    store.close()
    with make_store().read() as tx:  # the database agrees (its own cascades)
        assert tx.select("accounts") == [] and tx.select("webinars") == []
