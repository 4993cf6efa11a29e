"""Fault injection: added latency, any of Zoom's errors (from the error table, by name or by
status and code, or the 500/503/429 shorthands), dropped connections and dropped answers, per
operation or for every Zoom request, on every request, a fraction of them, the next N, or as a
sequence of steps ("fail twice, then succeed"); and webhook delivery faults (delay, duplicate,
reorder, drop an attempt).

Rules are added through the control API (``/_emulator/faults``, see ``docs/faults.md``) and held
by a :class:`FaultInjector`; :class:`FaultMiddleware` applies them before the request reaches the
app, so a faulted request (error or drop) changes no state, except ``drop_after``: the request
is handled and committed, then its answer is dropped, as when a network loses the answer to a
request that succeeded. The control API itself, the OpenAPI document and anything else outside
``/v2`` and ``/oauth/token`` is never faulted. :class:`WebhookFaults` applies the webhook rules
to the dispatcher's delivery attempts.

A drop closes the client's TCP connection without a byte of answer. Under uvicorn the middleware
reaches the connection's transport through uvicorn's ``receive`` callable and aborts it; in
process (Starlette's ``TestClient``, httpx's ``ASGITransport``) there is no connection, so the
middleware raises :class:`ConnectionDropped`, an ``httpx.RemoteProtocolError``, which the test
client hands to the caller: the same exception class httpx raises over a real socket.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import functools
import random
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import anyio
import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zoomlive.api import catalog
from zoomlive.api.errors import (
    ERRORS,
    E,
    FieldError,
    ZoomError,
    ZoomErrorSpec,
    by_words,
    lookup,
    validation_failed,
)
from zoomlive.emulator.control.endpoints import ControlRequest, endpoint
from zoomlive.emulator.env import Env
from zoomlive.emulator.http import error_response, validate_model
from zoomlive.emulator.ratelimit import PER_SECOND_MESSAGE, ZOOM_LIMITS
from zoomlive.emulator.shared import RESYNC, Bus, SharedRows

FaultKind = Literal[
    "latency",
    "error",
    "drop",
    "drop_after",
    "sequence",
    "webhook_delay",
    "webhook_duplicate",
    "webhook_reorder",
    "webhook_drop",
]
StepKind = Literal[
    "pass",
    "latency",
    "error",
    "drop",
    "drop_after",
    "webhook_delay",
    "webhook_duplicate",
    "webhook_reorder",
    "webhook_drop",
]
HTTP_KINDS = frozenset({"latency", "error", "drop", "drop_after"})
WEBHOOK_KINDS = frozenset({"webhook_delay", "webhook_duplicate", "webhook_reorder", "webhook_drop"})
DELAY_KINDS = frozenset({"latency", "webhook_delay"})
LOG_SIZE = 200
MAX_RULES = 1000
MAX_STEPS = 1000
"""The most steps a sequence may have (each ``times`` counted)."""
HOLD_S = 5.0
"""``webhook_reorder``: how long a held delivery waits for the next one before it goes anyway."""
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
"""``status -> (code, message)``: the shorthand ``{"status": 500 | 503 | 429}``. 500 is the
emulator's own server-fault body, 429 Zoom's per-second body; 503 is a choice (Zoom documents no
body for it)."""
OAUTH_ERROR_WORDS = {
    "OAUTH_INVALID_CLIENT": "invalid_client",
    "OAUTH_INVALID_SECRET": "invalid_client",
    "OAUTH_GRANT_UNSUPPORTED": "unsupported_grant_type",
}
"""RFC 6749's ``error`` for the table's OAuth errors (the others: ``invalid_request``), as
``zoomlive.emulator.rules.oauth`` answers them."""
DAILY_ERRORS = frozenset({"RATE_LIMIT_DAILY", "WEBINAR_DAILY_CAP", "MEETING_DAILY_CAP"})
_LEGACY_FIELDS = ("operation", "latency_ms", "status", "count", "seed")
_ID_PARAMS = (
    ("WEBINAR", "webinarId"),
    ("MEETING", "meetingId"),
    ("PANELIST", "panelistId"),
    ("REGISTRANT", "registrantId"),
    ("USER", "userId"),
    ("HOST", "userId"),
)
_NOUN_WORDS = ("WEBINAR", "MEETING", "PANELIST", "REGISTRANT", "USER")
_NOUNS = {"webinarId": "Webinar", "meetingId": "Meeting", "userId": "User"}
_DEFAULT_VALUES: dict[str, str | int] = {
    "noun": "Meeting",
    "kind": "meeting",
    "id": "0",
    "cap": 100,
    "scopes": "",
    "email": "user@example.com",
    "host": "api.zoom.us",
    "limit": BUFFER_LIMIT,
    "maximum": 300,
    "what": "Object",
    "events": "",
    "reason": "refused",
}
"""A template field that neither the rule's ``values`` nor the request's path fills."""


@dataclass(frozen=True)
class _Target:
    operation_id: str
    method: str
    pattern: re.Pattern[str]
    label: catalog.Label
    scopes: tuple[str, ...] = ()


def _compile(path: str) -> re.Pattern[str]:
    """``/v2/webinars/{webinarId}/livestream`` -> a regex matching one concrete path (its
    parameters as named groups)."""
    parts = re.split(r"(\{[^}]+\})", path)
    return re.compile(
        "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts if p)
        + "$"
    )


TARGETS: tuple[_Target, ...] = (
    *(
        _Target(op.operation_id, op.method, _compile(op.full_path), op.label, op.granular_scopes)
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


@functools.cache
def known_events() -> frozenset[str]:
    """The webhook events a webhook fault may name: Zoom's documented ones and the emulator's."""
    from zoomlive.emulator.webhook_payloads import documented_events
    from zoomlive.emulator.webhooks import EVENTS

    return documented_events() | frozenset(EVENTS)


# rules ---------------------------------------------------------------------------------------


class FaultStep(BaseModel):
    """One step of a sequence: what the matching request with this position gets."""

    model_config = ConfigDict(extra="forbid")

    kind: StepKind | None = None
    """Default: ``error`` with ``error``, ``status`` or ``code``; ``latency`` with
    ``latency_ms``; else ``pass`` (the request is handled normally)."""
    error: str | None = None
    status: int | None = Field(default=None, ge=400, le=599)
    code: int | None = Field(default=None, ge=0)
    values: dict[str, str | int] | None = None
    latency_ms: int | None = Field(default=None, ge=0, le=60_000)
    times: int = Field(default=1, ge=1, le=MAX_STEPS)
    """How many matching requests in a row get this step."""


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
    """``latency`` and ``webhook_delay``: the delay before the request (delivery) goes on."""
    status: int | None = Field(default=None, ge=400, le=599)
    """``error``: the HTTP status answered; alone, one of the shorthands 500, 503 and 429."""
    error: str | None = None
    """``error``: a name from Zoom's error table (``TOKEN_EXPIRED``, ``WEBINAR_NOT_FOUND``)."""
    code: int | None = Field(default=None, ge=0)
    """``error``: with ``status``, the table's first error with this status and Zoom code."""
    values: dict[str, str | int] | None = None
    """``error``: the message template's fields (default: from the request's path)."""
    event: str | None = None
    """Webhook kinds: the event whose deliveries are faulted, or null for every delivery."""
    steps: builtins.list[str | dict[str, Any]] | None = Field(
        default=None, min_length=1, max_length=MAX_STEPS
    )
    """``sequence``: what the 1st, 2nd, ... matching request gets (``"pass"``, an error name,
    or a step object)."""
    then: str | dict[str, Any] | None = None
    """``sequence``: what every request after the steps gets; absent: the rule ends."""
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

    @field_validator("event")
    @classmethod
    def _known_event(cls, value: str | None) -> str | None:
        if value is not None and value not in known_events():
            raise ValueError(f"unknown webhook event {value!r}")
        return value

    def dump(self) -> dict[str, Any]:
        """As JSON: the original fields always, the newer ones when set."""
        return {**dict.fromkeys(_LEGACY_FIELDS), **self.model_dump(exclude_none=True)}


