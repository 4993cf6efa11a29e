"""Webhooks as Zoom sends them: per S2S app an event subscription (URL, secret token, events),
signed deliveries through an outbox in the store, Zoom's retry schedule, URL validation.

Signing (notes §5): ``x-zm-request-timestamp`` (epoch seconds) and ``x-zm-signature`` =
``v0=`` + hex HMAC-SHA256(secret token, ``v0:{timestamp}:{raw body}``). URL validation: an
``endpoint.url_validation`` event with a ``plainToken``; the endpoint must answer 200 with the
same ``plainToken`` and ``encryptedToken`` = hex HMAC-SHA256(secret token, plainToken).
Delivery: a 2xx within 3 s, else retries at +5, +20 and +60 minutes, all scaled by
``Settings.webhook_time_scale`` so tests need not wait an hour. A delivery is a row in the same
transaction as the change it reports, so an acknowledged change never loses its webhook, even
across a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio.to_thread
import httpx
from sqlalchemy import select, update

from .._random import Clock
from .._store import Session, Store, Tx
from .._store import schema as s
from .._wire import zoom_time

log = logging.getLogger("zoomlive.webhooks")

EVENTS = (
    "webinar.created",
    "webinar.updated",
    "webinar.deleted",
    "webinar.started",
    "webinar.ended",
    "meeting.started",
    "meeting.ended",
    "meeting.live_streaming_started",
    "meeting.live_streaming_stopped",
)
RETRY_AFTER_S = (300, 1200, 3600)  # Zoom: +5 min, +20 min, +60 min
TIMEOUT_S = 3.0
REVALIDATE_S = 72 * 3600
LEASE_S = 30.0


@dataclass(frozen=True)
class WebhookWake:
    """Effect: new deliveries are waiting."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    message = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def session_object(session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "uuid": session.uuid,
        "host_id": session.host_id,
        "topic": session.topic,
        "type": session.type,
        "start_time": zoom_time(session.start_time),
        "duration": session.duration,
        "timezone": session.timezone,
    }


