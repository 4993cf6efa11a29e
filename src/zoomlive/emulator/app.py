"""The emulator's ASGI app: ``create_app(settings)``.

Request flow for a Zoom operation (one catalog row): read the body (size-capped) → in a worker
thread: bearer token (124) → scopes (4711) → id format (300) → query and body (300) → the backend
rule in one transaction (committed before the answer) → Zoom's JSON, or Zoom's error body.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress

import anyio.to_thread
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zoomlive._version import __version__
from zoomlive.emulator.bodies import parse_body, parse_query, parse_urlencoded
from zoomlive.emulator.clock import Clock
from zoomlive.emulator.control import routes as control
from zoomlive.emulator.control.seed import demo
from zoomlive.emulator.control.seed import load as load_seed
from zoomlive.emulator.dashboard import dashboard_routes
from zoomlive.emulator.env import Env
from zoomlive.emulator.faults import FaultInjector, FaultMiddleware, fault_routes
from zoomlive.emulator.feed import EventFeed
from zoomlive.emulator.guard import RequestGuard, allowed_hosts
from zoomlive.emulator.http import (
    base_url,
    error_response,
    get_env,
    internal_error,
    json_response,
    read_body,
)
from zoomlive.emulator.ids import Source
from zoomlive.emulator.media.command import PROFILES
from zoomlive.emulator.media.supervisor import MediaSupervisor
from zoomlive.emulator.openapi import build_openapi
from zoomlive.emulator.ratelimit import MemoryCounters, RateLimiter, RedisCounters, load_limits
from zoomlive.emulator.rules import HANDLERS, UUID_OPERATIONS, oauth
from zoomlive.emulator.rules import common as backend
from zoomlive.emulator.rules.auth import ANONYMOUS, authenticate, require_scopes
from zoomlive.emulator.rules.common import Call
from zoomlive.emulator.settings import Settings
from zoomlive.emulator.store import Store
from zoomlive.emulator.webhooks import WebhookDispatcher
from zoomlive.spec import catalog
from zoomlive.spec.errors import FieldError, ZoomError, validation_failed

log = logging.getLogger("zoomlive.server")


class TrackingIdMiddleware:
    """Every response carries ``x-zm-trackingid``, as Zoom's do."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracking = f"v=2.0;clid=emulator;rid=WEB_{uuid.uuid4().hex}".encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"x-zm-trackingid" for k, _ in headers):
                    headers.append((b"x-zm-trackingid", tracking))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


# Zoom operations -----------------------------------------------------------------------------


def execute(
    env: Env,
    op: catalog.Operation,
    *,
    authorization: str | None,
    path: dict[str, str],
    query: dict[str, str],
    content_type: str | None,
    raw: bytes,
    base: str,
) -> Response:
    """One Zoom API call, checks in Zoom's order, in one transaction. Runs in a worker thread.

    The request is parsed before the transaction opens (so no lock is held while parsing), but
    a parse error is raised only after the token and scope checks, which Zoom makes first."""
    limits: dict[str, str] = {}  # Zoom's rate-limit headers, once the caller is known
    try:
        call = Call(principal=ANONYMOUS, path=path, base_url=base)
        parse_error: ZoomError | None = None
        try:
            bad = [name for name, value in path.items() if "\x00" in value]
            if bad:
                raise validation_failed(
                    [FieldError(field=n, message="Invalid field.") for n in bad]
                )
            for param in backend.ID_PARAMS.keys() & path.keys():
                call.session_id, call.session_uuid = backend.parse_session_id(
                    path[param], param=param, allow_uuid=op.operation_id in UUID_OPERATIONS
                )
            if op.query_model is not None:
                call.query = parse_query(query, op.query_model)
            if op.request_model is not None:
                call.body = parse_body(content_type, raw, op.request_model)
        except ZoomError as err:
            parse_error = err
        handler = HANDLERS[op.operation_id]
        transaction = env.store.read if op.method == "GET" else env.store.write
        with transaction() as tx:
            call.principal = authenticate(tx, authorization, env.clock.now())
            require_scopes(call.principal, op)
            if env.limiter is not None:
                limits = env.limiter.check(
                    call.principal.account_id, call.principal.plan, op.label, env.clock.now()
                )
            if parse_error is not None:
                raise parse_error
            result = handler(env, tx, call)
        return json_response(result.status, result.body, {**limits, **result.headers})
    except ZoomError as err:
        err.headers = {**limits, **err.headers}
        return error_response(err)
    except Exception:
        log.exception("unhandled error in %s", op.operation_id)
        return internal_error()


def operation_endpoint(op: catalog.Operation) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        env = get_env(request)
        try:
            raw = b""
            if op.request_model is not None:
                raw = await read_body(request, env.settings.max_body_bytes)
        except ZoomError as err:
            return error_response(err)
        call = functools.partial(
            execute,
            env,
            op,
            authorization=request.headers.get("authorization"),
            path=dict(request.path_params),
            query=dict(request.query_params),
            content_type=request.headers.get("content-type"),
            raw=raw,
            base=base_url(request, env),
        )
        return await anyio.to_thread.run_sync(call, limiter=env.db_limiter)

    endpoint.__name__ = op.operation_id
    return endpoint


def method_dispatch(
    endpoints: dict[str, Callable[[Request], Awaitable[Response]]],
) -> Callable[[Request], Awaitable[Response]]:
    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await endpoints[method](request)

    return dispatch


# OAuth ---------------------------------------------------------------------------------------