@dataclass(frozen=True)
class Action:
    """What one request (or delivery) gets from one rule."""

    kind: str
    """A :data:`StepKind`."""
    spec: ZoomErrorSpec | None = None
    values: dict[str, str | int] = field(default_factory=dict)
    latency_ms: int = 0


PASS = Action("pass")


@dataclass(frozen=True)
class Program:
    """A rule, compiled: one action (a plain rule), or a sequence's steps and its ``then``."""

    actions: tuple[Action, ...]
    then: Action | None
    sequence: bool
    webhook: bool


def error_names() -> builtins.list[dict[str, Any]]:
    """Zoom's error table as ``GET /_emulator/faults/errors`` shows it."""
    return [
        {
            "name": spec.name,
            "status": spec.status,
            "code": spec.code,
            "message": spec.template,
            "fields": builtins.list(spec.fields),
        }
        for spec in ERRORS.values()
    ]


def _resolve(
    error: str | None,
    status: int | None,
    code: int | None,
    values: dict[str, str | int] | None,
    prefix: str,
    out: builtins.list[FieldError],
    operation: str | None = None,
) -> ZoomErrorSpec | None:
    """The table's error a rule (or step) names, or None with the problem in ``out``. By
    status and code, the table's first such error about the operation's object (a meeting's
    404/3001 is ``MEETING_NOT_FOUND``), else its first such error (300, Zoom's validation code,
    is always "Validation Failed.")."""
    spec: ZoomErrorSpec | None = None
    if error is not None:
        if status is not None or code is not None:
            out.append(FieldError(field=f"{prefix}error", message="Give error, or status."))
            return None
        spec = ERRORS.get(error.upper())
        if spec is None:
            out.append(
                FieldError(
                    field=f"{prefix}error",
                    message=f"Unknown Zoom error {error!r} (GET /_emulator/faults/errors "
                    "lists them).",
                )
            )
            return None
    elif code is not None:
        if status is None:
            out.append(FieldError(field=f"{prefix}status", message="Required with code."))
            return None
        found = lookup(status, code)
        if not found:
            out.append(
                FieldError(
                    field=f"{prefix}code",
                    message=f"No Zoom error with status {status} and code {code} in the table.",
                )
            )
            return None
        nouns = [n for n in _NOUN_WORDS if n.lower() in (operation or "").lower()]
        if code == E.VALIDATION_FAILED.code:
            nouns = []  # Zoom's 300 is its validation code: "Validation Failed." to any call
        spec = next((f for f in found if any(n in f.name for n in nouns)), found[0])
    elif status is not None:
        if status not in ERROR_BODIES:
            out.append(
                FieldError(
                    field=f"{prefix}status",
                    message="Alone, status is 500, 503 or 429; give code or error for others.",
                )
            )
            return None
        body_code, message = ERROR_BODIES[status]
        spec = by_words(status, body_code, message)
    else:
        out.append(FieldError(field=f"{prefix}status", message="Required when kind is error."))
        return None
    unknown = sorted(set(values or {}) - set(spec.fields))
    if unknown:
        out.append(
            FieldError(
                field=f"{prefix}values",
                message=f"{spec.name} has no field {unknown[0]!r} (its fields: "
                f"{', '.join(spec.fields) or 'none'}).",
            )
        )
        return None
    return spec


