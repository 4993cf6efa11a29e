"""The control API under ``/_emulator``: what the dashboard, tests and users drive the emulator
with. Zoom has no such paths. Guarded by the admin key when one is set (``X-Admin-Key``).

Errors use the same ``{"code", "message"}`` body as the Zoom routes.
"""

from __future__ import annotations

import hmac
import os
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from zoomlive._version import __version__
from zoomlive.api.errors import E, ZoomError
from zoomlive.api.sessions import KINDS, SessionKind
from zoomlive.emulator import webhooks
from zoomlive.emulator.control import seed, snapshots, trigger
from zoomlive.emulator.control.endpoints import (
    ControlHandler,
    ControlRequest,
    check_admin,
    endpoint,
)
from zoomlive.emulator.control.state import account_record, state_dump, stream_state
from zoomlive.emulator.env import Env
from zoomlive.emulator.feed import events_response
from zoomlive.emulator.http import (
    error_response,
    get_env,
    validate_model,
)
from zoomlive.emulator.rules.common import parse_session_id
from zoomlive.emulator.rules.sessions import end_session, session_record, start_session
from zoomlive.emulator.store import LiveStream, Session, WebhookSubscription

# paging: every list of the control API is paged as Zoom pages its own lists (page_size,
# next_page_token); a list answered as a JSON array names its next page in headers, so the
# array stays what it was.

NEXT_PAGE = "X-Next-Page-Token"


def _page(req: ControlRequest, default: int, maximum: int = 1000) -> tuple[int, int | None]:
    """``page_size`` (1..maximum) and the cursor in ``next_page_token`` (a number)."""
    size, token = req.query.get("page_size"), req.query.get("next_page_token")
    if size is not None and (not size.isdigit() or not 1 <= int(size) <= maximum):
        raise E.CONTROL_PAGE_SIZE.error(maximum=maximum)
    if token and not token.isdigit():
        raise E.CONTROL_PAGE_TOKEN.error()
    return (int(size) if size else default), (int(token) if token else None)


def _paged(items: list[Any], size: int, token: int | None) -> tuple[list[Any], str]:
    """A page of an in-memory list (the token is an offset) and the next token ("" at the end)."""
    start = token or 0
    page = items[start : start + size]
    return page, str(start + size) if start + size < len(items) else ""


def _array(items: list[Any], next_token: str) -> Response:
    headers = {NEXT_PAGE: next_token} if next_token else None
    return JSONResponse(items, headers=headers)


def _account_or_404(tx: Any, account_id: str) -> None:
    if tx.get_account(account_id) is None:
        raise E.CONTROL_NOT_FOUND.error(what="Account", id=account_id)


# handlers ------------------------------------------------------------------------------------


def health(env: Env, req: ControlRequest) -> Response:
    return JSONResponse(
        {
            "status": "ok",
            "version": __version__,
            "schema": env.store.schema_revision(),
            "pid": os.getpid(),
        }
    )


def state(env: Env, req: ControlRequest) -> Response:
    with env.store.read() as tx:
        data = state_dump(tx)
    data["clock"] = env.clock.now().isoformat()
    return JSONResponse(data)


class ResetBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    demo: bool | None = None
    """Re-seed the demo account afterwards (default: as the server was started)."""


def reset(env: Env, req: ControlRequest) -> Response:
    body = validate_model(ResetBody, req.document() or {})
    demo = env.settings.demo if body.demo is None else body.demo
    with env.store.write() as tx:
        tx.reset()
        if demo:
            seed.load(env, tx, seed.demo(env.settings.advertised_url))
    env.clock.reset()
    if env.limiter is not None:
        env.limiter.counters.clear()
        env.limiter.refused.clear()
    if env.faults is not None:
        env.faults.clear()
    return JSONResponse({"reset": True, "demo": demo})


def load_seed(env: Env, req: ControlRequest) -> Response:
    doc = validate_model(seed.SeedDoc, req.document())
    with env.store.write() as tx:
        credentials = seed.load(env, tx, doc)
    return JSONResponse({"credentials": credentials}, status_code=201)


