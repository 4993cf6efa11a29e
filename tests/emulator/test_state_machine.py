"""The live stream's state machine, straight from its one declaration (``STREAM_TRANSITIONS``):
every allowed transition succeeds and is logged, every other pair of states is refused and
changes nothing, and the database refuses a state the machine does not know."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from zoomlive.emulator.store import (
    STREAM_STATES,
    STREAM_TRANSITIONS,
    Account,
    IllegalTransition,
    IntegrityError,
    LiveStream,
    Store,
    StreamEvent,
    StreamState,
    open_store,
)

BEFORE = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

ALLOWED: list[tuple[StreamState, StreamState]] = [
    (src, dst) for src in STREAM_STATES for dst in STREAM_STATES if dst in STREAM_TRANSITIONS[src]
]
REFUSED: list[tuple[StreamState, StreamState]] = [
    (src, dst)
    for src, dst in itertools.product(STREAM_STATES, STREAM_STATES)
    if dst not in STREAM_TRANSITIONS[src]
]


def name(pair: tuple[StreamState, StreamState]) -> str:
    return f"{pair[0]}->{pair[1]}"


def stream_in(state: StreamState, owner_id: int = 42, version: int = 3) -> LiveStream:
    """A configured webinar stream that was last changed at BEFORE and has logged nothing
    (``version=0``: not stored yet)."""
    return LiveStream(
        kind="webinar",
        owner_id=owner_id,
        account_id="a1",
        stream_url="rtmp://127.0.0.1:1935/live",
        stream_key="key",
        page_url="https://example.com/w",
        state=state,
        last_error="an earlier failure",
        updated_at=BEFORE,
        version=version,
    )


def test_the_table_covers_every_state_and_names_only_known_ones() -> None:
    assert set(STREAM_TRANSITIONS) == set(STREAM_STATES)
    for targets in STREAM_TRANSITIONS.values():
        assert targets <= set(STREAM_STATES)
    assert len(ALLOWED) + len(REFUSED) == len(STREAM_STATES) ** 2
    assert {(state, state) for state in STREAM_STATES} <= set(REFUSED)  # no move to itself


@pytest.mark.parametrize(("src", "dst"), ALLOWED, ids=[name(p) for p in ALLOWED])
def test_an_allowed_transition_moves_and_is_logged(src: StreamState, dst: StreamState) -> None:
    stream = stream_in(src)
    expected = copy.deepcopy(stream)
    stream.move_to(dst, NOW, "why")
    assert stream.state == dst and stream.updated_at == NOW
    assert stream.events == [StreamEvent("webinar", 42, src, dst, NOW, "why")]
    # Nothing else changes: the rest is the rules' business, not the machine's.
    expected.state, expected.updated_at = dst, NOW
    expected.events = stream.events
    assert stream == expected


@pytest.mark.parametrize(("src", "dst"), REFUSED, ids=[name(p) for p in REFUSED])
def test_a_refused_transition_raises_and_changes_nothing(
    src: StreamState, dst: StreamState
) -> None:
    stream = stream_in(src)
    before = copy.deepcopy(stream)
    with pytest.raises(IllegalTransition, match=f"^{src} -> {dst}$"):
        stream.move_to(dst, NOW, "why")
    assert stream == before
    assert stream.state == src and stream.events == [] and stream.updated_at == BEFORE


def test_one_stream_walks_every_allowed_transition_and_logs_each_in_order() -> None:
    walk: list[StreamState] = [
        "stopped",
        "starting",
        "failed",
        "starting",
        "live",
        "failed",
        "stopped",
        "starting",
        "live",
        "starting",  # reconnecting
        "stopped",
        "starting",
        "live",
        "stopped",
    ]
    moves = list(itertools.pairwise(walk))
    assert set(moves) == set(ALLOWED)
    stream = stream_in(walk[0])
    for step, (_, state) in enumerate(moves):
        stream.move_to(state, NOW, f"step {step}")
    assert stream.state == walk[-1]
    assert stream.events == [
        StreamEvent("webinar", 42, src, dst, NOW, f"step {step}")
        for step, (src, dst) in enumerate(moves)
    ]


@pytest.fixture(params=["sqlite", "postgres"])
def store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Store]:
    """The one store on each backend (the rules are the same; a test proves it on both)."""
    if request.param == "postgres":
        store = open_store(request.getfixturevalue("pg_url"))
    else:
        store = open_store(str(tmp_path / "machine.db"))
    with store.write() as tx:
        tx.insert_account(Account("a1", "A", "business", True, True, NOW))
    yield store
    store.close()


def test_every_allowed_transition_is_stored_as_an_event(store: Store) -> None:
    for owner_id, (src, dst) in enumerate(ALLOWED, start=1):
        with store.write() as tx:
            tx.save_livestream(stream_in(src, owner_id, version=0))
        with store.write() as tx:
            stream = tx.get_livestream("webinar", owner_id, for_update=True)
            assert stream is not None and stream.state == src
            stream.move_to(dst, NOW, f"{src} to {dst}")
            tx.save_livestream(stream)
    with store.read() as tx:
        for owner_id, (src, dst) in enumerate(ALLOWED, start=1):
            saved = tx.get_livestream("webinar", owner_id)
            assert saved is not None and saved.state == dst
            logged = tx.list_stream_events("webinar", owner_id)
            assert [(e.from_state, e.to_state, e.detail) for e in logged] == [
                (src, dst, f"{src} to {dst}")
            ]


def test_the_database_accepts_exactly_the_machines_states(store: Store) -> None:
    for owner_id, state in enumerate(STREAM_STATES, start=1):
        with store.write() as tx:
            tx.save_livestream(stream_in(state, owner_id, version=0))
    outside = stream_in("stopped", 99, version=0)
    outside.state = "paused"  # type: ignore[assignment]
    assert outside.state not in STREAM_STATES
    with pytest.raises(IntegrityError, match="CHECK constraint failed"), store.write() as tx:
        tx.save_livestream(outside)
    with store.read() as tx:
        assert tx.get_livestream("webinar", 99) is None
        assert [s.state for s in tx.list_livestreams()] == list(STREAM_STATES)