def emit(
    tx: Tx,
    now: datetime,
    account_id: str,
    event: str,
    obj: dict[str, Any],
    *,
    operator: tuple[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> int:
    """Queue ``event`` for every validated subscription of the account that wants it."""
    subs = tx.conn.execute(
        select(s.webhook_subscriptions).where(
            s.webhook_subscriptions.c.account_id == account_id,
            s.webhook_subscriptions.c.validated_at.is_not(None),
        )
    ).all()
    wanted = [row for row in subs if event in row.events.split(" ")]
    if not wanted:
        return 0
    payload: dict[str, Any] = {"account_id": account_id, "object": obj}
    if operator is not None:
        payload["operator"], payload["operator_id"] = operator
    payload.update(extra or {})
    body = json.dumps(
        {"event": event, "event_ts": int(now.timestamp() * 1000), "payload": payload},
        separators=(",", ":"),
    )
    for row in wanted:
        tx.conn.execute(
            s.webhook_deliveries.insert().values(
                client_id=row.client_id,
                url=row.url,
                event=event,
                body=body,
                status="pending",
                attempts=0,
                next_attempt_at=_naive(now),
                created_at=_naive(now),
            )
        )
    tx.effects.append(WebhookWake())
    return len(wanted)


def _naive(value: datetime) -> datetime:
    from datetime import UTC

    return value.astimezone(UTC).replace(tzinfo=None)


def _aware(value: datetime | None) -> datetime | None:
    from datetime import UTC

    return None if value is None else value.replace(tzinfo=UTC)


def owner_of(tx: Tx, account_id: str) -> tuple[str, str] | None:
    users = tx.list_users(account_id)
    return (users[0].email, users[0].id) if users else None


@dataclass
class Due:
    id: int
    client_id: str
    url: str
    body: str
    attempts: int
    secret: str


class WebhookDispatcher:
    """Sends due deliveries from the outbox; runs in the server's event loop."""

    def __init__(self, store: Store, clock: Clock, time_scale: float = 1.0) -> None:
        self.store = store
        self.clock = clock
        self.scale = time_scale
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None
        self.listeners: list[Any] = []

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._http = httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False, trust_env=False)
        self.store.on_commit.append(self.on_commit)
        self._task = asyncio.create_task(self._run(), name="zoomlive-webhooks")

    async def close(self) -> None:
        with contextlib.suppress(ValueError):
            self.store.on_commit.remove(self.on_commit)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._http is not None:
            await self._http.aclose()

    def on_commit(self, effects: list[Any]) -> None:
        if any(isinstance(e, WebhookWake) for e in effects) and self._loop and self._wake:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            try:
                due = await anyio.to_thread.run_sync(self._claim_due)
                if due:
                    await asyncio.gather(*(self._deliver(d) for d in due))
                    continue
                await anyio.to_thread.run_sync(self._revalidate_due)
            except Exception:
                log.exception("webhook dispatcher")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.25)
            self._wake.clear()

    def _claim_due(self) -> list[Due]:
        """Take up to 16 due deliveries, leasing them so another worker does not send them."""
        now = self.clock.now()
        d, sub = s.webhook_deliveries, s.webhook_subscriptions
        with self.store.write() as tx:
            rows = tx.conn.execute(
                select(d, sub.c.secret_token)
                .join(sub, sub.c.client_id == d.c.client_id)
                .where(d.c.status == "pending", d.c.next_attempt_at <= _naive(now))
                .order_by(d.c.next_attempt_at, d.c.id)
                .limit(16)
            ).all()
            lease = _naive(now + timedelta(seconds=LEASE_S))
            for row in rows:
                tx.conn.execute(update(d).where(d.c.id == row.id).values(next_attempt_at=lease))
        return [Due(r.id, r.client_id, r.url, r.body, r.attempts, r.secret_token) for r in rows]

    async def _deliver(self, due: Due) -> None:
        assert self._http is not None
        body = due.body.encode()
        timestamp = str(int(self.clock.now().timestamp()))
        headers = {
            "content-type": "application/json",
            "user-agent": "Zoom Marketplace/1.0a",
            "x-zm-request-timestamp": timestamp,
            "x-zm-signature": sign(due.secret, timestamp, body),
        }
        started = time.monotonic()
        code: int | None = None
        error: str | None = None
        try:
            response = await self._http.post(due.url, content=body, headers=headers)
            code = response.status_code
        except httpx.HTTPError as exc:
            error = f"{exc.__class__.__name__}: {exc}"[:300]
        elapsed = int((time.monotonic() - started) * 1000)
        ok = code is not None and 200 <= code < 300
        await anyio.to_thread.run_sync(
            self._record, due, code, elapsed, error, ok, timestamp, headers["x-zm-signature"]
        )
        for listener in self.listeners:
            listener(
                {
                    "delivery": due.id,
                    "attempt": due.attempts + 1,
                    "status_code": code,
                    "ok": ok,
                    "error": error,
                }
            )

    def _record(
        self,
        due: Due,
        code: int | None,
        ms: int,
        error: str | None,
        ok: bool,
        timestamp: str,
        signature: str,
    ) -> None:
        now = self.clock.now()
        attempts = due.attempts + 1
        values: dict[str, Any] = {"attempts": attempts}
        if ok:
            values.update(status="delivered", delivered_at=_naive(now), next_attempt_at=None)
        elif attempts > len(RETRY_AFTER_S):
            values.update(status="failed", next_attempt_at=None)
        else:
            wait = RETRY_AFTER_S[attempts - 1] * self.scale
            values.update(next_attempt_at=_naive(now + timedelta(seconds=wait)))
        with self.store.write() as tx:
            tx.conn.execute(
                s.webhook_attempts.insert().values(
                    delivery_id=due.id,
                    at=_naive(now),
                    status_code=code,
                    duration_ms=ms,
                    error=error,
                    request_timestamp=timestamp,
                    signature=signature,
                )
            )
            tx.conn.execute(
                update(s.webhook_deliveries)
                .where(s.webhook_deliveries.c.id == due.id)
                .values(**values)
            )

    def _revalidate_due(self) -> None:
        """Zoom validates an endpoint again every 72 hours (scaled)."""
        horizon = self.clock.now() - timedelta(seconds=REVALIDATE_S * self.scale)
        with self.store.read() as tx:
            stale = tx.conn.execute(
                select(s.webhook_subscriptions.c.client_id).where(
                    s.webhook_subscriptions.c.validated_at < _naive(horizon)
                )
            ).all()
        for row in stale:
            validate(self.store, self.clock, row.client_id)


