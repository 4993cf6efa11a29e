"""Fault injection: added latency, Zoom-shaped 500/503/429 answers, dropped connections and
dropped answers, per operation or for every Zoom request, on every request, a fraction of them,
or the next N.

Rules are added through the control API (``/_emulator/faults``, see ``docs/faults.md``) and held
by a :class:`FaultInjector`; :class:`FaultMiddleware` applies them before the request reaches the
app, so a faulted request (error or drop) changes no state, except ``drop_after``: the request
is handled and committed, then its answer is dropped, as when a network loses the answer to a
request that succeeded. The control API itself, the OpenAPI document and anything else outside
``/v2`` and ``/oauth/token`` is never faulted.

A drop closes the client's TCP connection without a byte of answer. Under uvicorn the middleware
reaches the connection's transport through uvicorn's ``receive`` callable and aborts it; in
process (Starlette's ``TestClient``, httpx's ``ASGITransport``) there is no connection, so the
middleware raises :class:`ConnectionDropped`, an ``httpx.RemoteProtocolError``, which the test
client hands to the caller: the same exception class httpx raises over a real socket.
"""

from __future__ import annotations

import builtins
import random
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import anyio
import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zoomlive.api import catalog
from zoomlive.api.errors import E, FieldError, ZoomError, by_words, validation_failed
from zoomlive.emulator.control.routes import ControlRequest, endpoint
from zoomlive.emulator.env import Env
from zoomlive.emulator.http import error_response, validate_model
from zoomlive.emulator.ratelimit import PER_SECOND_MESSAGE, ZOOM_LIMITS
from zoomlive.emulator.shared import RESYNC, Bus, SharedRows

FaultKind = Literal["latency", "error", "drop", "drop_after"]
LOG_SIZE = 200
MAX_RULES = 1000
BUFFER_LIMIT = 8 << 20
"""A delayed request's body is read before the delay, up to this many bytes."""
OAUTH_OPERATION = "oauthToken"
"""Not a Zoom operationId (Zoom's OAuth endpoint has none): the name rules use for
``POST /oauth/token``."""

ERROR_BODIES: dict[int, tuple[int, str]] = {
    500: (500, "Internal server error."),
    503: (503, "Service Unavailable."),
    429: (429, PER_SECOND_MESSAGE),
}
"""``status -> (code, message)``. 500 is the emulator's own server-fault body, 429 Zoom's
per-second body; 503 is a choice (Zoom documents no body for it)."""


@dataclass(frozen=True)
class _Target:
    operation_id: str
    method: str
    pattern: re.Pattern[str]
    label: catalog.Label


def _compile(path: str) -> re.Pattern[str]:
    """``/v2/webinars/{webinarId}/livestream`` -> a regex matching one concrete path."""
    parts = re.split(r"(\{[^}]+\})", path)
    return re.compile(
        "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts if p) + "$"
    )


TARGETS: tuple[_Target, ...] = (
    *(
        _Target(op.operation_id, op.method, _compile(op.full_path), op.label)
        for op in catalog.OPERATIONS
    ),
    _Target(OAUTH_OPERATION, "POST", _compile("/oauth/token"), "Light"),
)
_BY_ID = {t.operation_id: t for t in TARGETS}


def _target_of(method: str, path: str) -> _Target | None:
    for target in TARGETS:
        if (method == target.method or (method == "HEAD" and target.method == "GET")) and (
            target.pattern.match(path)
        ):
            return target
    return None


def faultable(path: str) -> bool:
    """Only Zoom's surface is faulted: ``/v2`` and ``/oauth/token``, never ``/_emulator``."""
    return path == "/v2" or path.startswith("/v2/") or path == "/oauth/token"


# rules ---------------------------------------------------------------------------------------