def _action(
    kind: str,
    *,
    error: str | None,
    status: int | None,
    code: int | None,
    values: dict[str, str | int] | None,
    latency_ms: int | None,
    prefix: str,
    out: builtins.list[FieldError],
    operation: str | None = None,
) -> Action | None:
    before = len(out)

    def refuse(name: str, present: bool) -> None:
        if present:
            out.append(
                FieldError(field=f"{prefix}{name}", message=f"Not allowed when kind is {kind}.")
            )

    delay = kind in DELAY_KINDS
    if delay and latency_ms is None:
        out.append(
            FieldError(field=f"{prefix}latency_ms", message=f"Required when kind is {kind}.")
        )
    refuse("latency_ms", not delay and latency_ms is not None)
    spec: ZoomErrorSpec | None = None
    if kind == "error":
        spec = _resolve(error, status, code, values, prefix, out, operation)
    else:
        for name, value in (("status", status), ("error", error), ("code", code)):
            refuse(name, value is not None)
        refuse("values", values is not None)
    if len(out) > before:
        return None
    return Action(kind, spec, dict(values or {}), latency_ms or 0)


def _step(
    step: str | dict[str, Any] | FaultStep,
    prefix: str,
    out: builtins.list[FieldError],
    operation: str | None,
) -> Action | None:
    """A sequence's step: ``"pass"``, an error's name, or a step object (:class:`FaultStep`)."""
    if isinstance(step, dict):
        try:
            step = FaultStep.model_validate(step)
        except ValidationError as exc:
            for problem in exc.errors():
                where = ".".join(str(part) for part in problem["loc"])
                out.append(FieldError(field=f"{prefix}{where}", message=problem["msg"] + "."))
            return None
    if isinstance(step, str):
        if step == "pass":
            return PASS
        fields: dict[str, Any] = {"error": step}
        kind = "error"
    else:
        fields = step.model_dump(include={"error", "status", "code", "values", "latency_ms"})
        kind = step.kind or (
            "error"
            if step.error is not None or step.status is not None or step.code is not None
            else "latency"
            if step.latency_ms is not None
            else "pass"
        )
    return _action(
        kind,
        error=fields.get("error"),
        status=fields.get("status"),
        code=fields.get("code"),
        values=fields.get("values"),
        latency_ms=fields.get("latency_ms"),
        prefix=prefix,
        out=out,
        operation=operation,
    )