async def oauth_token(request: Request) -> Response:
    env = get_env(request)
    try:
        raw = await read_body(request, env.settings.max_body_bytes)
    except ZoomError as err:
        return error_response(err)
    params = dict(request.query_params)
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if raw and media in ("application/x-www-form-urlencoded", ""):
        with suppress(ZoomError):  # an unreadable body just adds no parameters
            params.update(parse_urlencoded(raw))
    authorization = request.headers.get("authorization")
    api_url = base_url(request, env)

    def run() -> Response:
        try:
            app = oauth.check_client(
                env.store,
                authorization=authorization,
                grant_type=params.get("grant_type"),
                account_id=params.get("account_id"),
            )
            with env.store.write() as tx:
                token = oauth.mint_token(env, tx, app, api_url)
            return json_response(200, token, {"Cache-Control": "no-store"})
        except ZoomError as err:
            return error_response(err)
        except Exception:
            log.exception("unhandled error in oauth")
            return internal_error()

    return await anyio.to_thread.run_sync(run, limiter=env.oauth_limiter)


# Service routes ------------------------------------------------------------------------------


async def openapi_json(request: Request) -> Response:
    return JSONResponse(build_openapi(base_url(request, get_env(request))))


async def not_found(request: Request, exc: Exception) -> Response:
    return error_response(ZoomError(404, 404, "The requested resource was not found."))


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return error_response(
            ZoomError(405, 405, "Method not allowed.", headers=dict(exc.headers or {}))
        )
    if exc.status_code == 404:
        return await not_found(request, exc)
    return error_response(ZoomError(exc.status_code, exc.status_code, str(exc.detail)))


async def server_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", exc_info=exc)
    return internal_error()


def open_env(settings: Settings, *, lock: bool = True, holder: str = "") -> Env:
    """Open the store (running migrations) and seed the demo account on an empty store.
    ``lock``: take the SQLite file's one-emulator lock (``holder`` names us in it)."""
    store = Store(settings.db, lock=lock, holder=holder)
    env = Env(settings=settings, store=store, clock=Clock(), source=Source(settings.seed))
    limits = load_limits(settings.rate_limits)
    if limits is not None:
        counters = RedisCounters(settings.redis_url) if settings.redis_url else MemoryCounters()
        env.limiter = RateLimiter(limits, counters)
    if settings.demo:
        seed_demo_if_empty(env)
    return env


def seed_demo_if_empty(env: Env) -> bool:
    with env.store.write() as tx:
        if tx.list_accounts():
            return False
        load_seed(env, tx, demo(env.settings.advertised_url))
        return True


def create_app(
    settings: Settings | None = None, *, env: Env | None = None, lock_store: bool = True
) -> Starlette:
    """The emulator as an ASGI app. The store opens (and migrates) when the app starts, unless
    an ``env`` opened beforehand is given (``zoomlive serve`` opens it before it binds)."""
    settings = settings or Settings.from_env()
    faults = FaultInjector(seed=settings.seed)
    if settings.media_profile is not None and settings.media_profile not in PROFILES:
        raise ValueError(f"media_profile must be one of {', '.join(PROFILES)}")
    opened: Env | None = env

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if opened is not None:
            env = opened
        else:
            env = await run_in_threadpool(functools.partial(open_env, settings, lock=lock_store))
        app.state.env = env
        env.faults = faults
        try:
            env.feed = EventFeed()
            env.feed.bind(asyncio.get_running_loop())
            env.store.on_commit.append(env.feed.on_commit)
            env.webhooks = WebhookDispatcher(env.store, env.clock, settings.webhook_time_scale)
            env.webhooks.listeners.append(lambda data: env.feed.publish("webhook", data))
            await env.webhooks.start()
            if settings.media != "off":
                env.media = MediaSupervisor(
                    env.store, settings.media, profile=settings.media_profile, clock=env.clock
                )
                await env.media.start()
            yield
        finally:
            # Workers first, the store last: close() waits for transactions in flight and
            # refuses new ones, so nothing touches the store once it is gone.
            if env.media is not None:
                await env.media.close()
            if env.webhooks is not None:
                await env.webhooks.close()
            await anyio.to_thread.run_sync(env.store.close)

    # One route per path, so a wrong method's 405 lists every method the path has.
    by_path: dict[str, dict[str, Callable[[Request], Awaitable[Response]]]] = {}
    for op in catalog.OPERATIONS:
        by_path.setdefault(op.full_path, {})[op.method] = operation_endpoint(op)
    routes: list[BaseRoute] = [
        Route(path, method_dispatch(endpoints), methods=list(endpoints))
        for path, endpoints in by_path.items()
    ]
    routes += [
        Route("/oauth/token", oauth_token, methods=["POST"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
    ]
    routes += control.routes()
    routes += fault_routes()
    routes += dashboard_routes()
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    # Zoom answers a path with a trailing slash with its 404, never a redirect (and a redirect
    # built from the Host header would point anywhere).
    app.router.redirect_slashes = False
    app.add_middleware(FaultMiddleware, injector=faults)
    hosts = allowed_hosts(settings.host, settings.public_url, settings.allowed_hosts)
    app.add_middleware(RequestGuard, hosts=hosts, public_url=settings.public_url)
    app.add_middleware(TrackingIdMiddleware)
    app.state.settings = settings
    app.state.version = __version__
    return app


def app_from_env() -> Starlette:
    """The app for each worker of ``zoomlive serve --workers N`` (settings from ZOOMLIVE_*).
    The parent process holds the store's lock for all its workers."""
    return create_app(Settings.from_env(), lock_store="ZOOMLIVE_STORE_LOCKED_BY" not in os.environ)
