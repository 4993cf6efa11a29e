"""The Zoom-compatible routes: one per catalog path (``/v2/...``), ``POST /oauth/token`` and
``GET /openapi.json``, with Zoom-shaped answers for unknown paths and wrong methods.

A Zoom operation's request (one catalog row): read the body (size-capped) → in a worker thread:
bearer token (124) → scopes (4711) → rate limit (429) → id format (300) → query and body (300)
→ the rule in one transaction (committed before the answer) → Zoom's JSON or error body.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress

import anyio.to_thread
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from zoomlive.api import catalog
from zoomlive.api.errors import FieldError, ZoomError, validation_failed
from zoomlive.api.sessions import BY_ID_PARAM
from zoomlive.emulator.bodies import parse_body, parse_query, parse_urlencoded
from zoomlive.emulator.env import Env
from zoomlive.emulator.http import (
    base_url,
    error_response,
    get_env,
    internal_error,
    json_response,
    read_body,
)
from zoomlive.emulator.openapi import build_openapi
from zoomlive.emulator.rules import HANDLERS, UUID_OPERATIONS, oauth
from zoomlive.emulator.rules.auth import ANONYMOUS, authenticate, require_scopes
from zoomlive.emulator.rules.common import Call, parse_session_id

log = logging.getLogger("zoomlive.server")


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
            for param in BY_ID_PARAM.keys() & path.keys():
                call.session_id, call.session_uuid = parse_session_id(
                    path[param], BY_ID_PARAM[param], allow_uuid=op.operation_id in UUID_OPERATIONS
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


def zoom_routes() -> list[BaseRoute]:
    """One route per path, so a wrong method's 405 lists every method the path has."""
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
    return routes
