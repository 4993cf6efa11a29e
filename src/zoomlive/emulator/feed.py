"""The emulator's own event feed: server-sent events at ``/_emulator/events``.

Stream state changes, host actions and webhook deliveries, as they happen, for the dashboard,
tests and users' tooling. Items come from committed transactions (never from one that rolled
back) and from the webhook dispatcher.

Every event has one id, the same for every watcher (the SSE ``id:`` field), one more than the
event before: on one process a counter of the process's feed (starting from the microsecond the
process started); on PostgreSQL a counter every worker and host shares (the ``feed_seq`` row of
``control_state``), which the publisher counts up in the statement that sends the ``NOTIFY``
(``shared.Bus.publish``). The row lock orders the senders, so every host hears the events in id
order, and ids have no gaps: a jump in the ids a watcher receives is exactly the number of
events it missed.

Each process keeps its last :data:`BUFFER_SIZE` events. A watcher that reconnects with
``Last-Event-ID: N`` (or ``?last_event_id=N``) gets the buffered events after ``N``, in order,
then the live ones, from one cursor over the buffer (so none is sent twice or skipped). Where
ids are missing before the next event it gets (``N`` older than the buffer, or a watcher so slow
that the buffer moved past it), a ``missed`` event comes first, without an id:
``{"after": N, "missed": count}``; ``missed`` is null when ``N`` is not an id of this feed (on
one process: of this run). ``Last-Event-ID: 0`` asks for every event the buffer holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from zoomlive.emulator.shared import Bus
from zoomlive.emulator.store.records import StreamStateChanged

log = logging.getLogger("zoomlive.feed")

BUFFER_SIZE = 1000
"""Events each process keeps for watchers that reconnect (``Last-Event-ID``)."""
KEEPALIVE_S = 15.0
COUNTER = "feed_seq"
"""The ``control_state`` row that numbers the events of a shared (PostgreSQL) feed."""
_ID = re.compile(r"\d{1,18}")


@dataclass(frozen=True)
class FeedItem:
    """Effect: something to announce once the transaction commits."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Entry:
    """A numbered event, with its SSE frame rendered once for every watcher."""

    id: int
    frame: bytes


def _frame(kind: str, data: dict[str, Any], event_id: int | None = None) -> bytes:
    body = json.dumps(data, separators=(",", ":"), default=str)
    head = "" if event_id is None else f"id: {event_id}\n"
    return f"{head}event: {kind}\ndata: {body}\n\n".encode()


def _missed(after: int | None, count: int | None) -> bytes:
    """No ``id:``: the watcher's last id stays the one it had."""
    data = {"after": after, "missed": count, "at": datetime.now(UTC).isoformat()}
    return _frame("missed", data)