def list_accounts(env: Env, req: ControlRequest) -> Response:
    size, token = _page(req, 1000)
    with env.store.read() as tx:
        page, following = _paged(tx.list_accounts(), size, token)
    return _array([account_record(a) for a in page], following)


def create_account(env: Env, req: ControlRequest) -> Response:
    spec = validate_model(seed.SeedAccount, req.document())
    with env.store.write() as tx:
        account, credentials = seed.add_account(env, tx, spec)
    return JSONResponse({"id": account.id, "credentials": credentials}, status_code=201)


class AccountPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    plan: Literal["free", "pro", "business", "enterprise"] | None = None
    webinar_addon: bool | None = None
    custom_live_streaming: bool | None = None


def update_account(env: Env, req: ControlRequest) -> Response:
    patch = validate_model(AccountPatch, req.document())
    with env.store.write() as tx:
        account = tx.get_account(req.path["accountId"])
        if account is None:
            raise E.CONTROL_NOT_FOUND.error(what="Account", id=req.path["accountId"])
        for key, value in patch.model_dump(exclude_none=True).items():
            setattr(account, key, value)
        tx.update_account(account)
    return Response(status_code=204)


def create_user(env: Env, req: ControlRequest) -> Response:
    spec = validate_model(seed.SeedUser, req.document())
    with env.store.write() as tx:
        _account_or_404(tx, req.path["accountId"])
        user = seed.add_user(env, tx, req.path["accountId"], spec)
    return JSONResponse({"id": user.id, "email": user.email, "account_id": user.account_id}, 201)


def create_app_credentials(env: Env, req: ControlRequest) -> Response:
    spec = validate_model(seed.SeedApp, req.document())
    with env.store.write() as tx:
        _account_or_404(tx, req.path["accountId"])
        credentials = seed.add_app(env, tx, req.path["accountId"], spec)
    return JSONResponse(credentials, status_code=201)


class AppPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = None
    scopes: list[str] | None = None
    name: str | None = Field(default=None, max_length=200)


def update_app(env: Env, req: ControlRequest) -> Response:
    patch = validate_model(AppPatch, req.document())
    with env.store.write() as tx:
        app = tx.get_app(req.path["clientId"])
        if app is None:
            raise E.CONTROL_NOT_FOUND.error(what="App", id=req.path["clientId"])
        for key, value in patch.model_dump(exclude_none=True).items():
            setattr(app, key, value)
        tx.update_app(app)
    return Response(status_code=204)


def create_session(kind: SessionKind) -> ControlHandler:
    def create(env: Env, req: ControlRequest) -> Response:
        spec = validate_model(seed.SEED_MODELS[kind], req.document())
        with env.store.write() as tx:
            _account_or_404(tx, req.path["accountId"])
            made = seed.add_session(env, tx, req.path["accountId"], spec, kind)
        return JSONResponse(session_record(made), status_code=201)

    create.__name__ = f"create_{kind}"
    return create


def _load(tx: Any, kind: SessionKind, req: ControlRequest, *, for_update: bool = False) -> Session:
    spec = KINDS[kind]
    session_id, _ = parse_session_id(req.path[spec.id_param], spec)
    assert session_id is not None
    found = tx.get_session(kind, session_id, for_update=for_update)
    if found is None:
        raise E.CONTROL_SESSION_NOT_FOUND.error(noun=spec.noun, id=session_id)
    return cast(Session, found)


def host_action(kind: SessionKind, action: Literal["start", "end"]) -> ControlHandler:
    """Play the host: start or end a webinar or meeting, as the Zoom app would."""

    def act(env: Env, req: ControlRequest) -> Response:
        with env.store.write() as tx:
            found = _load(tx, kind, req, for_update=True)
            noun = KINDS[kind].noun
            if action == "start":
                if found.status == "started":
                    raise E.CONTROL_ALREADY_RUNNING.error(noun=noun, id=found.id)
                start_session(env, tx, found)
            else:
                if found.status != "started":
                    raise E.CONTROL_NOT_RUNNING.error(noun=noun, id=found.id)
                end_session(env, tx, found)
        return JSONResponse(session_record(found))

    act.__name__ = f"{kind}_{action}"
    return act


