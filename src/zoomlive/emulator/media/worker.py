"""``zoomlive media-worker``: pushes live streams for emulators that run ``--media remote``, on
this machine, coordinated with the other media workers through the store's PostgreSQL alone.

- **Leases** (``leases.py``): the worker claims wanted streams up to its capacity, renews its
  leases every third of the lease time, and pushes only what it holds. When a worker dies its
  leases lapse and another claims its streams (a takeover: the stream goes back to ``starting``
  and reconnects to its target).
- **Notices** (``NOTIFY``, topic ``media``): a start is claimed at once by a worker with room
  (the less loaded first); a stop, an update of the overlays, a speaker switch or a media fault
  reaches the holder within milliseconds.
- **Reports**: every second, each stream's metrics and latest frame go to ``stream_reports``,
  where any API worker reads them; state changes go through the store, as in one process, so
  the event feed, the state-change log and webhooks see them.

One supervisor (``supervisor.py``) runs the ffmpeg processes, as in ``zoomlive serve``; its
``holds`` gate keeps it to this worker's streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from dataclasses import dataclass, field
from typing import Any

from zoomlive.emulator.concurrency import to_thread, wait_at_most
from zoomlive.emulator.feed import EventFeed
from zoomlive.emulator.media.leases import Claimed, Key, LeaseRows
from zoomlive.emulator.media.remote import TOPIC
from zoomlive.emulator.media.supervisor import MediaSupervisor
from zoomlive.emulator.shared import Bus, SharedClock, SharedRows
from zoomlive.emulator.store import Store, open_store
from zoomlive.emulator.store.records import StreamEffect

log = logging.getLogger("zoomlive.media.worker")

LEASE_S = 10.0
REPORT_S = 1.0
CLAIM_SPREAD_S = 0.2
"""On a start, a worker waits this long times its load before claiming: the least loaded of
the workers that hear it usually wins."""


def default_capacity() -> int:
    """Streams one worker takes by default: 20 per CPU, what this machine class holds in real
    time at 320x180@15 (see docs/scaling.md); set ``--capacity`` for larger profiles."""
    return 20 * (os.cpu_count() or 1)


def default_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class MediaWorker:
    db: str
    name: str = field(default_factory=default_name)
    capacity: int = field(default_factory=default_capacity)
    lease_s: float = LEASE_S
    profile: str | None = None
    held: set[Key] = field(default_factory=set)
    """The streams this worker holds a current lease on."""

    def __post_init__(self) -> None:
        self._store: Store | None = None
        self._bus: Bus | None = None
        self._shared: SharedRows | None = None
        self._rows: LeaseRows | None = None
        self._supervisor: MediaSupervisor | None = None
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sent_thumbs: dict[Key, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # lifecycle --------------------------------------------------------------------------------
    def _open(self) -> None:
        self._store = open_store(self.db, lock=False)
        if self._store.is_sqlite:
            raise ValueError("media workers share a PostgreSQL store: --db postgresql://...")
        self._bus = Bus(self.db)
        assert self._store.link is not None
        self._shared = SharedRows(self._store.link)
        self._rows = LeaseRows(self._store.link)

    def _close(self) -> None:
        for part in (self._rows, self._shared, self._bus, self._store):
            if part is not None:
                with contextlib.suppress(Exception):
                    part.close()

    async def run(self, stop: asyncio.Event) -> None:
        """Push streams until ``stop`` is set; then stop them and give their leases back."""
        self._loop = asyncio.get_running_loop()
        try:
            await to_thread(self._open)
            assert self._store is not None and self._bus is not None
            assert self._shared is not None
            clock = SharedClock(self._bus, self._shared)  # state-change times as the API's
            feed = EventFeed()  # state changes reach every API worker's event feed
            feed.bind(self._loop)
            feed.share(self._bus)
            self._store.on_commit.append(feed.on_commit)
            self._bus.subscribe(TOPIC, self._heard)
            await to_thread(self._bus.start)
            supervisor = MediaSupervisor(self._store, "ffmpeg", profile=self.profile, clock=clock)
            supervisor.holds = self.held.__contains__
            self._supervisor = supervisor
            await supervisor.start(follow_store=False)
            log.info(
                "media worker %s: capacity %d, lease %.0f s", self.name, self.capacity, self.lease_s
            )
            reporter = asyncio.create_task(self._report_loop(), name="zoomlive-media-reports")
            try:
                await self._lease_loop(stop)
            finally:
                reporter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reporter
                await self._shutdown()
        finally:
            await to_thread(self._close)

    async def _shutdown(self) -> None:
        """Stop pushing, hand the streams back and say so: another worker takes them now."""
        supervisor, rows = self._supervisor, self._rows
        held = sorted(self.held)
        self.held.clear()
        if supervisor is not None:
            await supervisor.close()
        if rows is not None and held:
            await to_thread(self._hand_back, held)
            if self._bus is not None:
                self._bus.publish(TOPIC, {"action": "released", "worker": self.name})

    def _hand_back(self, keys: list[Key]) -> None:
        assert self._rows is not None
        for key in keys:
            self._move_to_starting(key, f"media worker {self.name} stopped")
        self._rows.release(self.name)

    # leases -----------------------------------------------------------------------------------
    async def _lease_loop(self, stop: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                # Cleared before the round, not after: a start heard while the round runs
                # must wake the next one at once, not wait a third of the lease.
                self._wake.clear()
                try:
                    await self._tick()
                except Exception:
                    log.exception("media worker %s: lease round failed", self.name)
                waker = asyncio.ensure_future(self._wake.wait())
                await wait_at_most(
                    asyncio.wait([stopping, waker], return_when=asyncio.FIRST_COMPLETED),
                    self.lease_s / 3,
                )
                waker.cancel()
        finally:
            stopping.cancel()

    async def _tick(self) -> None:
        held, lost, claimed = await to_thread(self._lease_round)
        supervisor = self._supervisor
        assert supervisor is not None
        # A lease this worker holds but never started: a claim whose answer was lost with the
        # connection (the row was written). Push it, as if just claimed.
        adopted = held - self.held - {c.key for c in claimed}
        self.held.clear()
        self.held.update(held)
        for key in adopted:
            supervisor.submit(StreamEffect("start", *key))
        for key in lost:
            log.info("media worker %s: no longer holds %s-%s (stopped, or taken)", self.name, *key)
            supervisor.submit(StreamEffect("stop", *key))
        for claim in claimed:
            if claim.speaker:
                supervisor.speakers[claim.key] = claim.speaker
            supervisor.submit(StreamEffect("start", *claim.key))

    def _lease_round(self) -> tuple[set[Key], set[Key], list[Claimed]]:
        """In a thread: renew, then claim up to the capacity."""
        assert self._rows is not None
        before = set(self.held)
        held = self._rows.renew(self.name, self.lease_s)
        claimed = self._rows.claim(self.name, self.lease_s, self.capacity - len(held))
        for claim in claimed:
            if claim.previous:
                log.warning(
                    "media worker %s: takes %s-%s over from %s", self.name, *claim.key,
                    claim.previous,
                )  # fmt: skip
            detail = (
                f"media worker {claim.previous} lost; taken over by {self.name}"
                if claim.previous
                else f"media worker {self.name}"
            )
            self._move_to_starting(claim.key, detail)
        return held | {c.key for c in claimed}, before - held, claimed

    def _move_to_starting(self, key: Key, detail: str) -> None:
        """A stream changing hands connects anew: ``starting`` until its first frame."""
        assert self._store is not None
        with self._store.write() as tx:
            row = tx.get_livestream(*key, for_update=True)
            if row is None or row.state in ("stopped", "starting"):
                return
            assert self._supervisor is not None
            row.reconnect(self._supervisor.clock.now(), detail)
            tx.save_livestream(row)

    # notices ----------------------------------------------------------------------------------
    def _heard(self, message: dict[str, Any]) -> None:
        """From the bus's thread: into the event loop."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                self._loop.call_soon_threadsafe(self._act, message)

    def _act(self, message: dict[str, Any]) -> None:
        action = message.get("action")
        supervisor = self._supervisor
        if supervisor is None:
            return
        if action == "released":
            self._wake.set()
            return
        try:
            key: Key = (message["kind"], int(message["id"]))
        except (KeyError, TypeError, ValueError):
            return
        if key not in self.held:
            if action == "start" and len(self.held) < self.capacity:
                assert self._loop is not None
                delay = CLAIM_SPREAD_S * len(self.held) / max(1, self.capacity)
                self._loop.call_later(delay, self._wake.set)
            return
        if action in ("start", "stop", "update"):
            supervisor.submit(StreamEffect(action, *key))
            if action == "stop":
                self._wake.set()  # the lease goes at the next round, at once
        elif action == "speaker":
            supervisor.set_speaker(*key, str(message.get("name", "")))
        elif action == "fault":
            task = asyncio.ensure_future(self._inject(key, str(message.get("fault"))))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _inject(self, key: Key, fault: str) -> None:
        assert self._supervisor is not None
        try:
            await to_thread(self._supervisor.inject, *key, fault)
        except LookupError as exc:
            log.warning("media fault on %s-%s: %s", *key, exc)

    # reports ----------------------------------------------------------------------------------
    async def _report_loop(self) -> None:
        while True:
            await asyncio.sleep(REPORT_S)
            try:
                await to_thread(self._report)
            except Exception:
                log.exception("media worker %s: report failed", self.name)

    def _report(self) -> None:
        supervisor, rows = self._supervisor, self._rows
        assert supervisor is not None and rows is not None
        for key in list(self.held):
            metrics = supervisor.metrics(*key)
            if metrics is None:
                continue
            thumb = supervisor.thumbnail(*key)
            if thumb is not None and self._sent_thumbs.get(key) == hash(thumb):
                thumb = None  # unchanged: keep the stored one
            rows.report(self.name, key, metrics, thumb)
            if thumb is not None:
                self._sent_thumbs[key] = hash(thumb)
