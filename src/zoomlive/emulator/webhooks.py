"""Webhooks as Zoom sends them: per S2S app an event subscription (URL, secret token, events),
signed deliveries through an outbox in the store, Zoom's retry schedule, URL validation.

Bodies carry what Zoom's webhook document lists for the event, written as ``JSON.stringify``
writes them (raw UTF-8): :mod:`zoomlive.emulator.webhook_payloads`. Signing (notes §5):
``x-zm-request-timestamp`` (epoch seconds) and ``x-zm-signature`` = ``v0=`` + hex
HMAC-SHA256(secret token, ``v0:{timestamp}:{body}``) over the bytes sent. URL validation: an
``endpoint.url_validation`` event with a ``plainToken``; the endpoint must answer 200 with the
same ``plainToken`` and ``encryptedToken`` = hex HMAC-SHA256(secret token, plainToken).
Delivery: a 2xx within 3 s, else retries at +5, +20 and +60 minutes, all scaled by
``Settings.webhook_time_scale`` so tests need not wait an hour. A delivery is a row in the same
transaction as the change it reports, so an acknowledged change never loses its webhook, even
across a restart.

The 3 s are a deadline for the whole exchange (connect, request, status and the full answer),
for deliveries and validations alike. Every delivery is its own task: a slow endpoint delays only
its own deliveries (at most ``PER_ENDPOINT`` in flight to one URL, ``MAX_IN_FLIGHT`` in all).
HTTP runs on the event loop, never in a worker thread; only store work does, in threads the
dispatcher waits for when it closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import Counter
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
from anyio import CapacityLimiter

from zoomlive.api.wire import zoom_time
from zoomlive.emulator.clock import Clock
from zoomlive.emulator.concurrency import ThreadGroup, wait_at_most
from zoomlive.emulator.store import Store, Tx, WebhookAttempt, WebhookDelivery, WebhookSubscription
from zoomlive.emulator.webhook_payloads import (
    documented_events,
    event_body,
    js_json_bytes,
    payload_for,
)

log = logging.getLogger("zoomlive.webhooks")

EVENTS = (
    "webinar.created",
    "webinar.updated",
    "webinar.deleted",
    "webinar.started",
    "webinar.ended",
    "meeting.created",
    "meeting.updated",
    "meeting.deleted",
    "meeting.started",
    "meeting.ended",
    "meeting.live_streaming_started",
    "meeting.live_streaming_stopped",
    *(
        f"{kind}.registration_{what}"
        for kind in ("webinar", "meeting")
        for what in ("created", "approved", "denied", "cancelled")
    ),
    "user.created",
    "user.updated",
    "user.settings_updated",
    "user.disassociated",
    "user.deleted",
)
RETRY_AFTER_S = (300, 1200, 3600)  # Zoom: +5 min, +20 min, +60 min
TIMEOUT_S = 3.0  # Zoom: the whole answer within 3 s (not scaled)
REVALIDATE_S = 72 * 3600
LEASE_S = 30.0  # well above TIMEOUT_S: a lease outlives the attempt it covers
PER_ENDPOINT = 4  # deliveries in flight to one URL
MAX_IN_FLIGHT = 64  # deliveries in flight in all (per worker process)
CLAIM_WINDOW = 256  # due deliveries looked at per claim
STORE_THREADS = 4  # worker threads for the dispatcher's store work
MAX_SLEEP_S = 1.0
"""Look again at least this often (another worker may have queued deliveries: a read only)."""
MIN_SLEEP_S = 0.01
ANSWER_BYTES = 64 * 1024  # the longest validation answer read

T = TypeVar("T")


@dataclass(frozen=True)
class WebhookWake:
    """Effect: new deliveries are waiting."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    message = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def emit(
    tx: Tx,
    now: datetime,
    account_id: str,
    event: str,
    record: Mapping[str, Any] | Any,
    *,
    old: Mapping[str, Any] | Any | None = None,
    operator: tuple[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> int:
    """Queue ``event`` for every validated subscription of the account that wants it, with the
    payload Zoom documents for it built from ``record`` (and ``old``, for an update): see
    :func:`zoomlive.emulator.webhook_payloads.payload_for`. The body is stored as sent."""
    wanted = [sub for sub in tx.validated_subscriptions(account_id) if event in sub.events]
    if not wanted:
        return 0
    payload = payload_for(
        event, record, old, account_id=account_id, operator=operator, now=now, extra=extra
    )
    body = event_body(event, now, payload)
    for sub in wanted:
        tx.insert_delivery(sub, event, body, now)
    tx.effects.append(WebhookWake())
    return len(wanted)


def owner_of(tx: Tx, account_id: str) -> tuple[str, str] | None:
    users = tx.list_users(account_id)
    return (users[0].email, users[0].id) if users else None


def deadline_error(deadline: float) -> str:
    return f"no answer within {deadline:g} s"


def new_client() -> httpx.AsyncClient:
    """The connection pool is not a limit: the dispatcher's own caps bound deliveries, and a
    request queued for a pooled connection would only eat into its deadline."""
    return httpx.AsyncClient(
        timeout=TIMEOUT_S,
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=20),
        follow_redirects=False,
        trust_env=False,
    )


