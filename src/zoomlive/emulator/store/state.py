"""The emulator's state in memory: every table of :data:`~.schema.ENTITIES`, by key, with the
indexes the rules need. One instance per store; transactions change it through :meth:`put`
and :meth:`remove` (so indexes follow), and replicas apply other hosts' changes the same way.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import fields
from operator import attrgetter
from typing import Any, TypeVar

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

T = TypeVar("T")
MISSING: Any = object()


def cloner(
    cls: type[T], *, copied: tuple[str, ...] = (), emptied: tuple[str, ...] = ()
) -> Callable[[T], T]:
    """A copy function for a slotted record: its constructor with every field (a generic
    ``copy.copy`` costs five times as much, and every read makes one), then fresh lists and
    dicts for its mutable fields (``copied``) and empty ones for its scratch lists
    (``emptied``)."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    values = attrgetter(*names)

    def clone(record: T) -> T:
        out = cls(*values(record))
        for name in copied:
            setattr(out, name, copy.copy(getattr(record, name)))
        for name in emptied:
            setattr(out, name, [])
        return out

    return clone


CLONE: dict[type[Any], Callable[[Any], Any]] = {
    Account: cloner(Account),
    User: cloner(User),
    App: cloner(App, copied=("scopes",)),
    Token: cloner(Token, copied=("scopes",)),
    Session: cloner(Session, copied=("settings",)),
    LiveStream: cloner(LiveStream, emptied=("events", "effects")),
    DailyCount: cloner(DailyCount),
    WebhookSubscription: cloner(WebhookSubscription, copied=("events",)),
    WebhookDelivery: cloner(WebhookDelivery),
}


class State:
    """Every table the emulator reads on a call, in memory, with the indexes it needs."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[Any, Any]] = {name: {} for name in ENTITIES}
        self.user_by_email: dict[str, str] = {}
        self.session_by_uuid: dict[tuple[str, str], int] = {}
        self.next_delivery_id = 1
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
        if name == "users":
            if old is not None:
                self.user_by_email.pop(old.email, None)
            self.user_by_email[record.email] = record.id
        elif name in ("webinars", "meetings"):
            if old is not None:
                self.session_by_uuid.pop((record.kind, old.uuid), None)
            self.session_by_uuid[(record.kind, record.uuid)] = record.id
        elif name == "webhook_deliveries":
            self.next_delivery_id = max(self.next_delivery_id, record.id + 1)
            if record.status != "pending":
                table.pop(key, None)
                return
        table[key] = record

    def remove(self, entity: Entity, key: Any) -> None:
        old = self.rows[entity.name].pop(key, None)
        if old is None:
            return
        if entity.name == "users":
            self.user_by_email.pop(old.email, None)
        elif entity.name in ("webinars", "meetings"):
            self.session_by_uuid.pop((old.kind, old.uuid), None)

    def clear(self) -> None:
        for table in self.rows.values():
            table.clear()
        self.user_by_email.clear()
        self.session_by_uuid.clear()

    def replace(self, other: State) -> None:
        """Become ``other`` (a full reload), keeping this object and its dicts."""
        self.clear()
        for name, table in other.rows.items():
            self.rows[name].update(table)
        self.user_by_email.update(other.user_by_email)
        self.session_by_uuid.update(other.session_by_uuid)
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