def validate(store: Store, clock: Clock, client_id: str) -> tuple[bool, str | None]:
    """Send ``endpoint.url_validation`` and record the outcome (blocking; worker threads)."""
    with store.read() as tx:
        row = tx.conn.execute(
            select(s.webhook_subscriptions).where(s.webhook_subscriptions.c.client_id == client_id)
        ).first()
    if row is None:
        return False, "no subscription"
    plain = secrets.token_urlsafe(16)
    now = clock.now()
    body = json.dumps(
        {
            "payload": {"plainToken": plain},
            "event_ts": int(now.timestamp() * 1000),
            "event": "endpoint.url_validation",
        },
        separators=(",", ":"),
    ).encode()
    timestamp = str(int(now.timestamp()))
    expected = hmac.new(row.secret_token.encode(), plain.encode(), hashlib.sha256).hexdigest()
    error: str | None = None
    try:
        response = httpx.post(
            row.url,
            content=body,
            timeout=TIMEOUT_S,
            trust_env=False,
            headers={
                "content-type": "application/json",
                "x-zm-request-timestamp": timestamp,
                "x-zm-signature": sign(row.secret_token, timestamp, body),
            },
        )
        answer = response.json() if response.status_code == 200 else {}
        if response.status_code != 200:
            error = f"answered {response.status_code}"
        elif not isinstance(answer, dict) or answer.get("plainToken") != plain:
            error = "plainToken missing or wrong"
        elif not hmac.compare_digest(str(answer.get("encryptedToken", "")), expected):
            error = "encryptedToken wrong"
    except (httpx.HTTPError, ValueError) as exc:
        error = f"{exc.__class__.__name__}: {exc}"[:300]
    with store.write() as tx:
        tx.conn.execute(
            update(s.webhook_subscriptions)
            .where(s.webhook_subscriptions.c.client_id == client_id)
            .values(
                validated_at=_naive(clock.now()) if error is None else None,
                validation_error=error,
            )
        )
    return error is None, error


def deliveries(tx: Tx, limit: int = 200) -> list[dict[str, Any]]:
    d, a = s.webhook_deliveries, s.webhook_attempts
    rows = tx.conn.execute(select(d).order_by(d.c.id.desc()).limit(limit)).all()
    out = []
    for row in rows:
        attempts = tx.conn.execute(
            select(a).where(a.c.delivery_id == row.id).order_by(a.c.id)
        ).all()
        out.append(
            {
                "id": row.id,
                "client_id": row.client_id,
                "url": row.url,
                "event": row.event,
                "body": row.body,
                "status": row.status,
                "attempts": [
                    {
                        "at": zoom_time(_aware(x.at)),
                        "status_code": x.status_code,
                        "duration_ms": x.duration_ms,
                        "error": x.error,
                        "x-zm-request-timestamp": x.request_timestamp,
                        "x-zm-signature": x.signature,
                    }
                    for x in attempts
                ],
                "next_attempt_at": zoom_time(_aware(row.next_attempt_at)),
                "created_at": zoom_time(_aware(row.created_at)),
                "delivered_at": zoom_time(_aware(row.delivered_at)),
            }
        )
    return out
