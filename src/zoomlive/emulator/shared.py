"""What every worker and host of one PostgreSQL store shares besides Zoom's state: the clock,
the fault rules, the event feed, and the notices that reach media workers.

PostgreSQL does all of it, with nothing home-made: the shared values are rows (``control_state``,
``fault_rules``), and a change is announced with ``NOTIFY zoomlive`` (a JSON payload naming its
topic); every process ``LISTEN``s on one connection of its own, in a thread, and applies what it
hears. A worker that starts reads the rows first, so it never misses what was set before it.

One process (the memory store, or ``--workers 1``) needs none of this: its clock, faults and
feed are in memory.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from zoomlive.emulator.clock import Clock
from zoomlive.emulator.store.link import Link, postgres_url

log = logging.getLogger("zoomlive.shared")

CHANNEL = "zoomlive"
RECONNECT_S = 1.0
RESYNC = "resync"
"""The topic a process hears (from itself) when its listener has reconnected: notices sent
while it was away are lost, so whoever keeps a copy of shared rows reads them again."""

NUMBERED = (
    "WITH counted AS ("
    " INSERT INTO control_state (key, value) VALUES (%s, '1')"
    " ON CONFLICT (key) DO UPDATE SET value = (control_state.value::bigint + 1)::text"
    " RETURNING value)"
    " SELECT pg_notify(%s, '{\"seq\":' || counted.value || ',' || substr(%s, 2)) FROM counted"
)
"""Count up a counter row and send the message with the count, in one statement (so in one
transaction, which holds the row's lock until after its notice is queued)."""

T = TypeVar("T")


class Bus:
    """``NOTIFY``/``LISTEN`` on one channel: ``publish`` from any thread (queued, sent by a
    thread of its own), ``subscribe`` a callback per topic (called in the listening thread)."""

    def __init__(self, url: str) -> None:
        self.url = postgres_url(url)
        self.origin = uuid.uuid4().hex
        """This process: messages carry it, so a subscriber can skip its own."""
        self._subscribers: dict[str, list[Callable[[dict[str, Any]], None]]] = {}
        self._outbox: queue.Queue[tuple[str, str, str | None] | None] = queue.Queue()
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._threads = [
            threading.Thread(target=self._listen, name="zoomlive-bus-listen", daemon=True),
            threading.Thread(target=self._send, name="zoomlive-bus-send", daemon=True),
        ]

    def start(self, timeout: float = 10.0) -> None:
        for thread in self._threads:
            thread.start()
        if not self._listening.wait(timeout):
            raise RuntimeError(f"could not LISTEN on {CHANNEL} at the store's PostgreSQL")

    def subscribe(self, topic: str, callback: Callable[[dict[str, Any]], None]) -> None:
        self._subscribers.setdefault(topic, []).append(callback)

    def publish(self, topic: str, message: dict[str, Any], *, numbered: str | None = None) -> None:
        """``numbered``: a key of ``control_state`` holding a counter, counted up in the statement
        that sends the message; the message carries the new count as ``seq``. The counter's row
        lock is held until that statement commits, after its notice is queued, so every
        listener hears numbered messages in ``seq`` order, and a ``seq`` is taken only by a
        message that was sent: the numbers have no gaps."""
        payload = json.dumps({**message, "topic": topic, "origin": self.origin}, default=str)
        if len(payload) > 7870:  # NOTIFY's limit is 8000 bytes (and ``"seq":N,`` may be added)
            log.warning("bus message on %s too large (%d bytes), dropped", topic, len(payload))
            return
        self._outbox.put((CHANNEL, payload, numbered))

    def close(self) -> None:
        self._stop.set()
        self._outbox.put(None)
        for thread in self._threads:
            thread.join(5)

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.url, autocommit=True, connect_timeout=5)

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                with self._connect() as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    if self._listening.is_set():
                        log.warning("bus listener: reconnected; reading shared state again")
                        self._dispatch(json.dumps({"topic": RESYNC}))
                    self._listening.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5, stop_after=64):
                            self._dispatch(note.payload)
            except Exception as exc:
                if self._stop.is_set():
                    return
                log.warning("bus listener: %s; reconnecting", exc)
                self._stop.wait(RECONNECT_S)

    def _dispatch(self, payload: str) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            return
        for callback in self._subscribers.get(message.get("topic", ""), []):
            try:
                callback(message)
            except Exception:
                log.exception("bus subscriber for %s", message.get("topic"))

    def _send(self) -> None:
        conn: Any = None
        while True:
            item = self._outbox.get()
            if item is None:
                break
            channel, payload, counter = item
            for attempt in range(3):
                try:
                    if conn is None:
                        conn = self._connect()
                    if counter is None:
                        conn.execute("SELECT pg_notify(%s, %s)", (channel, payload))
                    else:
                        conn.execute(NUMBERED, (counter, channel, payload))
                    break
                except Exception as exc:
                    log.warning("bus publish (attempt %d): %s", attempt + 1, exc)
                    conn = None
                    self._stop.wait(0.2)
        if conn is not None:
            conn.close()


