"""The Zoom-compatible routes Starlette serves: ``POST /oauth/token`` and ``GET /openapi.json``,
and Zoom-shaped answers for unknown paths and wrong methods. ``/v2`` is served by the gateway
(``gateway.py``), on a shorter path."""

from __future__ import annotations

import logging
from contextlib import suppress

import anyio.to_thread
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from zoomlive.api.errors import E, ZoomError, as_given
from zoomlive.emulator.bodies import parse_urlencoded
from zoomlive.emulator.http import (
    base_url,
    error_response,
    get_env,
    internal_error,
    json_response,
    read_body,
)
from zoomlive.emulator.openapi import build_openapi
from zoomlive.emulator.rules import oauth

log = logging.getLogger("zoomlive.server")


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
    authorizations = request.headers.getlist("authorization")
    if len(authorizations) > 1:
        # Two sets of credentials: which client asks would be a guess (RFC 6749 §2.3).
        return error_response(oauth.oauth_error(401, 4702, "Invalid client.", "invalid_client"))
    authorization = authorizations[0] if authorizations else None
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
    return error_response(E.RESOURCE_NOT_FOUND.error())


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return error_response(E.METHOD_NOT_ALLOWED.error(headers=dict(exc.headers or {})))
    if exc.status_code == 404:
        return await not_found(request, exc)
    return error_response(as_given(exc.status_code, exc.status_code, str(exc.detail)))


async def server_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", exc_info=exc)
    return internal_error()


def zoom_routes() -> list[BaseRoute]:
    """The Zoom-compatible paths Starlette serves (``/v2`` itself is the gateway's)."""
    return [
        Route("/oauth/token", oauth_token, methods=["POST"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
    ]