def stream_runtime(kind: SessionKind) -> ControlHandler:
    """A live stream's runtime state and its state changes."""

    def runtime(env: Env, req: ControlRequest) -> Response:
        size, token = _page(req, 1000)
        with env.store.read() as tx:
            found = _load(tx, kind, req)
            stream = tx.get_livestream(kind, found.id)
            if stream is None:
                stream = LiveStream(kind=kind, owner_id=found.id, account_id=found.account_id)
            body = stream_state(stream)
            body["media"] = env.media.metrics(kind, found.id) if env.media is not None else None
            events = tx.list_stream_events(kind, found.id, after=token or 0, limit=size + 1)
            body["events"] = [
                {
                    "id": e.id,
                    "from": e.from_state,
                    "to": e.to_state,
                    "at": e.at.isoformat(),
                    "detail": e.detail,
                }
                for e in events[:size]
            ]
            # oldest first; the next page holds newer ones (the token: the last id shown)
            body["next_page_token"] = str(events[size - 1].id) if len(events) > size else ""
        return JSONResponse(body)

    runtime.__name__ = f"{kind}_livestream"
    return runtime


class SpeakerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    """The active speaker's name, as the overlay shows it."""


def switch_speaker(kind: SessionKind) -> ControlHandler:
    """Play the host: make someone else the active speaker (the overlay follows)."""

    def speaker(env: Env, req: ControlRequest) -> Response:
        body = validate_model(SpeakerBody, req.document())
        with env.store.read() as tx:
            found = _load(tx, kind, req)
        if env.media is None or not env.media.set_speaker(kind, found.id, body.name):
            raise E.CONTROL_NOT_STREAMED.error(noun=KINDS[kind].noun, id=found.id)
        return JSONResponse({"active_speaker": body.name})

    speaker.__name__ = f"{kind}_speaker"
    return speaker


class WebhookBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=8, max_length=2048, pattern=r"^https?://")
    """Event notification endpoint URL."""
    secret_token: str | None = Field(default=None, min_length=8, max_length=256)
    """Generated when absent; shown in the answer."""
    events: list[str] | None = None
    """Subscribed events (default: all the emulator sends)."""


async def set_webhook(env: Env, req: ControlRequest) -> Response:
    """Subscribe an app to events; the URL is validated at once, as Zoom does. Runs on the event
    loop: the store write goes to a worker thread, the validation's HTTP exchange (up to its 3 s
    deadline) holds no thread."""
    body = validate_model(WebhookBody, req.document())
    events = body.events if body.events is not None else list(webhooks.EVENTS)
    unknown = sorted(set(events) - set(webhooks.EVENTS))
    if unknown:
        raise E.CONTROL_UNKNOWN_EVENTS.error(events=", ".join(unknown))
    secret = body.secret_token or env.source.token()[:32]
    client_id = req.path["clientId"]

    def save() -> None:
        with env.store.write() as tx:
            app = tx.get_app(client_id)
            if app is None:
                raise E.CONTROL_NOT_FOUND.error(what="App", id=client_id)
            tx.put_subscription(
                WebhookSubscription(
                    client_id=client_id,
                    account_id=app.account_id,
                    url=body.url,
                    secret_token=secret,
                    events=list(events),
                    created_at=env.clock.now(),
                )
            )

    await run_in_threadpool(save)
    if env.webhooks is not None:
        validated, error = await env.webhooks.validate(client_id)
    else:
        validated, error = await webhooks.validate(env.store, env.clock, client_id)
    return JSONResponse(
        {
            "url": body.url,
            "secret_token": secret,
            "events": events,
            "validated": validated,
            "validation_error": error,
        }
    )