def compile_rule(rule: FaultRule) -> tuple[Program | None, builtins.list[FieldError]]:
    """The rule as the injector runs it, or what is wrong with it."""
    out: builtins.list[FieldError] = []

    def refuse(name: str, present: bool, why: str = "") -> None:
        if present:
            out.append(
                FieldError(field=name, message=why or f"Not allowed when kind is {rule.kind}.")
            )

    if rule.kind != "sequence":
        refuse("steps", rule.steps is not None)
        refuse("then", rule.then is not None)
        webhook = rule.kind in WEBHOOK_KINDS
        refuse("operation", webhook and rule.operation is not None)
        refuse("event", not webhook and rule.event is not None)
        action = _action(
            rule.kind,
            error=rule.error,
            status=rule.status,
            code=rule.code,
            values=rule.values,
            latency_ms=rule.latency_ms,
            prefix="",
            out=out,
            operation=rule.operation,
        )
        if action is None or out:
            return None, out
        return Program((action,), None, False, webhook), out
    for name in ("latency_ms", "status", "error", "code", "values", "count"):
        refuse(name, getattr(rule, name) is not None)
    refuse("probability", rule.probability != 1.0, "A sequence takes every matching request.")
    if rule.steps is None:
        out.append(FieldError(field="steps", message="Required when kind is sequence."))
        return None, out
    actions: builtins.list[Action] = []
    total = 0
    for i, step in enumerate(rule.steps):
        action = _step(step, f"steps.{i}.", out, rule.operation)
        times = step.get("times", 1) if isinstance(step, dict) else 1
        times = times if isinstance(times, int) and times >= 1 else 1
        total += times
        if action is not None and total <= MAX_STEPS:
            actions.extend([action] * times)
    if total > MAX_STEPS:
        out.append(FieldError(field="steps", message=f"At most {MAX_STEPS} steps in all."))
    then = None if rule.then is None else _step(rule.then, "then.", out, rule.operation)
    if isinstance(rule.then, dict) and rule.then.get("times", 1) != 1:
        out.append(FieldError(field="then.times", message="Not allowed on then."))
    kinds = {a.kind for a in [*actions, *([then] if then else [])]} - {"pass"}
    webhook = bool(kinds & WEBHOOK_KINDS) or rule.event is not None
    if (webhook and kinds & HTTP_KINDS) or (not webhook and kinds & WEBHOOK_KINDS):
        out.append(
            FieldError(field="steps", message="Steps are all webhook kinds or all request kinds.")
        )
    refuse("operation", webhook and rule.operation is not None)
    if out:
        return None, out
    return Program(tuple(actions), then, True, webhook), out


def rule_problems(rule: FaultRule) -> builtins.list[FieldError]:
    """What a rule lacks or has too much of for its kind."""
    return compile_rule(rule)[1]


def _program(rule: FaultRule) -> Program:
    program, problems = compile_rule(rule)
    if program is None:
        raise validation_failed(problems)
    return program


