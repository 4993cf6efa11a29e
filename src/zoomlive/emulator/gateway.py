"""The emulator's ASGI entry point, and the direct path of Zoom's API (``/v2``).

Every ``/v2`` request goes one straight line, in plain ASGI, on the event loop:

    Host check (400, 403) → route (404/405) → body (413) → bearer token (401 code 124) → scopes
    (400 code 4711) → rate limit (429) → ids, query and body (400 code 300) → the rule, in
    one store transaction → wait until the change (or what it read) is on disk → answer

Zoom's order of checks is kept: the request is parsed before the token is checked, but a parse
error is answered only after the token, scope and rate-limit checks, as Zoom answers them
first. Authentication reads the token without a transaction (a bad token takes no lock). With
the memory store the rule runs right here, under the store's lock, and the answer waits for the
journal's group commit without holding anything; with the SQL store (PostgreSQL) it runs in a
worker thread. Fault rules, when there are any, wrap this path (``FaultMiddleware``).

An operation of Zoom's documents that the catalog lacks goes the same line to the spec tier
(``emulator/spec``): its route tree is asked only when the catalog's finds nothing for the
method, or the path has a segment the documents write as a literal (``/users/summary``).

Everything else (``/oauth/token``, ``/_emulator``, the dashboard, ``/openapi.json``) goes to the
Starlette app, which also owns the lifespan. Why not Starlette for ``/v2`` too: its routing,
request objects and middleware stack cost more than the whole call (docs/architecture.md).
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel
from starlette.types import Receive, Scope, Send

from zoomlive.api import catalog
from zoomlive.api.errors import E, FieldError, ZoomError, validation_failed
from zoomlive.api.sessions import BY_ID_PARAM
from zoomlive.emulator.bodies import parse_body, parse_query
from zoomlive.emulator.env import Env
from zoomlive.emulator.faults import FaultInjector, FaultMiddleware
from zoomlive.emulator.guard import RequestGuard
from zoomlive.emulator.rules import HANDLERS, UUID_OPERATIONS
from zoomlive.emulator.rules.auth import ANONYMOUS, authenticate, require_scopes
from zoomlive.emulator.rules.common import Call, Result, parse_session_id
from zoomlive.emulator.settings import BODY_TIMED_OUT
from zoomlive.emulator.spec import SpecOp, stateful_ids
from zoomlive.emulator.spec import handle as spec_handle
from zoomlive.emulator.spec import parse as spec_parse
from zoomlive.emulator.spec import table as spec_table
from zoomlive.emulator.store import StoreClosed, StoreFailed
from zoomlive.emulator.store.core import NeedsWrite

log = logging.getLogger("zoomlive.server")

JSON = b"application/json;charset=UTF-8"
NOT_FOUND = E.RESOURCE_NOT_FOUND.error()
MAX_PATH_PARAM = 1024


@dataclass
class _Node:
    """One path segment of the route table."""

    literal: dict[str, _Node] = field(default_factory=dict)
    param: tuple[str, _Node] | None = None
    ops: dict[str, catalog.Operation] = field(default_factory=dict)


class Routes:
    """The catalog's paths as a tree of segments: a lookup is a few dict reads."""

    def __init__(self, operations: tuple[catalog.Operation, ...]) -> None:
        self.root = _Node()
        for op in operations:
            node = self.root
            for segment in op.full_path.strip("/").split("/"):
                if segment.startswith("{"):
                    if node.param is None:
                        node.param = (segment[1:-1], _Node())
                    node = node.param[1]
                else:
                    node = node.literal.setdefault(segment, _Node())
            node.ops[op.method] = op

    def match(self, path: str) -> tuple[dict[str, catalog.Operation], dict[str, str]] | None:
        node = self.root
        params: dict[str, str] = {}
        for segment in path[1:].split("/"):
            child = node.literal.get(segment)
            if child is None:
                if node.param is None or not segment or len(segment) > MAX_PATH_PARAM:
                    return None
                params[node.param[0]] = segment
                child = node.param[1]
            node = child
        return (node.ops, params) if node.ops else None


