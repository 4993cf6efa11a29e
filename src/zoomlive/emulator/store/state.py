"""The emulator's state in memory: every table of :data:`~.schema.ENTITIES`, by key, with an
index for each unique column. One instance per store; transactions change it through
:meth:`State.put` and :meth:`State.remove` (so indexes follow), and replicas apply other hosts'
changes the same way. Everything here is derived from the declaration in :mod:`.schema`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime
from operator import attrgetter
from typing import Any

from zoomlive.emulator.store.records import (
    Account,
    App,
    DailyCount,
    LiveStream,
    Session,
    Token,
    User,
    WebhookDelivery,
    WebhookSubscription,
)
from zoomlive.emulator.store.schema import ENTITIES, Entity

MISSING: Any = object()


def cloner(entity: Entity) -> Callable[[Any], Any]:
    """A copy function for an entity's slotted record: its constructor with every field (a
    generic ``copy.copy`` costs five times as much, and every read makes one), then fresh
    lists and dicts for its mutable fields and empty ones for its scratch lists."""
    cls = entity.record
    names = [f.name for f in fields(cls)]
    values = attrgetter(*names)
    copied, emptied = entity.copied, entity.scratch

    def clone(record: Any) -> Any:
        out = cls(*values(record))
        for name in copied:
            setattr(out, name, copy.copy(getattr(record, name)))
        for name in emptied:
            setattr(out, name, [])
        return out

    return clone


CLONE: dict[str, Callable[[Any], Any]] = {name: cloner(e) for name, e in ENTITIES.items()}
"""A copy function per entity: what the store keeps never shares a mutable part with what a
caller holds."""


class State:
    """Every table the emulator reads on a call, in memory, with an index per unique column."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[Any, Any]] = {name: {} for name in ENTITIES}
        self.index: dict[tuple[str, str], dict[Any, Any]] = {
            (name, column): {} for name, e in ENTITIES.items() for column in e.uniques
        }
        """(table, unique column) -> {value: key}."""
        self.next_delivery_id = 1
        self.last_purge: datetime | None = None
        """When expired tokens were last purged (bookkeeping, not stored)."""
        # shortcuts to the tables the hot path reads
        self.accounts: dict[str, Account] = self.rows["accounts"]
        self.users: dict[str, User] = self.rows["users"]
        self.apps: dict[str, App] = self.rows["apps"]
        self.tokens: dict[str, Token] = self.rows["tokens"]
        self.sessions: dict[str, dict[int, Session]] = {
            "webinar": self.rows["webinars"],
            "meeting": self.rows["meetings"],
        }
        self.streams: dict[tuple[str, int], LiveStream] = self.rows["livestreams"]
        self.counters: dict[tuple[str, str], DailyCount] = self.rows["daily_counters"]
        self.subscriptions: dict[str, WebhookSubscription] = self.rows["webhook_subscriptions"]
        self.pending: dict[int, WebhookDelivery] = self.rows["webhook_deliveries"]
        """Webhook deliveries still to be sent (sent and failed ones are only in the database)."""

    def get(self, entity: Entity, key: Any) -> Any:
        return self.rows[entity.name].get(key, MISSING)

    def put(self, entity: Entity, record: Any) -> None:
        """Insert or replace a record (owned by the state from now on), indexes included."""
        name = entity.name
        table = self.rows[name]
        key = entity.key_of(record)
        old = table.get(key)
        for column in entity.uniques:
            index = self.index[(name, column)]
            if old is not None:
                index.pop(getattr(old, column), None)
            index[getattr(record, column)] = key
        if name == "webhook_deliveries":
            self.next_delivery_id = max(self.next_delivery_id, record.id + 1)
            if record.status != "pending":
                table.pop(key, None)
                return
        table[key] = record

    def remove(self, entity: Entity, key: Any) -> None:
        old = self.rows[entity.name].pop(key, None)
        if old is None:
            return
        for column in entity.uniques:
            self.index[(entity.name, column)].pop(getattr(old, column), None)

    def clear_table(self, name: str) -> None:
        self.rows[name].clear()
        for column in ENTITIES[name].uniques:
            self.index[(name, column)].clear()

    def clear(self) -> None:
        for name in self.rows:
            self.clear_table(name)

    def replace(self, other: State) -> None:
        """Become ``other`` (a full reload), keeping this object and its dicts."""
        self.clear()
        for name, table in other.rows.items():
            self.rows[name].update(table)
        for key, index in other.index.items():
            self.index[key].update(index)
        self.next_delivery_id = other.next_delivery_id


def token_facts(state: State, token_hash: str) -> tuple[Token, bool, str] | None:
    """A token, whether its app is enabled, and its account's plan: dict reads only, safe
    without the store's lock (the API authenticates before it takes it)."""
    token = state.tokens.get(token_hash)
    if token is None:
        return None
    app = state.apps.get(token.client_id)
    account = state.accounts.get(token.account_id)
    if app is None or account is None:
        return None
    return token, app.enabled, account.plan
