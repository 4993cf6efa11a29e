"""What every control-API endpoint shares (``/_emulator``, docs/control-api.md): the request as
a handler sees it, the admin-key guard, and :func:`endpoint`, which runs a handler and answers
its errors with Zoom's ``{"code", "message"}`` body. The routes are in
:mod:`zoomlive.emulator.control.routes` and the modules beside it."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from zoomlive.api.errors import E, ZoomError
from zoomlive.emulator.env import Env
from zoomlive.emulator.http import (
    error_response,
    get_env,
    internal_error,
    parse_document,
    read_body,
)

ADMIN_HEADER = "x-admin-key"
backend_log = logging.getLogger("zoomlive.control")


@dataclass
class ControlRequest:
    path: dict[str, str]
    query: dict[str, str]
    raw: bytes

    def document(self) -> Any:
        return parse_document(self.raw)


ControlHandler = Callable[[Env, ControlRequest], Response]


def check_admin(env: Env, request: Request) -> None:
    key = env.settings.admin_key
    if key is None:
        return
    # Header values arrive as bytes (Starlette shows them as latin-1); a client sends a
    # non-ASCII key as UTF-8, so compare the bytes with the key's UTF-8 bytes.
    # More than one key is refused, whichever is right: no guessing which counts.
    keys = request.headers.getlist(ADMIN_HEADER)
    given = keys[0].encode("latin-1") if keys else b""
    if not hmac.compare_digest(given, key.encode("utf-8")) or len(keys) > 1:
        raise E.CONTROL_ADMIN_KEY.error()


def endpoint(
    handler: ControlHandler | Callable[[Env, ControlRequest], Awaitable[Response]],
    *,
    guarded: bool = True,
) -> Callable[[Request], Awaitable[Response]]:
    """A handler runs in a worker thread; a coroutine function (one that waits on the network,
    e.g. ``set_webhook``) runs on the event loop and moves its own store work to threads."""
    import inspect

    async def run_endpoint(request: Request) -> Response:
        env = get_env(request)
        try:
            if guarded:
                check_admin(env, request)
            raw = await read_body(request, env.settings.max_body_bytes)
        except ZoomError as err:
            return error_response(err)
        call = ControlRequest(dict(request.path_params), dict(request.query_params), raw)

        try:
            if inspect.iscoroutinefunction(handler):
                return cast(Response, await handler(env, call))
            return await run_in_threadpool(cast(ControlHandler, handler), env, call)
        except ZoomError as err:
            return error_response(err)
        except Exception:
            backend_log.exception("unhandled error in control API")
            return internal_error()

    run_endpoint.__name__ = handler.__name__
    return run_endpoint
