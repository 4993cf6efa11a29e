"""The store: durability, migrations, and a property-based round trip."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import given, settings
from hypothesis import strategies as st

from zoomlive.emulator.store import Account, Store, User, Webinar
from zoomlive.emulator.store.schema import metadata

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def seed_minimal(store: Store) -> None:
    with store.write() as tx:
        tx.insert_account(Account("a1", "A", "business", True, True, NOW))
        tx.insert_user(User("u1", "a1", "u1@example.com", "U", "One", 2, "UTC", NOW))


def test_migrations_build_the_declared_schema(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "m.db"))
    assert store.schema_revision() == "0005"
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_older_file_is_upgraded_with_its_data(tmp_path: Path) -> None:
    path = str(tmp_path / "old.db")
    old = Store(path, migrate=False)
    old.migrate("0001")
    assert old.schema_revision() == "0001"
    seed_minimal(old)
    old.close()
    assert "daily_counters" not in {
        r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")
    }
    new = Store(path)
    assert new.schema_revision() == "0005"
    with new.read() as tx:
        assert tx.get_user("u1") is not None
    with new.write() as tx:
        assert tx.bump_counter("k", "2026-11-26") == 1
        assert tx.bump_counter("k", "2026-11-26") == 2


def test_committed_writes_survive_reopen_and_failed_ones_leave_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "d.db")
    store = Store(path)
    seed_minimal(store)
    try:
        with store.write() as tx:
            tx.insert_account(Account("a2", "B", "pro", False, False, NOW))
            raise RuntimeError("rule failed after the insert")
    except RuntimeError:
        pass
    store.close()
    reopened = Store(path)
    with reopened.read() as tx:
        assert [a.id for a in tx.list_accounts()] == ["a1"]


def test_database_constraints_hold(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "c.db"))
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
        assert "CHECK constraint failed" in str(exc)
    else:
        raise AssertionError("a webinar status outside the state machine was stored")


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
def test_webinar_round_trip(
    webinar_id: int,
    topic: str,
    agenda: str,
    start: datetime | None,
    duration: int,
    status: str,
    settings_doc: dict[str, object],
) -> None:
    store = Store(":memory:")
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
