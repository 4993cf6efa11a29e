"""The one transaction: every read and write of the store's records, and the database's rules
(unique keys, foreign keys, checks, orderings) enforced before a change is applied.

Whatever the backend (an SQLite file, ``:memory:``, PostgreSQL shared by several hosts), a
transaction runs here, on the state in memory: a read is a dict lookup, a change is applied at
once (and undone if the transaction fails) and recorded as an :data:`Op` that the journal
writes to the database. So SQLite and PostgreSQL differ in durability and sharing, never in
rules, orderings or column lists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from zoomlive.api.sessions import SessionKind
from zoomlive.emulator.store.base import ConcurrentUpdate, IntegrityError, Op
from zoomlive.emulator.store.records import (
    Account,
    App,
    DailyCount,
    LiveStream,
    Session,
    StreamEffect,
    StreamEvent,
    StreamStateChanged,
    Token,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from zoomlive.emulator.store.schema import ENTITIES, SESSION_TABLES, Entity
from zoomlive.emulator.store.state import CLONE, MISSING, State, token_facts


class Logs(Protocol):
    """Where the logs that only the database keeps are read (the journal)."""

    def stream_events(
        self, kind: str | None, owner_id: int | None, after: int, limit: int | None
    ) -> list[StreamEvent]: ...

    def deliveries(
        self, limit: int, before: int | None
    ) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]: ...


_PURGE_EVERY = timedelta(minutes=1)
_EPOCH = datetime(1, 1, 1, tzinfo=UTC)
E = ENTITIES
_CHILDREN: dict[str, list[tuple[str, str]]] = {}
"""table -> (child table, column) of the foreign keys that cascade a delete in memory."""
for _child in ENTITIES.values():
    for _fk in _child.table.foreign_keys:
        if _fk.ondelete == "CASCADE" and _fk.column.table.name in ENTITIES:
            _CHILDREN.setdefault(_fk.column.table.name, []).append((_child.name, _fk.parent.name))
_clone_account = CLONE["accounts"]
_clone_user = CLONE["users"]
_clone_app = CLONE["apps"]
_clone_token = CLONE["tokens"]
_clone_session = CLONE["webinars"]
_clone_stream = CLONE["livestreams"]
_clone_sub = CLONE["webhook_subscriptions"]
_clone_delivery = CLONE["webhook_deliveries"]


class Tx:
    """One transaction: changes apply at once and are undone on failure."""

    def __init__(self, state: State, logs: Logs) -> None:
        self.s = state
        self.logs = logs
        self.effects: list[Any] = []
        """What must happen outside the store once this transaction commits."""
        self.ops: list[Op] = []
        self.lsn = 0
        self._undo: list[Callable[[], None]] = []

    # any entity: what a new stored object needs, and nothing more --------------------------
    def get(self, table: str, key: Any) -> Any | None:
        """A copy of the record with this key, or None."""
        found = self.s.rows[table].get(key)
        return None if found is None else CLONE[table](found)

    def select(
        self,
        table: str,
        where: Callable[[Any], bool] | None = None,
        order: Callable[[Any], Any] | None = None,
    ) -> list[Any]:
        """Copies of the records ``where`` accepts, by ``order`` (default: by key)."""
        rows = [r for r in self.s.rows[table].values() if where is None or where(r)]
        entity = E[table]
        rows.sort(key=order or entity.key_of)
        clone = CLONE[table]
        return [clone(r) for r in rows]

    def insert(self, table: str, record: Any) -> None:
        """Store a new record (its key must be free), after the table's constraints."""
        entity = E[table]
        self._verify(entity, record, new=True)
        self._put(entity, CLONE[table](record))

    def update(self, table: str, record: Any) -> bool:
        """Replace the record with this key, after the table's constraints (False: none)."""
        entity = E[table]
        if entity.key_of(record) not in self.s.rows[table]:
            return False
        self._verify(entity, record, new=False)
        self._put(entity, CLONE[table](record))
        return True

    def delete(self, table: str, key: Any) -> bool:
        """Delete the record with this key and, as the database's ON DELETE CASCADE does, the
        records that name it (False: none)."""
        entity = E[table]
        if key not in self.s.rows[table]:
            return False
        for child, column in _CHILDREN.get(table, ()):
            for child_key, row in list(self.s.rows[child].items()):
                if getattr(row, column) == key:
                    self.delete(child, child_key)
        self._remove(entity, key)
        return True

    def _verify(self, entity: Entity, record: Any, *, new: bool) -> None:
        """The table's constraints (primary key, unique columns, CHECKs, foreign keys), checked
        before anything is applied: the journal must never meet a row the database refuses."""
        s = self.s
        key = entity.key_of(record)
        if new and key in s.rows[entity.name]:
            raise IntegrityError(f"UNIQUE constraint failed: {entity.name}.{', '.join(entity.key)}")
        for name, column, allowed in entity.checks:
            if getattr(record, column) not in allowed:
                raise IntegrityError(f"CHECK constraint failed: {name}")
        for column in entity.uniques:
            owner = s.index[(entity.name, column)].get(getattr(record, column), key)
            if owner != key:
                raise IntegrityError(f"UNIQUE constraint failed: {entity.name}.{column}")
        for column, parent in entity.parents:
            value = getattr(record, column)
            if value is not None and value not in s.rows[parent]:
                raise IntegrityError("FOREIGN KEY constraint failed")

    # change bookkeeping ----------------------------------------------------------------------
    def _put(self, entity: Entity, record: Any) -> None:
        """Store ``record`` (the state owns it from now on) and journal it."""
        s = self.s
        key = entity.key_of(record)
        old = s.get(entity, key)
        self._undo.append(lambda: _restore(s, entity, key, old))
        s.put(entity, record)
        self.ops.append(("put", entity.name, record))

    def _remove(self, entity: Entity, key: Any) -> None:
        s = self.s
        old = s.get(entity, key)
        self.ops.append(("del", entity.name, key))
        if old is MISSING:
            return
        self._undo.append(lambda: _restore(s, entity, key, old))
        s.remove(entity, key)

    def _log(self, table: str, **values: Any) -> None:
        self.ops.append(("add", table, values))

    def rollback(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()
        self.ops.clear()
        self.effects.clear()

    # accounts --------------------------------------------------------------------------------
    def insert_account(self, a: Account) -> None:
        self.insert("accounts", a)

    def update_account(self, a: Account) -> None:
        current = self.s.accounts.get(a.id)
        if current is not None:
            self.update("accounts", replace(a, created_at=current.created_at))

    def get_account(self, account_id: str) -> Account | None:
        found: Account | None = self.get("accounts", account_id)
        return found

    def list_accounts(self) -> list[Account]:
        return self.select("accounts", order=lambda a: (a.created_at, a.id))

    # users -----------------------------------------------------------------------------------
    def insert_user(self, u: User) -> None:
        self.insert("users", u)

    def get_user(self, user_id: str) -> User | None:
        found: User | None = self.get("users", user_id)
        return found

    def get_user_by_email(self, email: str) -> User | None:
        user_id = self.s.index[("users", "email")].get(email.lower())
        return None if user_id is None else self.get_user(user_id)

    def get_user_and_account(self, user_id: str) -> tuple[User, Account] | None:
        user = self.s.users.get(user_id)
        account = None if user is None else self.s.accounts.get(user.account_id)
        if user is None or account is None:
            return None
        return _clone_user(user), _clone_account(account)

    def live_streaming_allowed(self, user_id: str, kind: str) -> bool:
        """Does the user's settings allow live streams of this kind (read in place: the
        live-stream calls' hot path)? An unknown user: yes (other checks refuse it)."""
        user = self.s.users.get(user_id)
        if user is None:
            return True
        return user.webinar_live_streaming if kind == "webinar" else user.meeting_live_streaming

    def list_users(self, account_id: str | None = None) -> list[User]:
        return self.select(
            "users",
            lambda u: account_id in (None, u.account_id),
            order=lambda u: (u.created_at, u.id),
        )

    # apps ------------------------------------------------------------------------------------
    def insert_app(self, a: App) -> None:
        self.insert("apps", a)

    def update_app(self, a: App) -> None:
        """Name, scopes and whether it is enabled (never its secret)."""
        current = self.s.apps.get(a.client_id)
        if current is None:
            return
        kept = {"secret_hash", "account_id", "created_at"}
        self.update("apps", replace(a, **{k: getattr(current, k) for k in kept}))

    def get_app(self, client_id: str) -> App | None:
        found: App | None = self.get("apps", client_id)
        return found

    def list_apps(self, account_id: str | None = None) -> list[App]:
        return self.select(
            "apps",
            lambda a: account_id in (None, a.account_id),
            order=lambda a: (a.created_at, a.client_id),
        )

    # tokens ----------------------------------------------------------------------------------
    def insert_token(self, t: Token) -> None:
        self.insert("tokens", t)

    def get_token(self, token_hash: str) -> Token | None:
        found: Token | None = self.get("tokens", token_hash)
        return found

    def get_token_and_app_enabled(self, token_hash: str) -> tuple[Token, bool, str] | None:
        found = token_facts(self.s, token_hash)
        if found is None:
            return None
        token, enabled, plan = found
        return _clone_token(token), enabled, plan

    def purge_tokens(self, expired_before: datetime) -> int:
        """Forget tokens expired before then (at most once a minute: the scan is not free, and
        an expired token is refused anyway)."""
        last = self.s.last_purge
        if last is not None and abs(expired_before - last) < _PURGE_EVERY:
            return 0
        self.s.last_purge = expired_before
        old = [h for h, t in self.s.tokens.items() if t.expires_at < expired_before]
        for token_hash in old:
            self._remove(E["tokens"], token_hash)
        return len(old)

    def count_tokens(self) -> int:
        return len(self.s.tokens)

    # webinars and meetings -------------------------------------------------------------------
    def insert_session(self, w: Session) -> None:
        self.insert(SESSION_TABLES[w.kind], w)

    def update_session(self, w: Session) -> None:
        self.update(SESSION_TABLES[w.kind], w)

    def delete_session(self, kind: SessionKind, session_id: int) -> None:
        """Delete a webinar or meeting, its live stream, registrants and panelists."""
        self.effects.append(StreamEffect("stop", kind, session_id))
        for child, column in _CHILDREN.get(SESSION_TABLES[kind], ()):  # registrants, panelists
            for child_key, row in list(self.s.rows[child].items()):
                if getattr(row, column) == session_id:
                    self.delete(child, child_key)
        self._remove(E[SESSION_TABLES[kind]], session_id)
        self._remove(E["livestreams"], (kind, session_id))

    def get_session(
        self, kind: SessionKind, session_id: int, *, for_update: bool = False
    ) -> Session | None:
        found = self.s.sessions[kind].get(session_id)
        return None if found is None else _clone_session(found)

    def get_session_by_uuid(self, kind: SessionKind, uuid: str) -> Session | None:
        session_id = self.s.index[(SESSION_TABLES[kind], "uuid")].get(uuid)
        return None if session_id is None else self.get_session(kind, session_id)

    def list_sessions(
        self,
        kind: SessionKind,
        *,
        host_id: str | None = None,
        account_id: str | None = None,
        statuses: Sequence[str] | None = None,
        start_after: datetime | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[list[Session], int]:
        """Webinars or meetings in a stable order (no start time first, then start time, then
        id), with the total."""
        rows = [
            s
            for s in self.s.sessions[kind].values()
            if host_id in (None, s.host_id)
            and account_id in (None, s.account_id)
            and (statuses is None or s.status in statuses)
            and (
                start_after is None
                or s.status == "started"
                or (s.start_time is not None and s.start_time >= start_after)
            )
        ]
        rows.sort(key=lambda s: (s.start_time is not None, s.start_time or _EPOCH, s.id))
        page = rows[offset:] if limit is None else rows[offset : offset + limit]
        return [_clone_session(s) for s in page], len(rows)

    # live streams ----------------------------------------------------------------------------
    def get_livestream(
        self, kind: SessionKind, owner_id: int, *, for_update: bool = False
    ) -> LiveStream | None:
        found = self.s.streams.get((kind, owner_id))
        return None if found is None else _clone_stream(found)

    def list_livestreams(self, account_id: str | None = None) -> list[LiveStream]:
        return self.select("livestreams", lambda s: account_id in (None, s.account_id))

    def save_livestream(self, stream: LiveStream) -> None:
        """Insert or update, with an optimistic version check, and log its state changes. The
        effects it carries leave with a snapshot of what was committed."""
        current = self.s.streams.get((stream.kind, stream.owner_id))
        if stream.version and (current is None or current.version != stream.version):
            raise ConcurrentUpdate(f"{stream.kind} {stream.owner_id} changed meanwhile")
        self._verify(E["livestreams"], stream, new=stream.version == 0)
        stream.version += 1
        stored = _clone_stream(stream)
        self._put(E["livestreams"], stored)
        for change in stream.events:
            self.effects.append(StreamStateChanged(change, stream.last_error))
            self._log(
                "livestream_events",
                kind=change.kind,
                owner_id=change.owner_id,
                from_state=change.from_state,
                to_state=change.to_state,
                at=change.at,
                detail=change.detail,
            )
        stream.events.clear()
        for effect in stream.effects:
            if isinstance(effect, StreamEffect) and effect.stream is None:
                effect = StreamEffect(effect.action, effect.kind, effect.owner_id, stored)
            self.effects.append(effect)
        stream.effects.clear()

    def list_stream_events(
        self,
        kind: SessionKind | None = None,
        owner_id: int | None = None,
        *,
        after: int = 0,
        limit: int | None = None,
    ) -> list[StreamEvent]:
        """The log of state changes, oldest first, from the database (after every change
        submitted before this): those after event number ``after``, at most ``limit``."""
        self._before_query()
        return self.logs.stream_events(kind, owner_id, after, limit)

    def _before_query(self) -> None:
        # The query runs after every submitted change; this transaction's are not submitted.
        if self.ops:
            raise RuntimeError("read the logs before changing anything in a transaction")

    # daily counters --------------------------------------------------------------------------
    def bump_counter(self, key: str, day: str) -> int:
        """Add one to ``key`` for ``day`` and return the new count."""
        found = self.s.counters.get((key, day))
        count = (0 if found is None else found.count) + 1
        self._put(E["daily_counters"], DailyCount(key, day, count))
        return count

    def get_counter(self, key: str, day: str) -> int:
        found = self.s.counters.get((key, day))
        return 0 if found is None else found.count

    def list_counters(self) -> list[tuple[str, str, int]]:
        return sorted((c.key, c.day, c.count) for c in self.s.counters.values())

    # webhooks --------------------------------------------------------------------------------
    def put_subscription(self, sub: WebhookSubscription) -> None:
        """Set (or replace) the app's subscription; it starts unvalidated."""
        self._verify(E["webhook_subscriptions"], sub, new=False)
        self._put(E["webhook_subscriptions"], _clone_sub(sub))

    def get_subscription(self, client_id: str) -> WebhookSubscription | None:
        found = self.s.subscriptions.get(client_id)
        return None if found is None else _clone_sub(found)

    def validated_subscriptions(self, account_id: str) -> list[WebhookSubscription]:
        return [
            _clone_sub(s)
            for s in self.s.subscriptions.values()
            if s.account_id == account_id and s.validated_at is not None
        ]

    def stale_subscriptions(self, validated_before: datetime) -> list[str]:
        return [
            s.client_id
            for s in self.s.subscriptions.values()
            if s.validated_at is not None and s.validated_at < validated_before
        ]

    def first_validated_at(self) -> datetime | None:
        times = [s.validated_at for s in self.s.subscriptions.values() if s.validated_at]
        return min(times) if times else None

    def set_validation(
        self, sub: WebhookSubscription, validated_at: datetime | None, error: str | None
    ) -> None:
        """Record a validation's outcome, unless the subscription was replaced meanwhile."""
        current = self.s.subscriptions.get(sub.client_id)
        if current is None or (current.url, current.secret_token) != (sub.url, sub.secret_token):
            return
        changed = _clone_sub(current)
        changed.validated_at, changed.validation_error = validated_at, error
        self._put(E["webhook_subscriptions"], changed)

    def insert_delivery(
        self, sub: WebhookSubscription, event: str, body: str, now: datetime
    ) -> int:
        """Queue ``body`` for ``sub`` (to its URL); the delivery's id."""
        delivery = WebhookDelivery(
            id=self.s.next_delivery_id,
            client_id=sub.client_id,
            url=sub.url,
            event=event,
            body=body,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        old_next = self.s.next_delivery_id
        self._undo.append(lambda: setattr(self.s, "next_delivery_id", old_next))
        self._put(E["webhook_deliveries"], delivery)
        return delivery.id

    def next_delivery_due(self) -> datetime | None:
        times = [d.next_attempt_at for d in self.s.pending.values() if d.next_attempt_at]
        return min(times) if times else None

    def claim_deliveries(
        self,
        now: datetime,
        lease_until: datetime,
        *,
        room: int,
        per_endpoint: int,
        in_flight: dict[str, int],
        window: int,
    ) -> list[WebhookDelivery]:
        """Due deliveries that can start at once, oldest due first, at most ``room`` and at
        most ``per_endpoint`` per URL (counting ``in_flight``), among the first ``window`` due;
        each is leased (its next attempt moves to ``lease_until``) so no other sender takes
        it meanwhile."""
        due = [
            d
            for d in self.s.pending.values()
            if d.next_attempt_at is not None
            and d.next_attempt_at <= now
            and d.client_id in self.s.subscriptions
        ]
        due.sort(key=lambda d: (d.next_attempt_at or _EPOCH, d.id))
        taken = dict(in_flight)
        picked: list[WebhookDelivery] = []
        for d in due[:window]:
            if len(picked) >= room:
                break
            if taken.get(d.url, 0) < per_endpoint:
                taken[d.url] = taken.get(d.url, 0) + 1
                leased = _clone_delivery(d)
                leased.next_attempt_at = lease_until
                self._put(E["webhook_deliveries"], leased)
                out = _clone_delivery(leased)
                out.secret_token = self.s.subscriptions[d.client_id].secret_token
                picked.append(out)
        return picked

    def record_attempt(self, delivery: WebhookDelivery, attempt: WebhookAttempt) -> None:
        """Log an attempt and store the delivery's new status, count and next attempt."""
        kept = _clone_delivery(delivery)
        kept.secret_token = ""
        self._put(E["webhook_deliveries"], kept)
        self._log(
            "webhook_attempts",
            delivery_id=delivery.id,
            at=attempt.at,
            status_code=attempt.status_code,
            duration_ms=attempt.duration_ms,
            error=attempt.error,
            request_timestamp=attempt.request_timestamp,
            signature=attempt.signature,
        )

    def list_deliveries(
        self, limit: int = 200, *, before: int | None = None
    ) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
        """The latest deliveries (newest first, ids below ``before`` if given) with their
        attempts, from the database."""
        self._before_query()
        return self.logs.deliveries(limit, before)

    # the whole store -------------------------------------------------------------------------
    def reset(self) -> None:
        """Delete everything; running streams are told to stop."""
        for stream in self.s.streams.values():
            if stream.state != "stopped":
                self.effects.append(StreamEffect("stop", stream.kind, stream.owner_id))
        s = self.s
        saved = State()
        saved.replace(s)
        self._undo.append(lambda: s.replace(saved))
        s.clear()
        for table in CLEARED:
            self.ops.append(("clear", table, None))


CLEARED = (
    "spec_resources",
    "webhook_attempts",
    "webhook_deliveries",
    "webhook_subscriptions",
    "livestream_events",
    "livestreams",
    "daily_counters",
    "join_tokens",
    "meeting_invite_links",
    "webinar_invite_links",
    "webinar_panelists",
    "meeting_registration_questions",
    "webinar_registration_questions",
    "meeting_registrants",
    "webinar_registrants",
    "meetings",
    "webinars",
    "tokens",
    "apps",
    "users",
    "accounts",
)
"""Every table of Zoom's state, children first (what a reset empties)."""


def _restore(state: State, entity: Entity, key: Any, old: Any) -> None:
    if old is MISSING:
        state.remove(entity, key)
    else:
        state.put(entity, old)