def webhook_deliveries(env: Env, req: ControlRequest) -> Response:
    """Newest first; the next page holds older ones (the token: the last id shown)."""
    size, token = _page(req, 200)
    with env.store.read() as tx:
        page = webhooks.deliveries(tx, size + 1, before=token)
    following = str(page[size - 1]["id"]) if len(page) > size else ""
    return _array(page[:size], following)


async def events(request: Request) -> Response:
    """``GET /_emulator/events``: the emulator's own feed, as server-sent events."""
    env = get_env(request)
    key = env.settings.admin_key
    given = request.query_params.get("admin_key")  # browsers' EventSource sends no headers
    if key is None or given is None or not hmac.compare_digest(given.encode(), key.encode()):
        try:
            check_admin(env, request)
        except ZoomError as err:
            return error_response(err)
    return events_response(env.feed, request)


class MediaFaultBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["ffmpeg_crash", "receiver_disconnect"]


def media_fault(kind: SessionKind) -> ControlHandler:
    """Break a stream being pushed: the supervisor must notice, fail it and reconnect."""

    def fault(env: Env, req: ControlRequest) -> Response:
        body = validate_model(MediaFaultBody, req.document())
        with env.store.read() as tx:
            found = _load(tx, kind, req)
        if env.media is None or env.settings.media not in ("ffmpeg", "remote"):
            raise E.CONTROL_MEDIA_OFF.error()
        try:
            env.media.inject(kind, found.id, body.kind)
        except LookupError as exc:
            raise E.CONTROL_MEDIA_REFUSED.error(
                noun=KINDS[kind].noun, id=found.id, reason=exc
            ) from None
        return JSONResponse({"injected": body.kind})

    fault.__name__ = f"{kind}_media_fault"
    return fault


def rate_limits(env: Env, req: ControlRequest) -> Response:
    """The limiter's configuration and the 429s this process answered, per account and label."""
    if env.limiter is None:
        return JSONResponse({"enabled": False, "refused": {}, "usage": []})
    with env.store.read() as tx:
        accounts = tx.list_accounts()
    now = env.clock.now()
    usage = [row for a in accounts for row in env.limiter.usage(a.id, a.plan, now)]
    return JSONResponse({"enabled": True, "refused": dict(env.limiter.refused), "usage": usage})


def coverage_report(env: Env, req: ControlRequest) -> Response:
    """Zoom's documents, operation by operation, and the tier that answers each (coverage.md)."""
    from zoomlive.emulator.spec.coverage import coverage  # the documents load on first use

    return JSONResponse(coverage())


def thumbnail(kind: SessionKind) -> ControlHandler:
    """The latest frame of a stream being pushed, as JPEG (for the dashboard)."""

    def thumb(env: Env, req: ControlRequest) -> Response:
        with env.store.read() as tx:
            found = _load(tx, kind, req)
        data = env.media.thumbnail(kind, found.id) if env.media is not None else None
        if data is None:
            raise E.CONTROL_NO_FRAME.error()
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    thumb.__name__ = f"{kind}_thumbnail"
    return thumb


def media_leases(env: Env, req: ControlRequest) -> Response:
    """With ``--media remote``: which media worker holds which stream, until when."""
    rows = getattr(env.media, "rows", None)
    return JSONResponse({"mode": env.settings.media, "leases": rows.leases() if rows else []})


def list_livestreams(env: Env, req: ControlRequest) -> Response:
    size, token = _page(req, 1000)
    with env.store.read() as tx:
        page, following = _paged(tx.list_livestreams(), size, token)
    return _array([stream_state(s) for s in page], following)


class ClockBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    advance_seconds: float | None = Field(default=None, ge=0, le=10 * 365 * 86400)
    freeze: bool | None = None
    """Stop (true) or restart (false) the clock: per-second rate windows become exact."""
    reset: bool = False


def clock(env: Env, req: ControlRequest) -> Response:
    refresh = getattr(env.clock, "refresh", None)
    if refresh is not None:
        refresh()  # a shared clock: exactly what another worker set a moment ago
    if req.raw.strip():
        body = validate_model(ClockBody, req.document())
        if body.reset:
            env.clock.reset()
        if body.freeze is not None:
            env.clock.freeze(body.freeze)
        if body.advance_seconds:
            env.clock.advance(body.advance_seconds)
        if env.webhooks is not None:
            env.webhooks.poke()  # retries and revalidations may have fallen due
    return JSONResponse({"now": env.clock.now().isoformat()})