class EventFeed:
    """The feed of one process; with :meth:`share`, of every worker and host of a store."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._bus: Bus | None = None
        self._buffer: deque[_Entry] = deque(maxlen=BUFFER_SIZE)
        self._end = 0
        """The position after the newest entry: positions count every entry ever appended, so
        a watcher's cursor stays meaningful as the buffer drops its oldest."""
        self._base = time.time_ns() // 1000
        """The id before the first event. One process numbers from the microsecond it started,
        so its ids are above any of an earlier run's (a dashboard left open across a restart
        resumes with one of those); a shared feed numbers from 0."""
        self._last_id = self._base
        self._wake = asyncio.Event()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def share(self, bus: Bus) -> None:
        """Publish through the store's PostgreSQL (``NOTIFY``): every process's feed shows
        the events of all, each once, with the ids the publishers took."""
        self._bus = bus
        self._base = self._last_id = 0
        bus.subscribe("feed", self._heard)

    def _heard(self, message: dict[str, Any]) -> None:
        seq = message.get("seq")
        if not isinstance(seq, int):
            log.warning("feed message without an id, ignored")
            return
        if self._loop is not None:
            item = FeedItem(str(message.get("kind")), dict(message.get("data") or {}))
            with contextlib.suppress(RuntimeError):  # the loop has closed
                self._loop.call_soon_threadsafe(self._append, item, seq)

    def on_commit(self, effects: list[Any]) -> None:
        for effect in effects:
            if isinstance(effect, FeedItem):
                self.publish(effect.kind, effect.data)
            elif isinstance(effect, StreamStateChanged):
                change = effect.event
                self.publish(
                    "stream",
                    {
                        "kind": change.kind,
                        "id": change.owner_id,
                        "from": change.from_state,
                        "to": change.to_state,
                        "detail": change.detail,
                        "last_error": effect.last_error,
                    },
                )

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Thread-safe."""
        if self._loop is None:
            return
        item = FeedItem(kind, {**data, "at": datetime.now(UTC).isoformat()})
        if self._bus is not None:
            self._bus.publish("feed", {"kind": item.kind, "data": item.data}, numbered=COUNTER)
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed
            self._loop.call_soon_threadsafe(self._append, item, None)

    def _append(self, item: FeedItem, seq: int | None) -> None:
        """On the loop: number the event (one process: the next id), buffer it, wake watchers."""
        event_id = self._last_id + 1 if seq is None else seq
        if event_id <= self._last_id:
            log.warning("feed id %d after %d: out of order, ignored", event_id, self._last_id)
            return
        self._last_id = event_id
        self._buffer.append(_Entry(event_id, _frame(item.kind, item.data, event_id)))
        self._end += 1
        wake, self._wake = self._wake, asyncio.Event()
        wake.set()

    def _resume(self, last_event_id: str | None) -> tuple[int, int | None, bytes | None]:
        """Where a watcher starts: its cursor (a position), the last id it has (None: no
        check), and a ``missed`` event to send first when its id is not one of this feed's."""
        if last_event_id is None:
            return self._end, None, None
        start = self._end - len(self._buffer)
        if not _ID.fullmatch(last_event_id):
            return start, None, _missed(None, None)
        after = int(last_event_id) or self._base  # 0: from the first event
        if self._bus is None and not self._base <= after <= self._last_id:
            return start, None, _missed(after, None)  # an earlier run's
        # The first buffered event after it (ids rise along the buffer). On a shared feed an
        # id ahead of ours was heard by another host first: what follows it will arrive here.
        cursor = self._end
        for entry in reversed(self._buffer):
            if entry.id <= after:
                break
            cursor -= 1
        return cursor, after, None

    async def stream(self, last_event_id: str | None = None) -> AsyncIterator[bytes]:
        """One watcher's events: those after ``last_event_id``, then the live ones."""
        cursor, last, first = self._resume(last_event_id)
        yield b": zoomlive event feed\n\n"
        if first is not None:
            yield first
        while True:
            start = self._end - len(self._buffer)
            if cursor < self._end:
                if cursor < start:  # the buffer moved past a slow watcher
                    if last is None:
                        yield _missed(None, start - cursor)
                    cursor = start  # with ``last``, the jump in ids below says how many
                entry = self._buffer[cursor - start]
                cursor += 1
                if last is not None:
                    if entry.id <= last:
                        continue
                    if entry.id > last + 1:  # ids have no gaps: these never reached us
                        yield _missed(last if last != self._base else 0, entry.id - last - 1)
                last = entry.id
                yield entry.frame
                continue
            wake = self._wake
            try:
                async with asyncio.timeout(KEEPALIVE_S):
                    await wake.wait()
            except TimeoutError:
                yield b": keepalive\n\n"


def last_event_id(request: Request) -> str | None:
    """What the watcher has: ``Last-Event-ID`` (EventSource sends it when it reconnects), else
    ``?last_event_id=`` (for tools that cannot set headers)."""
    given = request.headers.get("last-event-id")
    if given is None:
        given = request.query_params.get("last_event_id")
    return None if given is None or not given.strip() else given.strip()


def events_response(feed: EventFeed, request: Request) -> Response:
    return StreamingResponse(
        feed.stream(last_event_id(request)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