async def exchange(
    http: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: dict[str, str],
    deadline: float,
    keep: int = 0,
) -> tuple[int, bytes | None]:
    """POST ``body`` and read the whole answer, all within ``deadline`` seconds (a slow-drip
    answer is cut off at the deadline). Returns the status code and the answer's first ``keep``
    bytes, or ``None`` when it was longer. Raises ``TimeoutError`` at the deadline."""
    async with (
        asyncio.timeout(deadline),
        http.stream("POST", url, content=body, headers=headers) as response,
    ):
        data = bytearray()
        longer = False
        async for chunk in response.aiter_bytes():
            if len(data) + len(chunk) > keep:
                longer = True
            elif not longer:
                data += chunk
        return response.status_code, None if longer else bytes(data)


def http_error(exc: Exception, deadline: float) -> str:
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return deadline_error(deadline)
    return f"{exc.__class__.__name__}: {exc}"[:300]


class WebhookDispatcher:
    """Sends due deliveries from the outbox; runs in the server's event loop.

    Each delivery is its own task, so a slow endpoint holds up only its own deliveries: at most
    ``per_endpoint`` at once to one URL and ``max_in_flight`` in all. A delivery is claimed (and
    leased) only when it can start at once; to one URL, deliveries start in the order they fell
    due. URL validations (``validate``) run here too, on the event loop: no worker thread waits
    on an endpoint. Every HTTP exchange must finish within ``deadline`` seconds."""

    def __init__(self, store: Store, clock: Clock, time_scale: float = 1.0) -> None:
        self.store = store
        self.clock = clock
        self.scale = time_scale
        self.deadline = TIMEOUT_S
        self.per_endpoint = PER_ENDPOINT
        self.max_in_flight = MAX_IN_FLIGHT
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None
        self._threads = ThreadGroup()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._in_flight: Counter[str] = Counter()
        self._revalidating: set[str] = set()
        self._closing = False
        self.listeners: list[Any] = []
        self.faults: Any = None
        """Webhook fault rules (``zoomlive.emulator.faults.WebhookFaults``), set by the app."""

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._http = new_client()
        # Its own few threads: webhook bookkeeping never takes the request handlers' threads.
        self._threads = ThreadGroup(CapacityLimiter(STORE_THREADS))
        self.store.on_commit.append(self.on_commit)
        self._task = asyncio.create_task(self._run(), name="zoomlive-webhooks")
        # Zoom's webhook documents, read now rather than by the first event under the store's lock.
        self._spawn(self._threads.run(documented_events), "zoomlive-webhook-documents")

    async def close(self) -> None:
        """Stop sending: cancel the loop, the deliveries and validations in flight, and wait for
        them and for their store work in worker threads."""
        self._closing = True
        with contextlib.suppress(ValueError):
            self.store.on_commit.remove(self.on_commit)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._threads.drain()
        if self._http is not None:
            await self._http.aclose()

    def on_commit(self, effects: list[Any]) -> None:
        if any(isinstance(e, WebhookWake) for e in effects) and self._loop and self._wake:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                self._loop.call_soon_threadsafe(self._wake.set)

    async def validate(self, client_id: str) -> tuple[bool, str | None]:
        """Validate the app's endpoint now (``set_webhook``); the outcome is recorded."""
        if self._closing or self._http is None:
            return False, "the emulator is shutting down"
        task = self._spawn(
            validate(
                self.store,
                self.clock,
                client_id,
                http=self._http,
                deadline=self.deadline,
                threads=self._threads,
            ),
            f"zoomlive-validate-{client_id}",
        )
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and current is not None and not current.cancelling():
                return False, "the emulator is shutting down"  # close() cancelled it
            raise

    def _spawn(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run(self) -> None:
        """Claim what is due, start it, then sleep until the next thing falls due (or a commit
        or the clock wakes us): when nothing happens, the dispatcher writes nothing."""
        assert self._wake is not None
        while True:
            self._wake.clear()
            wait = MAX_SLEEP_S
            try:
                now = self.clock.now()
                next_due, first_validated = await self._threads.run(self._due_times)
                room = self.max_in_flight - sum(self._in_flight.values())
                if next_due is not None and next_due <= now and room > 0:
                    due = await self._threads.run(self._claim_due, room, dict(self._in_flight))
                    for item in due:
                        self._start_delivery(item)
                    if due:
                        continue  # more may be due (to endpoints that have room)
                elif next_due is not None:
                    wait = min(wait, (next_due - now).total_seconds())
                revalidate = timedelta(seconds=REVALIDATE_S * self.scale)
                if first_validated is not None and first_validated + revalidate <= now:
                    for client_id in await self._threads.run(self._stale_subscriptions):
                        self._start_revalidation(client_id)
                elif first_validated is not None:
                    wait = min(wait, (first_validated + revalidate - now).total_seconds())
            except Exception:
                log.exception("webhook dispatcher")
            await wait_at_most(self._wake.wait(), max(wait, MIN_SLEEP_S))

    def poke(self) -> None:
        """Look again now (the clock moved). Thread-safe."""
        if self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._wake.set)

    def _due_times(self) -> tuple[datetime | None, datetime | None]:
        """When the next delivery falls due, and the oldest validation (a read)."""
        with self.store.read() as tx:
            return tx.next_delivery_due(), tx.first_validated_at()

    def _start_delivery(self, due: WebhookDelivery) -> None:
        self._in_flight[due.url] += 1
        task = self._spawn(self._deliver(due), f"zoomlive-webhook-{due.id}")
        task.add_done_callback(lambda t: self._delivered(due.url, t))

    def _delivered(self, url: str, task: asyncio.Task[None]) -> None:
        self._in_flight[url] -= 1
        if self._in_flight[url] <= 0:
            del self._in_flight[url]
        if not task.cancelled() and task.exception() is not None:
            log.error("webhook delivery", exc_info=task.exception())
        if self._wake is not None:
            self._wake.set()  # the endpoint has room again

    def _start_revalidation(self, client_id: str) -> None:
        if client_id in self._revalidating or self._closing or self._http is None:
            return
        self._revalidating.add(client_id)
        task = self._spawn(
            validate(
                self.store,
                self.clock,
                client_id,
                http=self._http,
                deadline=self.deadline,
                threads=self._threads,
            ),
            f"zoomlive-revalidate-{client_id}",
        )
        task.add_done_callback(lambda t: self._revalidated(client_id, t))

    def _revalidated(self, client_id: str, task: asyncio.Task[tuple[bool, str | None]]) -> None:
        self._revalidating.discard(client_id)
        if not task.cancelled() and task.exception() is not None:
            log.error("webhook revalidation", exc_info=task.exception())

    def _claim_due(self, room: int, in_flight: dict[str, int]) -> list[WebhookDelivery]:
        """Take due deliveries that can start at once: at most ``room`` in all and no more to one
        URL than it has room for; lease them so that another worker does not send them too."""
        now = self.clock.now()
        with self.store.write() as tx:
            return tx.claim_deliveries(
                now,
                now + timedelta(seconds=LEASE_S),
                room=room,
                per_endpoint=self.per_endpoint,
                in_flight=in_flight,
                window=CLAIM_WINDOW,
            )

    async def _deliver(self, due: WebhookDelivery) -> None:
        assert self._http is not None
        body = due.body.encode()
        timestamp = str(int(self.clock.now().timestamp()))
        headers = {
            "content-type": "application/json",
            "user-agent": "Zoom Marketplace/1.0a",
            "x-zm-request-timestamp": timestamp,
            "x-zm-signature": sign(due.secret_token, timestamp, body),
        }
        started = time.monotonic()
        code: int | None = None
        error: str | None = None
        send = functools.partial(exchange, self._http, due.url, body, headers, self.deadline)
        try:
            if self.faults is not None and self.faults.active:
                code, error = await self.faults.deliver(due.event, due.id, send)
            else:
                code, _ = await send()
        except (TimeoutError, httpx.HTTPError) as exc:
            error = http_error(exc, self.deadline)
        elapsed = int((time.monotonic() - started) * 1000)
        ok = code is not None and 200 <= code < 300
        await self._threads.run(
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
        due: WebhookDelivery,
        code: int | None,
        ms: int,
        error: str | None,
        ok: bool,
        timestamp: str,
        signature: str,
    ) -> None:
        now = self.clock.now()
        due.attempts += 1
        if ok:
            due.status, due.delivered_at, due.next_attempt_at = "delivered", now, None
        elif due.attempts > len(RETRY_AFTER_S):
            due.status, due.next_attempt_at = "failed", None
        else:
            wait = RETRY_AFTER_S[due.attempts - 1] * self.scale
            due.next_attempt_at = now + timedelta(seconds=wait)
        attempt = WebhookAttempt(now, code, ms, error, timestamp, signature)
        with self.store.write() as tx:
            tx.record_attempt(due, attempt)

    def _stale_subscriptions(self) -> list[str]:
        """Zoom validates an endpoint again every 72 hours (scaled)."""
        horizon = self.clock.now() - timedelta(seconds=REVALIDATE_S * self.scale)
        with self.store.read() as tx:
            return tx.stale_subscriptions(horizon)