HOST_ACTIONS: tuple[Literal["start", "end"], ...] = ("start", "end")
SESSION_PARAMS: tuple[tuple[SessionKind, str], ...] = tuple(
    (spec.kind, spec.id_param) for spec in KINDS.values()
)


def routes() -> list[BaseRoute]:

    p = "/_emulator"
    return [
        *snapshots.routes(),
        Route(f"{p}/health", endpoint(health, guarded=False), methods=["GET"]),
        Route(f"{p}/state", endpoint(state), methods=["GET"]),
        Route(f"{p}/reset", endpoint(reset), methods=["POST"]),
        Route(f"{p}/seed", endpoint(load_seed), methods=["POST"]),
        Route(f"{p}/accounts", endpoint(list_accounts), methods=["GET"]),
        Route(f"{p}/accounts", endpoint(create_account), methods=["POST"]),
        Route(f"{p}/accounts/{{accountId}}", endpoint(update_account), methods=["PATCH"]),
        Route(f"{p}/accounts/{{accountId}}/users", endpoint(create_user), methods=["POST"]),
        Route(
            f"{p}/accounts/{{accountId}}/apps", endpoint(create_app_credentials), methods=["POST"]
        ),
        Route(
            f"{p}/accounts/{{accountId}}/webinars",
            endpoint(create_session("webinar")),
            methods=["POST"],
        ),
        Route(
            f"{p}/accounts/{{accountId}}/meetings",
            endpoint(create_session("meeting")),
            methods=["POST"],
        ),
        Route(f"{p}/livestreams", endpoint(list_livestreams), methods=["GET"]),
        Route(f"{p}/media/leases", endpoint(media_leases), methods=["GET"]),
        Route(f"{p}/events", events, methods=["GET"]),
        Route(f"{p}/ratelimits", endpoint(rate_limits), methods=["GET"]),
        Route(f"{p}/coverage", endpoint(coverage_report), methods=["GET"]),
        Route(f"{p}/apps/{{clientId}}/webhook", endpoint(set_webhook), methods=["PUT"]),
        Route(f"{p}/webhooks/deliveries", endpoint(webhook_deliveries), methods=["GET"]),
        Route(f"{p}/webhooks/trigger", endpoint(trigger.trigger), methods=["POST"]),
        Route(f"{p}/webhooks/events", endpoint(trigger.event_list), methods=["GET"]),
        Route(f"{p}/apps/{{clientId}}", endpoint(update_app), methods=["PATCH"]),
        *[
            Route(
                f"{p}/{kind}s/{{{param}}}/{action}",
                endpoint(host_action(kind, action)),
                methods=["POST"],
            )
            for kind, param in SESSION_PARAMS
            for action in HOST_ACTIONS
        ],
        *[
            Route(
                f"{p}/{kind}s/{{{param}}}/thumbnail.jpg",
                endpoint(thumbnail(kind)),
                methods=["GET"],
            )
            for kind, param in SESSION_PARAMS
        ],
        *[
            Route(
                f"{p}/{kind}s/{{{param}}}/livestream/fault",
                endpoint(media_fault(kind)),
                methods=["POST"],
            )
            for kind, param in SESSION_PARAMS
        ],
        *[
            Route(
                f"{p}/{kind}s/{{{param}}}/speaker",
                endpoint(switch_speaker(kind)),
                methods=["POST"],
            )
            for kind, param in SESSION_PARAMS
        ],
        *[
            Route(
                f"{p}/{kind}s/{{{param}}}/livestream",
                endpoint(stream_runtime(kind)),
                methods=["GET"],
            )
            for kind, param in SESSION_PARAMS
        ],
        Route(f"{p}/clock", endpoint(clock), methods=["GET", "POST"]),
    ]