@dataclass
class _Active:
    rule: FaultRule
    rng: random.Random
    remaining: int | None
    program: Program
    applied: int = 0
    position: int = 0
    """A sequence's matching requests so far."""
    spent: bool = False

    def steps_left(self) -> int | None:
        if not self.program.sequence:
            return self.remaining
        if self.program.then is not None:
            return None
        return max(0, len(self.program.actions) - self.position)


@dataclass(frozen=True)
class Decision:
    """What to do with one request: wait ``latency_ms`` (sum of the delays that fired), then
    act on ``terminal`` (the first other action that fired: ``error``, ``drop``,
    ``drop_after``, or a webhook kind), or go on normally."""

    latency_ms: int
    terminal: Action | None
    target: _Target | None
    fault_id: str | None = None


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
        rule's firings (a sequence's steps) are taken from the shared row (``count: 1`` fires
        once in all)."""
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
                if known is None:
                    seed = rule.seed if rule.seed is not None else self._rng.getrandbits(64)
                    known = _Active(rule, random.Random(seed), None, _program(rule))
                if known.program.sequence:
                    known.position = remaining or 0
                else:
                    known.remaining = remaining
                fresh.append(known)
            self._rules = fresh

    def _announce(self) -> None:
        if self._bus is not None:
            self._reload()
            self._bus.publish("faults", {})

    def _fresh_rng(self) -> random.Random:
        return random.Random(self._seed) if self._seed is not None else random.Random()

    def add(self, rule: FaultRule) -> FaultRule:
        """Validate and install a rule; returns it with its id. Raises Zoom-shaped 400 or 409."""
        program = _program(rule)
        if self._rows is not None:
            return self._add_shared(rule, program)
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
            self._rules.append(_Active(rule, random.Random(seed), rule.count, program))
        return rule

    def _add_shared(self, rule: FaultRule, program: Program) -> FaultRule:
        assert self._rows is not None
        given = rule.id
        # A sequence's row counts its matching requests up from 0; a counted rule's counts down.
        start = 0 if program.sequence else rule.count
        for _ in range(1000):
            named = rule if given is not None else rule.model_copy(update={"id": _new_id()})
            try:
                added = self._rows.add_fault(named.dump(), start, MAX_RULES)
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
        """The rules in force as JSON, each with ``applied`` and ``remaining`` (null: no end;
        a sequence: the steps left) and, for a sequence, ``position`` (requests taken)."""
        with self._lock:
            out = []
            for a in self._rules:
                row = {**a.rule.dump(), "applied": a.applied, "remaining": a.steps_left()}
                if a.program.sequence:
                    row["position"] = a.position
                out.append(row)
            return out

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
            operation = target.operation_id if target is not None else None
            entry = {"method": method, "path": path, "operation": operation}
            latency, terminal, fault_id = self._draw(
                False, lambda rule: rule.operation is None or rule.operation == operation, entry
            )
        if latency == 0 and terminal is None:
            return None
        return Decision(latency, terminal, target, fault_id)

    def decide_webhook(self, event: str, delivery: int) -> Decision | None:
        """Draw the webhook faults for one delivery attempt."""
        if not self._rules:
            return None
        with self._lock:
            entry = {"event": event, "delivery": delivery}
            latency, terminal, fault_id = self._draw(
                True, lambda rule: rule.event is None or rule.event == event, entry
            )
        if latency == 0 and terminal is None:
            return None
        return Decision(latency, terminal, None, fault_id)

    def _draw(
        self, webhook: bool, matches: Callable[[FaultRule], bool], about: dict[str, Any]
    ) -> tuple[int, Action | None, str | None]:
        """Draw every rule of one surface (requests or webhooks) that ``matches``: the delays
        that fire, the first other action that fires, and its rule's id. (Under the lock.)"""
        latency = 0
        terminal: Action | None = None
        fault_id: str | None = None
        for active in self._rules:
            program = active.program
            if program.webhook != webhook or not matches(active.rule):
                continue
            if terminal is not None and (
                program.sequence or program.actions[0].kind not in DELAY_KINDS
            ):
                continue  # one answer per request: later rules that answer are not drawn
            fired = self._fire(active)
            if fired is None or fired[0].kind == "pass":
                continue
            action, step = fired
            entry: dict[str, Any] = {
                "at": datetime.now(UTC).isoformat(),
                "fault_id": active.rule.id,
                "kind": action.kind,
                **about,
            }
            if step is not None:
                entry["step"] = step
            if action.kind in DELAY_KINDS:
                latency += action.latency_ms
                entry["latency_ms"] = action.latency_ms
            else:
                terminal, fault_id = action, active.rule.id
                if action.spec is not None:
                    entry.update(
                        status=action.spec.status, code=action.spec.code, error=action.spec.name
                    )
            self._log.append(entry)
        self._rules = [a for a in self._rules if not a.spent]
        return latency, terminal, fault_id

    def _fire(self, active: _Active) -> tuple[Action, int | str | None] | None:
        """Does the rule fire for this request, and with what (and which step)? (Under the
        lock; consumes a count or takes a sequence's next position.)"""
        rule, program = active.rule, active.program
        if program.sequence:
            steps = len(program.actions)
            if self._rows is not None:
                taken = self._rows.step_fault(
                    rule.id or "", steps if program.then is None else None
                )
                if taken is None:
                    active.spent = True  # another worker took the last step
                    return None
                active.position = taken
            else:
                active.position += 1
            if program.then is None and active.position >= steps:
                active.spent = True
            active.applied += 1
            index = active.position - 1
            if index < steps:
                return program.actions[index], index + 1
            if program.then is None:
                return None
            return program.then, "then"
        if rule.probability < 1.0 and active.rng.random() >= rule.probability:
            return None
        if active.remaining is not None and self._rows is not None:
            left = self._rows.consume_fault(rule.id or "")  # a shared count
            if left is None:
                active.remaining = 0  # another worker took the last firing
                active.spent = True
                return None
            active.remaining = left + 1
        active.applied += 1
        if active.remaining is not None:
            active.remaining -= 1
            if active.remaining <= 0:
                active.spent = True
        return program.actions[0], None


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
    """The answer to a shorthand ``error`` fault (500, 503 or 429)."""
    code, message = ERROR_BODIES[status]
    return fault_answer(Action("error", by_words(status, code, message)), target, "", now)


