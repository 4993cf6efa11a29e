"""The operation catalog: every Zoom operation the project knows, named once.

The emulator's routing, scope check and (later) rate limiter, the SDK's paths, ``/openapi.json``
and ``docs/operations.md`` all read this table. Adding an operation is one row here plus its
backend rule in the emulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from . import _wire as w

Label = Literal["Light", "Medium", "Heavy", "Resource-intensive"]


@dataclass(frozen=True)
class Operation:
    """One Zoom API operation."""

    operation_id: str
    """Zoom's own operationId (2022 spec)."""
    method: str
    path: str
    """Path under ``/v2``, with ``{param}`` placeholders as in Zoom's spec."""
    label: Label
    """Zoom's rate-limit label."""
    classic_scopes: tuple[str, ...]
    granular_scopes: tuple[str, ...]
    summary: str
    success_status: int
    request_model: type[BaseModel] | None = None
    response_model: type[BaseModel] | None = None
    query_model: type[BaseModel] | None = None
    tags: tuple[str, ...] = field(default=())

    @property
    def scopes(self) -> tuple[str, ...]:
        """Every scope that grants this operation (any one is enough)."""
        return self.classic_scopes + self.granular_scopes

    @property
    def full_path(self) -> str:
        return "/v2" + self.path


def _admin(*scopes: str) -> tuple[str, ...]:
    out: list[str] = []
    for scope in scopes:
        out += [scope, scope + ":admin"]
    return tuple(out)


def _master(scope: str) -> tuple[str, ...]:
    """Granular live-stream scopes come in user, ``:admin`` and ``:master`` variants."""
    return (scope, scope + ":admin", scope + ":master")


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "user",
        "GET",
        "/users/{userId}",
        "Light",
        _admin("user:read"),
        _admin("user:read:user"),
        "Get a user (id, email or `me`).",
        200,
        response_model=w.UserInfo,
        tags=("Users",),
    ),
    Operation(
        "webinarCreate",
        "POST",
        "/users/{userId}/webinars",
        "Light",
        _admin("webinar:write"),
        _admin("webinar:write:webinar"),
        "Create a webinar for a user.",
        201,
        request_model=w.WebinarCreate,
        response_model=w.Webinar,
        tags=("Webinars",),
    ),
    Operation(
        "webinars",
        "GET",
        "/users/{userId}/webinars",
        "Medium",
        _admin("webinar:read"),
        _admin("webinar:read:list_webinars"),
        "List a user's webinars.",
        200,
        response_model=w.WebinarList,
        query_model=w.WebinarListQuery,
        tags=("Webinars",),
    ),
    Operation(
        "webinar",
        "GET",
        "/webinars/{webinarId}",
        "Light",
        _admin("webinar:read"),
        _admin("webinar:read:webinar"),
        "Get a webinar (id or UUID).",
        200,
        response_model=w.Webinar,
        tags=("Webinars",),
    ),
    Operation(
        "webinarUpdate",
        "PATCH",
        "/webinars/{webinarId}",
        "Light",
        _admin("webinar:write"),
        _admin("webinar:update:webinar"),
        "Update a webinar.",
        204,
        request_model=w.WebinarUpdate,
        tags=("Webinars",),
    ),
    Operation(
        "webinarDelete",
        "DELETE",
        "/webinars/{webinarId}",
        "Light",
        _admin("webinar:write"),
        _admin("webinar:delete:webinar"),
        "Delete a webinar.",
        204,
        tags=("Webinars",),
    ),
    Operation(
        "webinarStatus",
        "PUT",
        "/webinars/{webinarId}/status",
        "Light",
        _admin("webinar:write"),
        _admin("webinar:update:status"),
        "End a webinar (`action: end`).",
        204,
        request_model=w.WebinarStatusUpdate,
        tags=("Webinars",),
    ),
)

BY_ID: dict[str, Operation] = {op.operation_id: op for op in OPERATIONS}


def all_scopes() -> list[str]:
    """Every scope the emulator knows, sorted."""
    return sorted({scope for op in OPERATIONS for scope in op.scopes})
