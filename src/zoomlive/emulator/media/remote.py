"""``zoomlive serve --media remote``: the API process runs no ffmpeg. Streams are pushed by
media workers (``zoomlive media-worker``, :mod:`zoomlive.emulator.media.worker`) on this or
other machines; this side announces each committed change of a stream on the store's bus (the
worker holding the stream acts on it within milliseconds) and answers the control API from what
the workers report in the store.

It has the media supervisor's interface, as far as the control API uses it.
"""

from __future__ import annotations

import contextlib
from typing import Any

from zoomlive.api.sessions import SessionKind
from zoomlive.emulator.concurrency import to_thread
from zoomlive.emulator.media.leases import LeaseRows
from zoomlive.emulator.shared import Bus
from zoomlive.emulator.store import Store
from zoomlive.emulator.store.records import StreamEffect

TOPIC = "media"
"""Bus messages to media workers: ``{"action": start|stop|update|speaker|fault, "kind",
"id", ...}``."""


class RemoteMedia:
    mode = "remote"

    def __init__(self, store: Store, bus: Bus) -> None:
        self.store = store
        self.bus = bus
        assert store.link is not None, "remote media needs PostgreSQL"
        self.rows = LeaseRows(store.link)

    async def start(self) -> None:
        self.store.on_commit.append(self.on_commit)

    async def close(self) -> None:
        with contextlib.suppress(ValueError):
            self.store.on_commit.remove(self.on_commit)
        await to_thread(self.rows.close)

    def on_commit(self, effects: list[Any]) -> None:
        for effect in effects:
            if isinstance(effect, StreamEffect):
                message = {"action": effect.action, "kind": effect.kind, "id": effect.owner_id}
                self.bus.publish(TOPIC, message)

    def set_speaker(self, kind: SessionKind, owner_id: int, name: str) -> bool:
        """Thread-safe (the control API calls it from a worker thread)."""
        if self.rows.holder((kind, owner_id)) is None:
            return False
        self.rows.set_speaker((kind, owner_id), name)
        self.bus.publish(TOPIC, {"action": "speaker", "kind": kind, "id": owner_id, "name": name})
        return True

    def inject(self, kind: SessionKind, owner_id: int, fault: str) -> None:
        if self.rows.holder((kind, owner_id)) is None:
            raise LookupError("not being pushed")
        self.bus.publish(TOPIC, {"action": "fault", "kind": kind, "id": owner_id, "fault": fault})

    def metrics(self, kind: SessionKind, owner_id: int) -> dict[str, Any] | None:
        holder = self.rows.holder((kind, owner_id))
        report = self.rows.read_report((kind, owner_id))
        if holder is None or report is None:
            return None
        _, metrics, speaker = report
        metrics = dict(metrics or {})
        # A switch is stored at once; the worker's next report (within a second) agrees.
        metrics["active_speaker"] = speaker or metrics.get("active_speaker")
        metrics["worker"] = holder
        return metrics

    def thumbnail(self, kind: SessionKind, owner_id: int) -> bytes | None:
        if self.rows.holder((kind, owner_id)) is None:
            return None
        return self.rows.thumbnail((kind, owner_id))

    def pids(self) -> list[int]:
        return []  # the workers' processes, on their machines