class Gateway:
    """The ASGI app ``create_app`` returns: ``/v2`` here, the rest to Starlette."""

    def __init__(
        self,
        app: Any,
        faults: FaultInjector,
        guard: RequestGuard,
        public_url: str | None,
        max_body: int,
    ) -> None:
        self.app = app
        """The Starlette app: control API, dashboard, OAuth, OpenAPI, lifespan."""
        self.routes = Routes(catalog.OPERATIONS)
        self.spec = spec_table(stateful_ids(HANDLERS))
        """Every other operation of Zoom's documents (emulator/spec)."""
        self.faults = faults
        self.guard = guard
        self.public_url = public_url.rstrip("/") if public_url else None
        self.max_body = max_body
        self._faulted = FaultMiddleware(self._zoom, faults)

    @property
    def state(self) -> Any:
        """The Starlette app's state (``env`` once started), as tests and tools reach it."""
        return self.app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v2/"):
            scope["app"] = self.app
            if self.faults.active:
                await self._faulted(scope, receive, send)
            else:
                await self._zoom(scope, receive, send)
            return
        await self.app(scope, receive, send)

    # the /v2 path ----------------------------------------------------------------------------
    async def _zoom(self, scope: Scope, receive: Receive, send: Send) -> None:
        head = scope["method"] == "HEAD"
        headers = _headers(scope)
        problem = self.guard.problem(scope, headers)
        if problem is not None:
            await _send(send, problem, head)
            return
        method = "GET" if head else scope["method"]
        path: str = scope["path"]
        if path.endswith("/") and len(path) > 4:  # one trailing slash is the same path
            path = path[:-1]
        found = self.routes.match(path)
        ops, path_params = found if found is not None else ({}, {})
        op = ops.get(method)
        spec: SpecOp | None = None
        if op is None or (path_params and not self.spec.shadows.isdisjoint(path_params.values())):
            # not the catalog's: the spec tier (a literal of its paths beats a catalog param)
            spec_found = self.spec.routes.match(path)
            spec_ops, spec_values = spec_found if spec_found is not None else ({}, [])
            spec = spec_ops.get(method)
            if spec is not None:
                op, path_params = spec.op, dict(zip(spec.path_names, spec_values, strict=False))
            elif op is None:
                every = {*ops, *spec_ops}
                if not every:
                    await _send(send, NOT_FOUND, head)
                    return
                allowed = ", ".join(sorted({*every, *(("HEAD",) if "GET" in every else ())}))
                refused = E.METHOD_NOT_ALLOWED.error(headers={"Allow": allowed})
                await _send(send, refused, head)
                return
        assert op is not None
        raw = b""
        if op.request_model is not None or (spec is not None and spec.body_schema is not None):
            try:
                raw = await self._read_body(scope, receive, headers)
            except ZoomError as err:
                await _send(send, err, head)
                return
            except _Disconnected:
                return
        env: Env = self.app.state.env
        host = headers.get(b"host", b"127.0.0.1").decode("latin-1")
        base = self.public_url or f"{scope.get('scheme', 'http')}://{host}"
        request = _Request(
            op,
            headers.get(b"authorization", b"").decode("latin-1") or None,
            path_params,
            scope["query_string"],
            (headers.get(b"content-type") or b"").decode("latin-1") or None,
            raw,
            base,
            spec,
        )
        try:
            answer = await self._run(env, request)
        except (StoreClosed, StoreFailed) as exc:
            log.error("%s %s: %s", scope["method"], scope["path"], exc)
            answer = E.SERVICE_UNAVAILABLE.error()
        except Exception:
            log.exception("unhandled error in %s", op.operation_id)
            answer = E.INTERNAL_ERROR.error()
        await _send(send, answer, head)

    async def _run(self, env: Env, request: _Request) -> Result | ZoomError:
        """Parse, wait for a fresh copy of the state (PostgreSQL; SQLite has nothing to wait
        for), check, run the rule in one transaction on the loop, wait until what it changed or
        saw is durable. On PostgreSQL a call that may write first runs as a read (most change
        nothing: the reference call repeated, a refusal) and joins a write round only if it
        would change something."""
        store = env.store
        parsed: Call | ZoomError
        if request.spec is None:
            parsed = _parse(request)
            handler = HANDLERS[request.op.operation_id]
        else:
            parsed = spec_parse(
                request.spec,
                list(request.path.values()),
                request.query_string,
                request.content_type,
                request.raw,
                request.base,
            )
            handler = spec_handle
        write = request.op.method != "GET"
        optimistic = write and store.shared
        ticket = None
        if store.shared:  # SQLite has nothing to wait for
            entering = store.enter(write=write and not optimistic)
            if entering is not None:
                ticket = await entering
        tx = None
        limits: dict[str, str] = {}
        try:
            call, limits = _check(env, request, parsed)
            try:
                with store.begin(ticket, optimistic=optimistic) as tx:
                    ticket = None  # the transaction ends it
                    if isinstance(parsed, ZoomError):
                        raise parsed
                    result = handler(env, tx, call)
            except NeedsWrite:
                entering = store.enter(write=True)
                assert entering is not None
                ticket = await entering
                with store.begin(ticket) as tx:
                    ticket = None
                    result = handler(env, tx, call)
        except ZoomError as err:
            if tx is not None:
                err.headers = {**limits, **err.headers}
                await store.settle(tx)  # an answer about what it saw, once that is durable
            return err
        finally:
            if ticket is not None:
                ticket.done()
        await store.settle(tx)
        if limits:
            result.headers = {**limits, **result.headers} if result.headers else limits
        return result

    async def _read_body(
        self, scope: Scope, receive: Receive, headers: dict[bytes, bytes]
    ) -> bytes:
        limit = self.max_body
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            raise E.BODY_TOO_LARGE.error(limit=limit)
        body: bytes = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                if BODY_TIMED_OUT in scope:  # closed by serve's body deadline, which said so
                    raise _Disconnected
                client = scope.get("client")
                where = f"{client[0]}:{client[1]}" if client else "a client"
                log.info(
                    "%s %s: %s disconnected before its body ended",
                    scope["method"],
                    scope["path"],
                    where,
                )
                raise _Disconnected
            body += bytes(message.get("body", b""))
            if len(body) > limit:
                raise E.BODY_TOO_LARGE.error(limit=limit)
            if not message.get("more_body", False):
                return body