class FaultRule(BaseModel):
    """One fault: what to do, to which requests, and how often."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,64}$")
    """Given, or assigned on creation (``fault-1``, ``fault-2``, ...)."""
    kind: FaultKind
    operation: str | None = None
    """A Zoom operationId from the catalog (``webinar``, ``webinarLiveStreamStatusUpdate``),
    ``oauthToken`` for ``POST /oauth/token``, or null for every ``/v2`` and token request."""
    latency_ms: int | None = Field(default=None, ge=0, le=60_000)
    """``latency``: the delay before the request is handled normally."""
    status: Literal[500, 503, 429] | None = None
    """``error``: the HTTP status answered instead of calling the app."""
    probability: float = Field(default=1.0, ge=0.0, le=1.0)
    """The chance that a matching request is faulted."""
    count: int | None = Field(default=None, ge=1, le=1_000_000)
    """Fault the next N matching requests (that the probability lets through), then expire."""
    seed: int | None = None
    """Seed for this rule's probability draws; default: derived from the emulator's seed."""

    @field_validator("operation")
    @classmethod
    def _known_operation(cls, value: str | None) -> str | None:
        if value is not None and value not in _BY_ID:
            raise ValueError(f"unknown operation {value!r}")
        return value


def rule_problems(rule: FaultRule) -> builtins.list[FieldError]:
    """What a rule lacks or has too much of for its kind."""
    out: builtins.list[FieldError] = []

    def need(name: str, present: bool) -> None:
        if not present:
            out.append(FieldError(field=name, message=f"Required when kind is {rule.kind}."))

    def refuse(name: str, present: bool) -> None:
        if present:
            out.append(FieldError(field=name, message=f"Not allowed when kind is {rule.kind}."))

    need("latency_ms", rule.kind != "latency" or rule.latency_ms is not None)
    refuse("latency_ms", rule.kind != "latency" and rule.latency_ms is not None)
    need("status", rule.kind != "error" or rule.status is not None)
    refuse("status", rule.kind != "error" and rule.status is not None)
    return out


@dataclass
class _Active:
    rule: FaultRule
    rng: random.Random
    remaining: int | None
    applied: int = 0


@dataclass(frozen=True)
class Decision:
    """What to do with one request: wait ``latency_ms`` (sum of the latency rules that fired),
    then answer with ``error``, ``drop`` or ``drop_after`` (the first such rule that fired), or
    call the app."""

    latency_ms: int
    terminal: FaultRule | None
    target: _Target | None


class FaultInjector:
    """The fault rules of one emulator process. Thread-safe; seeded draws are reproducible."""

    def __init__(self, seed: int | None = None) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._rules: builtins.list[_Active] = []
        self._log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        self._next_id = 1
        self._rng = self._fresh_rng()
        self._rows: SharedRows | None = None
        self._bus: Bus | None = None

    def share(self, bus: Bus, rows: SharedRows) -> None:
        """Keep the rules in the store's PostgreSQL, for every worker and host: a change is
        written and announced, each process reloads the rules when it hears it, and a counted
        rule's firings are taken from the shared count (``count: 1`` fires once in all)."""
        self._bus, self._rows = bus, rows
        bus.subscribe("faults", lambda message: self._reload())
        bus.subscribe(RESYNC, lambda message: self._reload())
        self._reload()

    def _reload(self) -> None:
        assert self._rows is not None
        rows = self._rows.fault_rules()
        with self._lock:
            current = {a.rule.id: a for a in self._rules}
            fresh: builtins.list[_Active] = []
            for body, remaining in rows:
                rule = FaultRule.model_validate(body)
                known = current.get(rule.id)
                if known is not None:
                    known.remaining = remaining
                    fresh.append(known)
                else:
                    seed = rule.seed if rule.seed is not None else self._rng.getrandbits(64)
                    fresh.append(_Active(rule, random.Random(seed), remaining))
            self._rules = fresh

    def _announce(self) -> None:
        if self._bus is not None:
            self._reload()
            self._bus.publish("faults", {})

    def _fresh_rng(self) -> random.Random:
        return random.Random(self._seed) if self._seed is not None else random.Random()

    def add(self, rule: FaultRule) -> FaultRule:
        """Validate and install a rule; returns it with its id. Raises Zoom-shaped 400 or 409."""
        problems = rule_problems(rule)
        if problems:
            raise validation_failed(problems)
        if self._rows is not None:
            return self._add_shared(rule)
        with self._lock:
            if len(self._rules) >= MAX_RULES:
                raise E.FAULTS_FULL.error(limit=MAX_RULES)
            if rule.id is None:
                taken = {a.rule.id for a in self._rules}
                while f"fault-{self._next_id}" in taken:
                    self._next_id += 1
                rule = rule.model_copy(update={"id": f"fault-{self._next_id}"})
                self._next_id += 1
            elif any(a.rule.id == rule.id for a in self._rules):
                raise E.CONTROL_CONFLICT.error(what="Fault", id=rule.id)
            seed = rule.seed if rule.seed is not None else self._rng.getrandbits(64)
            self._rules.append(_Active(rule, random.Random(seed), rule.count))
        return rule

    def _add_shared(self, rule: FaultRule) -> FaultRule:
        assert self._rows is not None
        given = rule.id
        for _ in range(1000):
            named = rule if given is not None else rule.model_copy(update={"id": _new_id()})
            try:
                added = self._rows.add_fault(named.model_dump(), named.count, MAX_RULES)
            except OverflowError:
                raise E.FAULTS_FULL.error(limit=MAX_RULES) from None
            if added:
                self._announce()
                return named
            if given is not None:
                raise E.CONTROL_CONFLICT.error(what="Fault", id=given)
        raise E.FAULT_UNNAMED.error()  # pragma: no cover

    def list(self) -> builtins.list[FaultRule]:
        """The rules in force, oldest first."""
        with self._lock:
            return [a.rule for a in self._rules]

    def describe(self) -> builtins.list[dict[str, Any]]:
        """The rules in force as JSON, each with ``applied`` and ``remaining`` (null: no count)."""
        with self._lock:
            return [
                {**a.rule.model_dump(), "applied": a.applied, "remaining": a.remaining}
                for a in self._rules
            ]

    def remove(self, fault_id: str) -> bool:
        if self._rows is not None:
            found = self._rows.remove_fault(fault_id)
            self._announce()
            return found
        with self._lock:
            kept = [a for a in self._rules if a.rule.id != fault_id]
            found = len(kept) != len(self._rules)
            self._rules = kept
            return found

    def clear(self) -> None:
        """Remove every rule, empty the log, and restart the seeded draws."""
        if self._rows is not None:
            self._rows.remove_fault(None)
        with self._lock:
            self._rules.clear()
            self._log.clear()
            self._rng = self._fresh_rng()
        if self._bus is not None:
            self._bus.publish("faults", {})

    def log(self) -> builtins.list[dict[str, Any]]:
        """The last 200 faults applied, oldest first."""
        with self._lock:
            return builtins.list(self._log)

    @property
    def active(self) -> bool:
        """Are there rules at all? (Read without the lock: a stale answer only means a rule
        added a moment ago applies from the next request.)"""
        return bool(self._rules)

    def decide(self, method: str, path: str) -> Decision | None:
        """Draw the faults for one request (consuming counts and logging what fires)."""
        if not faultable(path):
            return None
        with self._lock:
            if not self._rules:
                return None
            target = _target_of(method, path)
            latency = 0
            terminal: FaultRule | None = None
            for active in self._rules:
                rule = active.rule
                if rule.operation is not None and (
                    target is None or target.operation_id != rule.operation
                ):
                    continue
                if rule.kind != "latency" and terminal is not None:
                    continue  # one answer per request: later error/drop rules are not drawn
                if rule.probability < 1.0 and active.rng.random() >= rule.probability:
                    continue
                if active.remaining is not None and self._rows is not None:
                    left = self._rows.consume_fault(rule.id or "")  # a shared count
                    if left is None:
                        active.remaining = 0  # another worker took the last firing
                        continue
                    active.remaining = left + 1
                active.applied += 1
                if active.remaining is not None:
                    active.remaining -= 1
                entry: dict[str, Any] = {
                    "at": datetime.now(UTC).isoformat(),
                    "fault_id": rule.id,
                    "kind": rule.kind,
                    "method": method,
                    "path": path,
                    "operation": target.operation_id if target is not None else None,
                }
                if rule.kind == "latency":
                    latency += rule.latency_ms or 0
                    entry["latency_ms"] = rule.latency_ms
                else:
                    terminal = rule
                    if rule.kind == "error":
                        entry["status"] = rule.status
                self._log.append(entry)
            self._rules = [a for a in self._rules if a.remaining is None or a.remaining > 0]
        if latency == 0 and terminal is None:
            return None
        return Decision(latency, terminal, target)