def _subscription(store: Store, client_id: str) -> WebhookSubscription | None:
    with store.read() as tx:
        return tx.get_subscription(client_id)


def _record_validation(
    store: Store, clock: Clock, sub: WebhookSubscription, error: str | None
) -> None:
    with store.write() as tx:
        tx.set_validation(sub, clock.now() if error is None else None, error)


async def validate(
    store: Store,
    clock: Clock,
    client_id: str,
    *,
    http: httpx.AsyncClient | None = None,
    deadline: float = TIMEOUT_S,
    threads: ThreadGroup | None = None,
) -> tuple[bool, str | None]:
    """Send ``endpoint.url_validation`` and record the outcome. The HTTP exchange runs on the
    event loop within ``deadline`` seconds; the store's reads and writes in worker threads."""
    if threads is None:
        threads = ThreadGroup()
    row = await threads.run(_subscription, store, client_id)
    if row is None:
        return False, "no subscription"
    plain = secrets.token_urlsafe(16)
    now = clock.now()
    body = js_json_bytes(
        {
            "payload": {"plainToken": plain},
            "event_ts": int(now.timestamp() * 1000),
            "event": "endpoint.url_validation",
        }
    )
    timestamp = str(int(now.timestamp()))
    expected = hmac.new(row.secret_token.encode(), plain.encode(), hashlib.sha256).hexdigest()
    headers = {
        "content-type": "application/json",
        "user-agent": "Zoom Marketplace/1.0a",
        "x-zm-request-timestamp": timestamp,
        "x-zm-signature": sign(row.secret_token, timestamp, body),
    }
    error: str | None = None
    try:
        if http is None:
            async with new_client() as own:
                code, raw = await exchange(own, row.url, body, headers, deadline, ANSWER_BYTES)
        else:
            code, raw = await exchange(http, row.url, body, headers, deadline, ANSWER_BYTES)
        if code != 200:
            error = f"answered {code}"
        elif raw is None:
            error = f"answer longer than {ANSWER_BYTES} bytes"
        else:
            answer = json.loads(raw)
            if not isinstance(answer, dict) or answer.get("plainToken") != plain:
                error = "plainToken missing or wrong"
            elif not hmac.compare_digest(str(answer.get("encryptedToken", "")), expected):
                error = "encryptedToken wrong"
    except (TimeoutError, httpx.HTTPError, ValueError) as exc:
        error = http_error(exc, deadline)
    await threads.run(_record_validation, store, clock, row, error)
    return error is None, error


def deliveries(tx: Tx, limit: int = 200, *, before: int | None = None) -> list[dict[str, Any]]:
    """The delivery log as the control API shows it: newest first (ids below ``before``, if
    given), with every attempt."""
    return [
        {
            "id": d.id,
            "client_id": d.client_id,
            "url": d.url,
            "event": d.event,
            "body": d.body,
            "status": d.status,
            "attempts": [
                {
                    "at": zoom_time(x.at),
                    "status_code": x.status_code,
                    "duration_ms": x.duration_ms,
                    "error": x.error,
                    "x-zm-request-timestamp": x.request_timestamp,
                    "x-zm-signature": x.signature,
                }
                for x in attempts
            ],
            "next_attempt_at": zoom_time(d.next_attempt_at),
            "created_at": zoom_time(d.created_at),
            "delivered_at": zoom_time(d.delivered_at),
        }
        for d, attempts in tx.list_deliveries(limit, before=before)
    ]
