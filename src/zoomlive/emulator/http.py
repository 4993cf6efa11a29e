"""HTTP helpers shared by the Zoom routes, OAuth and the control API."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zoomlive.api.errors import E, ZoomError, validation_failed
from zoomlive.emulator.bodies import _checked, _field_errors
from zoomlive.emulator.env import Env
from zoomlive.emulator.settings import BODY_TIMED_OUT

log = logging.getLogger("zoomlive.server")
JSON_TYPE = "application/json;charset=UTF-8"
M = TypeVar("M", bound=BaseModel)


def json_response(
    status: int, model: BaseModel | None, headers: Mapping[str, str] = {}
) -> Response:
    if model is None:
        return Response(status_code=status, headers=dict(headers))
    body = model.model_dump_json(exclude_none=True)
    return Response(body, status_code=status, media_type=JSON_TYPE, headers=dict(headers))


def error_response(err: ZoomError) -> Response:
    return Response(
        err.to_json(), status_code=err.status, media_type=JSON_TYPE, headers=err.headers
    )


def internal_error() -> Response:
    # Never a stack trace on the wire; the log has it.
    return error_response(E.INTERNAL_ERROR.error())


async def read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise E.BODY_TOO_LARGE.error(limit=limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise E.BODY_TOO_LARGE.error(limit=limit)
            chunks.append(chunk)
    except ClientDisconnect:
        # A normal event on the internet, not an error of ours: one line, and nothing changes
        # (none here when serve's body deadline closed the connection: it said so).
        if BODY_TIMED_OUT in request.scope:
            raise E.INVALID_JSON.error() from None
        client = request.client
        where = f"{client.host}:{client.port}" if client else "a client"
        log.info(
            "%s %s: %s disconnected before its body ended", request.method, request.url.path, where
        )
        raise E.INVALID_JSON.error() from None
    return b"".join(chunks)


def base_url(request: Request, env: Env) -> str:
    if env.settings.public_url:
        return env.settings.public_url.rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}"


def get_env(request: Request) -> Env:
    env: Env = request.app.state.env
    return env


def parse_document(raw: bytes) -> Any:
    """A JSON or YAML document (JSON is YAML); Zoom's invalid-body error otherwise."""
    try:
        return yaml.safe_load(raw.decode("utf-8")) if raw.strip() else {}
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError):
        raise E.INVALID_JSON.error() from None


def validate_model(model: type[M], data: Any) -> M:
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(_field_errors(exc)) from None
    return _checked(parsed)


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