# the middleware ------------------------------------------------------------------------------


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised in process for a ``drop`` fault, where there is no connection to close."""


def _new_id() -> str:
    return f"fault-{uuid.uuid4().hex[:8]}"


def _tracking_id() -> str:
    return f"v=2.0;clid=emulator;rid=WEB_{uuid.uuid4().hex}"


def _now(scope: Scope) -> float:
    """The emulator clock when the app has one (it names rate-limit windows), else wall time."""
    env = getattr(getattr(scope.get("app"), "state", None), "env", None)
    clock = getattr(env, "clock", None)
    if clock is not None:
        return float(clock.now().timestamp())
    return time.time()


def fault_error(status: int, target: _Target | None, now: float) -> ZoomError:
    """The answer to an ``error`` fault: Zoom's body, and for 429 Zoom's per-second headers."""
    code, message = ERROR_BODIES[status]
    headers = {"x-zm-trackingid": _tracking_id()}
    if status == 429:
        label: catalog.Label = target.label if target is not None else "Light"
        limit = ZOOM_LIMITS["business"][label]
        headers.update(
            {
                "X-RateLimit-Category": label,
                "X-RateLimit-Type": "QPS",
                "X-RateLimit-Limit": str(limit.rate),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str((int(now) // limit.window + 1) * limit.window),
            }
        )
    return by_words(status, code, message).error(headers=headers)


def _find_transport(receive: Any, depth: int = 0) -> Any:
    """uvicorn's connection transport, reached through its ``receive`` (a bound method of the
    request cycle, possibly wrapped in closures by pure-ASGI middleware). None elsewhere."""
    if depth > 4 or receive is None:
        return None
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is not None and callable(getattr(transport, "abort", None)):
        return transport
    for cell in getattr(receive, "__closure__", None) or ():
        try:
            content = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if callable(content):
            found = _find_transport(content, depth + 1)
            if found is not None:
                return found
    return None


async def drop_connection(scope: Scope, receive: Receive) -> None:
    """Close the client's connection without answering."""
    transport = _find_transport(receive)
    if transport is None:
        raise ConnectionDropped("Server disconnected without sending a response.")
    transport.abort()
    # Let the server see the disconnect before the app returns, so that it neither answers 500
    # nor logs "returned without starting response".
    with anyio.move_on_after(2):
        while (await receive())["type"] != "http.disconnect":
            pass