class SharedClock(Clock):
    """The emulator clock of every worker: a change is written to ``control_state`` and
    announced; every process applies it when it hears it (and reads it when it starts)."""

    def __init__(self, bus: Bus, rows: SharedRows) -> None:
        super().__init__()
        self._bus = bus
        self._rows = rows
        self._apply(rows.get("clock"))
        # A message says the setting changed, not what it is now: the row is. Applying the
        # message itself would let this process's own earlier change (a reset heard late)
        # undo a later one made here (a state import) until the next message.
        bus.subscribe("clock", lambda message: self.refresh())
        bus.subscribe(RESYNC, lambda message: self.refresh())

    def _apply(self, setting: Any) -> None:
        if not isinstance(setting, dict):
            return
        frozen = setting.get("frozen")
        self._setting = (
            datetime.fromisoformat(frozen) if frozen else None,
            timedelta(seconds=float(setting.get("offset", 0.0))),
        )

    def _share(self) -> None:
        frozen, offset = self._setting
        setting = {
            "frozen": frozen.isoformat() if frozen else None,
            "offset": offset.total_seconds(),
        }
        self._rows.put("clock", setting)
        self._bus.publish("clock", {"setting": setting})

    def advance(self, seconds: float) -> datetime:
        now = super().advance(seconds)
        self._share()
        return now

    def reset(self) -> None:
        super().reset()
        self._share()

    def freeze(self, frozen: bool) -> None:
        super().freeze(frozen)
        self._share()

    def refresh(self) -> None:
        """Read the shared setting now (the control API's ``GET /clock``: exact at once)."""
        self._apply(self._rows.get("clock"))


class SharedRows:
    """Small JSON documents and fault rules in the store's PostgreSQL, on the store's own link
    (control calls only, never a Zoom call's path)."""

    def __init__(self, link: Link) -> None:
        self._link = link

    def get(self, key: str) -> Any:
        row = self._link.run(
            lambda conn: conn.execute(
                "SELECT value FROM control_state WHERE key = %s", (key,)
            ).fetchone(),
            idempotent=True,
        )
        return None if row is None else json.loads(row[0])

    def put(self, key: str, value: Any) -> None:
        self._link.run(
            lambda conn: conn.execute(
                "INSERT INTO control_state (key, value) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            ),
            idempotent=True,
        )

    # fault rules -------------------------------------------------------------------------
    def fault_rules(self) -> list[tuple[dict[str, Any], int | None]]:
        rows = self._link.run(
            lambda conn: conn.execute(
                "SELECT body, remaining FROM fault_rules ORDER BY seq"
            ).fetchall(),
            idempotent=True,
        )
        return [(json.loads(body), remaining) for body, remaining in rows]

    def add_fault(self, rule: dict[str, Any], remaining: int | None, limit: int) -> bool:
        """Insert a rule; False if its id is taken. (The count of rules is checked first.)"""

        def insert(conn: Any) -> bool:
            with conn.transaction():
                conn.execute("LOCK TABLE fault_rules IN EXCLUSIVE MODE")
                row = conn.execute(
                    "SELECT count(*), coalesce(max(seq), 0) FROM fault_rules"
                ).fetchone()
                count, top = row if row is not None else (0, 0)
                if count >= limit:
                    raise OverflowError
                inserted = conn.execute(
                    "INSERT INTO fault_rules (id, seq, body, remaining) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (id) DO NOTHING",
                    (rule["id"], top + 1, json.dumps(rule), remaining),
                ).rowcount
            return bool(inserted)

        return self._link.run(insert)

    def remove_fault(self, fault_id: str | None) -> bool:
        """Remove one rule (or every rule, for None)."""
        if fault_id is None:
            return bool(
                self._link.run(lambda conn: conn.execute("DELETE FROM fault_rules").rowcount)
            )
        return bool(
            self._link.run(
                lambda conn: (
                    conn.execute("DELETE FROM fault_rules WHERE id = %s", (fault_id,)).rowcount
                )
            )
        )

    def consume_fault(self, fault_id: str) -> int | None:
        """Take one firing of a counted rule: what remains after it, or None if none was left
        (another worker took the last one)."""

        def take(conn: Any) -> Any:
            row = conn.execute(
                "UPDATE fault_rules SET remaining = remaining - 1 "
                "WHERE id = %s AND remaining > 0 RETURNING remaining",
                (fault_id,),
            ).fetchone()
            if row is not None and row[0] == 0:
                conn.execute("DELETE FROM fault_rules WHERE id = %s", (fault_id,))
            return row

        row = self._link.run(take)
        return None if row is None else int(row[0])

    def step_fault(self, fault_id: str, last: int | None) -> int | None:
        """Take a sequence rule's next position (1-based; its row counts up from 0), or None if
        the rule is gone. At position ``last`` the rule is spent and its row removed."""

        def take(conn: Any) -> Any:
            row = conn.execute(
                "UPDATE fault_rules SET remaining = remaining + 1 WHERE id = %s "
                "RETURNING remaining",
                (fault_id,),
            ).fetchone()
            if row is not None and last is not None and row[0] >= last:
                conn.execute("DELETE FROM fault_rules WHERE id = %s", (fault_id,))
            return row

        row = self._link.run(take)
        return None if row is None else int(row[0])

    def close(self) -> None:
        """Nothing of its own to close: the link is the store's."""