class _Disconnected(Exception):
    """The client left before its body ended."""


@dataclass
class _Request:
    op: catalog.Operation
    authorization: str | None
    path: dict[str, str]
    query_string: bytes
    content_type: str | None
    raw: bytes
    base: str
    spec: SpecOp | None = None
    """A spec-tier operation (``op`` is then its catalog-shaped view)."""


def _parse(request: _Request) -> Call | ZoomError:
    """The ids, query and body into a call (or the 400 to answer once the checks pass: Zoom
    answers the token, scopes and rate limit first)."""
    op = request.op
    call = Call(principal=ANONYMOUS, path=request.path, base_url=request.base)
    try:
        bad = [name for name, value in request.path.items() if "\x00" in value]
        if bad:
            raise validation_failed([FieldError(field=n, message="Invalid field.") for n in bad])
        for param, value in request.path.items():
            spec = BY_ID_PARAM.get(param)
            if spec is not None:
                call.session_id, call.session_uuid = parse_session_id(
                    value, spec, allow_uuid=op.operation_id in UUID_OPERATIONS
                )
        if op.query_model is not None:
            query = dict(parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True))
            call.query = parse_query(query, op.query_model)
        if op.request_model is not None:
            call.body = parse_body(request.content_type, request.raw, op.request_model)
    except ZoomError as err:
        return err
    return call


def _check(env: Env, request: _Request, parsed: Call | ZoomError) -> tuple[Call, dict[str, str]]:
    """The token, the scopes and the rate limit, in Zoom's order: the call to run and the
    rate-limit headers; raises the ZoomError to answer (with those headers)."""
    call = (
        parsed
        if isinstance(parsed, Call)
        else Call(principal=ANONYMOUS, path=request.path, base_url=request.base)
    )
    limits: dict[str, str] = {}
    try:
        now = env.clock.now()
        call.principal = authenticate(env.store.token_facts, request.authorization, now)
        require_scopes(call.principal, request.op)
        if env.limiter is not None:
            principal = call.principal
            limits = env.limiter.check(principal.account_id, principal.plan, request.op.label, now)
    except ZoomError as err:
        err.headers = {**limits, **err.headers}
        raise
    return call, limits


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by lower-case name, the first of each. More than one
    ``Authorization`` leaves none (answered as a missing token: 401 code 124), as which one
    counts would be a guess. Repeated names are found by size, so the usual request pays
    nothing for the check."""
    raw = scope["headers"]
    out: dict[bytes, bytes] = {}
    for key, value in raw:
        out.setdefault(key.lower(), value)
    if (
        len(out) != len(raw)
        and b"authorization" in out
        and sum(key.lower() == b"authorization" for key, _ in raw) > 1
    ):
        out[b"authorization"] = b""
    return out


_TRACKING_PREFIX = f"v=2.0;clid=emulator;rid=WEB_{uuid.uuid4().hex[:16]}"
_tracking_counter = itertools.count(1)


def _tracking_id() -> bytes:
    """Unique per answer (a random prefix per process, then a counter): opaque, like Zoom's."""
    return f"{_TRACKING_PREFIX}{next(_tracking_counter):016x}".encode()


async def _send(send: Send, answer: Result | ZoomError, head: bool) -> None:
    if isinstance(answer, ZoomError):
        status, body, extra = answer.status, answer.to_json(), answer.headers
    else:
        status, extra = answer.status, answer.headers
        body = _json(answer.body) if answer.body is not None else b""
    headers = [(b"x-zm-trackingid", _tracking_id())]
    if body or status not in (204, 304):
        headers.append((b"content-type", JSON) if body else (b"content-length", b"0"))
    if body:
        headers.append((b"content-length", str(len(body)).encode()))
    headers += [(_header_name(k), v.encode("latin-1")) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


@functools.lru_cache(maxsize=64)
def _header_name(name: str) -> bytes:
    return name.lower().encode("latin-1")


def _json(body: BaseModel | dict[str, Any]) -> bytes:
    if not isinstance(body, BaseModel):  # a view, JSON-ready (rules/views.py; spec answers)
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return body.model_dump_json(exclude_none=True).encode()