async def handle_then_drop(app: ASGIApp, scope: Scope, receive: Receive, latency_ms: int) -> None:
    """``drop_after``: handle the request in full (the app answers only once its change is
    committed), throw the answer away, and close the connection without a byte of it."""
    handled = await buffer_body(receive)
    if latency_ms:
        await anyio.sleep(latency_ms / 1000)

    async def discard(message: Message) -> None:
        pass

    await app(scope, handled, discard)
    await drop_connection(scope, receive)


async def buffer_body(receive: Receive, limit: int = BUFFER_LIMIT) -> Receive:
    """Read the request body now (up to ``limit`` bytes) and return a ``receive`` that replays
    it, so that a request delayed past its client's timeout is still handled in full, as a slow
    server that had received it would."""
    messages: builtins.list[Message] = []
    size = 0
    while size <= limit:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
        size += len(message.get("body", b""))

    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    return replay


class FaultMiddleware:
    """Pure ASGI: applies the injector's rules to Zoom requests before the app sees them."""

    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        decision = self.injector.decide(scope["method"], scope["path"])
        if decision is None:
            await self.app(scope, receive, send)
            return
        rule = decision.terminal
        if rule is None:  # latency only
            receive = await buffer_body(receive)
            await anyio.sleep(decision.latency_ms / 1000)
            await self.app(scope, receive, send)
            return
        if rule.kind == "drop_after":
            await handle_then_drop(self.app, scope, receive, decision.latency_ms)
            return
        if decision.latency_ms:
            await anyio.sleep(decision.latency_ms / 1000)
        if rule.kind == "error":
            assert rule.status is not None
            err = fault_error(rule.status, decision.target, _now(scope))
            await error_response(err)(scope, receive, send)
        else:
            await drop_connection(scope, receive)


# the control API -----------------------------------------------------------------------------


def injector_of(env: Env) -> FaultInjector:
    injector = getattr(env, "faults", None)
    if not isinstance(injector, FaultInjector):
        raise E.FAULTS_OFF.error()
    return injector


def add_fault(env: Env, req: ControlRequest) -> Response:
    injector = injector_of(env)
    rule = injector.add(validate_model(FaultRule, req.document()))
    described = next((r for r in injector.describe() if r["id"] == rule.id), None)
    body = described or {**rule.model_dump(), "applied": 0, "remaining": rule.count}
    return JSONResponse(body, status_code=201)


def list_faults(env: Env, req: ControlRequest) -> Response:
    injector = injector_of(env)
    return JSONResponse({"rules": injector.describe(), "log": injector.log()})


def clear_faults(env: Env, req: ControlRequest) -> Response:
    injector_of(env).clear()
    return Response(status_code=204)


def delete_fault(env: Env, req: ControlRequest) -> Response:
    fault_id = req.path["faultId"]
    if not injector_of(env).remove(fault_id):
        raise E.CONTROL_NOT_FOUND.error(what="Fault", id=fault_id)
    return Response(status_code=204)


def fault_routes() -> builtins.list[BaseRoute]:
    p = "/_emulator/faults"
    return [
        Route(p, endpoint(list_faults), methods=["GET"]),
        Route(p, endpoint(add_fault), methods=["POST"]),
        Route(p, endpoint(clear_faults), methods=["DELETE"]),
        Route(f"{p}/{{faultId}}", endpoint(delete_fault), methods=["DELETE"]),
    ]
