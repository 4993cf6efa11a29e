"""The emulator's own event feed: server-sent events at ``/_emulator/events``.

Stream state changes, host actions and webhook deliveries, as they happen, for the dashboard,
tests and users' tooling. Items come from committed transactions (never from one that rolled
back) and from the webhook dispatcher. Each worker process has its own feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from zoomlive.emulator.shared import Bus
from zoomlive.emulator.store.records import StreamStateChanged

QUEUE_SIZE = 1000
KEEPALIVE_S = 15.0


@dataclass(frozen=True)
class FeedItem:
    """Effect: something to announce once the transaction commits."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


class EventFeed:
    """The feed of one process; with :meth:`share`, of every worker and host of a store."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribers: set[asyncio.Queue[FeedItem]] = set()
        self._seq = 0
        self._bus: Bus | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def share(self, bus: Bus) -> None:
        """Publish through the store's PostgreSQL (``NOTIFY``): every process's feed shows
        the events of all, each once."""
        self._bus = bus
        bus.subscribe("feed", self._heard)

    def _heard(self, message: dict[str, Any]) -> None:
        if self._loop is not None:
            item = FeedItem(str(message.get("kind")), dict(message.get("data") or {}))
            with contextlib.suppress(RuntimeError):  # the loop has closed
                self._loop.call_soon_threadsafe(self._fan_out, item)

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
            self._bus.publish("feed", {"kind": item.kind, "data": item.data})
            return
        self._loop.call_soon_threadsafe(self._fan_out, item)

    def _fan_out(self, item: FeedItem) -> None:
        for queue in list(self._subscribers):
            if queue.full():  # a slow reader loses the oldest, never blocks the emulator
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(item)

    async def stream(self) -> AsyncIterator[bytes]:
        queue: asyncio.Queue[FeedItem] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.add(queue)
        try:
            yield b": zoomlive event feed\n\n"
            while True:
                try:
                    async with asyncio.timeout(KEEPALIVE_S):
                        item = await queue.get()
                except TimeoutError:
                    yield b": keepalive\n\n"
                    continue
                self._seq += 1
                data = json.dumps(item.data, separators=(",", ":"), default=str)
                yield f"id: {self._seq}\nevent: {item.kind}\ndata: {data}\n\n".encode()
        finally:
            self._subscribers.discard(queue)


def events_response(feed: EventFeed, request: Request) -> Response:
    return StreamingResponse(
        feed.stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