def template_values(
    spec: ZoomErrorSpec, target: _Target | None, path: str, given: dict[str, str | int]
) -> dict[str, str | int]:
    """The template's fields: the rule's ``values``, else from the request's path (``{id}``:
    the id the error is about, ``{noun}``: Webinar or Meeting), else a plausible default."""
    params = {}
    if target is not None:
        found = target.pattern.match(path)
        params = found.groupdict() if found is not None else {}
    values: dict[str, str | int] = {}
    if params:
        wanted = next((p for word, p in _ID_PARAMS if word in spec.name and p in params), None)
        values["id"] = params[wanted or next(iter(params))]
        noun = next((_NOUNS[p] for p in params if p in _NOUNS), None)
        if noun is not None:
            values["noun"], values["kind"] = noun, noun.lower()
    if target is not None and target.scopes:
        values["scopes"] = target.scopes[0]
    return {
        name: given.get(name, values.get(name, _DEFAULT_VALUES.get(name, "")))
        for name in spec.fields
    }


def fault_answer(action: Action, target: _Target | None, path: str, now: float) -> ZoomError:
    """The answer to an ``error`` fault: the table's status, code and message (its fields
    filled), Zoom's rate-limit headers on a 429, and Zoom's OAuth fields on an OAuth error."""
    spec = action.spec
    assert spec is not None
    headers = {"x-zm-trackingid": _tracking_id()}
    label: catalog.Label = target.label if target is not None else "Light"
    if spec.status == 429 and spec.name in DAILY_ERRORS:
        day = ZOOM_LIMITS["business"][label].daily or ZOOM_LIMITS["free"][label].daily
        limit = day if spec.name == "RATE_LIMIT_DAILY" else 100
        midnight = (int(now) // 86400 + 1) * 86400
        headers.update(
            {
                "X-RateLimit-Category": label,
                "X-RateLimit-Type": "Daily-limit",
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": "0",
                "Retry-After": datetime.fromtimestamp(midnight, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    elif spec.status == 429:
        per_second = ZOOM_LIMITS["business"][label]
        headers.update(
            {
                "X-RateLimit-Category": label,
                "X-RateLimit-Type": "QPS",
                "X-RateLimit-Limit": str(per_second.rate),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str((int(now) // per_second.window + 1) * per_second.window),
            }
        )
    values: dict[str, Any] = template_values(spec, target, path, action.values)
    extra = None
    if spec.name.startswith("OAUTH_"):
        message = spec.template.format(**values)
        extra = {"reason": message, "error": OAUTH_ERROR_WORDS.get(spec.name, "invalid_request")}
    return spec.error(headers=headers, extra=extra, **values)


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
        action = decision.terminal
        if action is None:  # latency only
            receive = await buffer_body(receive)
            await anyio.sleep(decision.latency_ms / 1000)
            await self.app(scope, receive, send)
            return
        if action.kind == "drop_after":
            await handle_then_drop(self.app, scope, receive, decision.latency_ms)
            return
        if decision.latency_ms:
            await anyio.sleep(decision.latency_ms / 1000)
        if action.kind == "error":
            err = fault_answer(action, decision.target, scope["path"], _now(scope))
            await error_response(err)(scope, receive, send)
        else:
            await drop_connection(scope, receive)


# webhook deliveries --------------------------------------------------------------------------

Exchange = Callable[[], Awaitable[tuple[int, bytes | None]]]


class WebhookFaults:
    """The webhook rules applied to one dispatcher's delivery attempts, on its event loop:
    ``webhook_delay`` waits before sending, ``webhook_duplicate`` sends the same request twice,
    ``webhook_reorder`` holds the delivery until the next one has been sent (at most
    ``HOLD_S``), ``webhook_drop`` sends nothing and the attempt counts as failed."""

    def __init__(self, injector: FaultInjector) -> None:
        self.injector = injector
        self._held: builtins.list[asyncio.Future[None]] = []

    @property
    def active(self) -> bool:
        return self.injector.active or bool(self._held)

    async def deliver(
        self, event: str, delivery: int, send: Exchange
    ) -> tuple[int | None, str | None]:
        """Send one attempt through the rules: the answer's status, or the reason none came
        (``send`` raises as it would without rules)."""
        decision = self.injector.decide_webhook(event, delivery)
        if decision is None:
            return await self._send(send)
        if decision.latency_ms:
            await asyncio.sleep(decision.latency_ms / 1000)
        kind = decision.terminal.kind if decision.terminal is not None else None
        if kind == "webhook_drop":
            return None, f"dropped by fault rule {decision.fault_id}"
        if kind == "webhook_reorder":
            held = asyncio.get_running_loop().create_future()
            self._held.append(held)
            try:
                await asyncio.wait_for(asyncio.shield(held), HOLD_S)
            except TimeoutError:
                pass
            finally:
                if held in self._held:
                    self._held.remove(held)
            code, _ = await send()
            return code, None
        result = await self._send(send)
        if kind == "webhook_duplicate":
            with contextlib.suppress(TimeoutError, httpx.HTTPError):
                await send()  # the copy's answer is not recorded
        return result

    async def _send(self, send: Exchange) -> tuple[int | None, str | None]:
        try:
            code, _ = await send()
        finally:
            held, self._held = self._held, []
            for future in held:  # the next delivery has gone: the held ones follow it
                if not future.done():
                    future.set_result(None)
        return code, None


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
    body = described or {**rule.dump(), "applied": 0, "remaining": rule.count}
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


def list_errors(env: Env, req: ControlRequest) -> Response:
    """Zoom's error table, the operations and the webhook events, for a rule's choices."""
    return JSONResponse(
        {
            "errors": error_names(),
            "operations": [t.operation_id for t in TARGETS],
            "events": sorted(known_events()),
        }
    )


def fault_routes() -> builtins.list[BaseRoute]:
    p = "/_emulator/faults"
    return [
        Route(p, endpoint(list_faults), methods=["GET"]),
        Route(f"{p}/errors", endpoint(list_errors), methods=["GET"]),
        Route(p, endpoint(add_fault), methods=["POST"]),
        Route(p, endpoint(clear_faults), methods=["DELETE"]),
        Route(f"{p}/{{faultId}}", endpoint(delete_fault), methods=["DELETE"]),
    ]
