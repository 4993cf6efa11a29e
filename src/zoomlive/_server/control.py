"""The control API under ``/_emulator``: what the dashboard, tests and users drive the emulator
with. Zoom has no such paths. Guarded by the admin key when one is set (``X-Admin-Key``).

Errors use the same ``{"code", "message"}`` body as the Zoom routes.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .._errors import ZoomError
from .._version import __version__
from . import backend, seed
from .backend import Env
from .http import error_response, get_env, internal_error, parse_document, read_body, validate_model

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
    given = request.headers.get(ADMIN_HEADER, "")
    if not hmac.compare_digest(given.encode(), key.encode()):
        raise ZoomError(401, 401, "A valid X-Admin-Key header is required for the control API.")


def endpoint(
    handler: ControlHandler, *, guarded: bool = True
) -> Callable[[Request], Awaitable[Response]]:
    async def run_endpoint(request: Request) -> Response:
        env = get_env(request)
        try:
            if guarded:
                check_admin(env, request)
            raw = await read_body(request, env.settings.max_body_bytes)
        except ZoomError as err:
            return error_response(err)
        call = ControlRequest(dict(request.path_params), dict(request.query_params), raw)

        def run() -> Response:
            try:
                return handler(env, call)
            except ZoomError as err:
                return error_response(err)
            except Exception:
                backend_log.exception("unhandled error in control API")
                return internal_error()

        return await run_in_threadpool(run)

    run_endpoint.__name__ = handler.__name__
    return run_endpoint


def _account_or_404(tx: Any, account_id: str) -> None:
    if tx.get_account(account_id) is None:
        raise ZoomError(404, 404, f"Account {account_id} does not exist.")


def _webinar_id(raw: str) -> int:
    webinar_id, _ = backend.parse_webinar_id(raw)
    assert webinar_id is not None
    return webinar_id


# handlers ------------------------------------------------------------------------------------


def health(env: Env, req: ControlRequest) -> Response:
    return JSONResponse(
        {"status": "ok", "version": __version__, "schema": env.store.schema_revision()}
    )


def state(env: Env, req: ControlRequest) -> Response:
    with env.store.read() as tx:
        data = backend.state_dump(tx)
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
            seed.load(env, tx, seed.DEMO)
    env.clock.reset()
    return JSONResponse({"reset": True, "demo": demo})


def load_seed(env: Env, req: ControlRequest) -> Response:
    doc = validate_model(seed.SeedDoc, req.document())
    with env.store.write() as tx:
        credentials = seed.load(env, tx, doc)
    return JSONResponse({"credentials": credentials}, status_code=201)


def list_accounts(env: Env, req: ControlRequest) -> Response:
    with env.store.read() as tx:
        return JSONResponse(backend.state_dump(tx)["accounts"])


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
            raise ZoomError(404, 404, f"Account {req.path['accountId']} does not exist.")
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
            raise ZoomError(404, 404, f"App {req.path['clientId']} does not exist.")
        for key, value in patch.model_dump(exclude_none=True).items():
            setattr(app, key, value)
        tx.update_app(app)
    return Response(status_code=204)


def _webinar_json(env: Env, tx: Any, webinar_id: int) -> dict[str, Any]:
    for item in backend.state_dump(tx)["webinars"]:
        if item["id"] == webinar_id:
            return dict(item)
    raise ZoomError(404, 3001, f"Webinar does not exist: {webinar_id}.")


def create_webinar(env: Env, req: ControlRequest) -> Response:
    spec = validate_model(seed.SeedWebinar, req.document())
    with env.store.write() as tx:
        _account_or_404(tx, req.path["accountId"])
        webinar = seed.add_webinar(env, tx, req.path["accountId"], spec)
        body = _webinar_json(env, tx, webinar.id)
    return JSONResponse(body, status_code=201)


def host_action(action: Literal["start", "end"]) -> ControlHandler:
    def act(env: Env, req: ControlRequest) -> Response:
        webinar_id = _webinar_id(req.path["webinarId"])
        with env.store.write() as tx:
            webinar = tx.get_webinar(webinar_id)
            if webinar is None:
                raise ZoomError(404, 3001, f"Webinar does not exist: {webinar_id}.")
            if action == "start":
                if webinar.status == "started":
                    raise ZoomError(409, 409, f"Webinar {webinar_id} is already running.")
                backend.start_webinar(env, tx, webinar)
            else:
                if webinar.status != "started":
                    raise ZoomError(409, 409, f"Webinar {webinar_id} is not running.")
                backend.end_webinar(env, tx, webinar)
            body = _webinar_json(env, tx, webinar_id)
        return JSONResponse(body)

    act.__name__ = f"webinar_{action}"
    return act


class ClockBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    advance_seconds: float | None = Field(default=None, ge=0, le=10 * 365 * 86400)
    reset: bool = False


def clock(env: Env, req: ControlRequest) -> Response:
    if req.raw.strip():
        body = validate_model(ClockBody, req.document())
        if body.reset:
            env.clock.reset()
        if body.advance_seconds:
            env.clock.advance(body.advance_seconds)
    return JSONResponse({"now": env.clock.now().isoformat()})


def routes() -> list[BaseRoute]:
    p = "/_emulator"
    return [
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
        Route(f"{p}/accounts/{{accountId}}/webinars", endpoint(create_webinar), methods=["POST"]),
        Route(f"{p}/apps/{{clientId}}", endpoint(update_app), methods=["PATCH"]),
        Route(
            f"{p}/webinars/{{webinarId}}/start", endpoint(host_action("start")), methods=["POST"]
        ),
        Route(f"{p}/webinars/{{webinarId}}/end", endpoint(host_action("end")), methods=["POST"]),
        Route(f"{p}/clock", endpoint(clock), methods=["GET", "POST"]),
    ]
