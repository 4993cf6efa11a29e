"""The one error model that the emulator raises and the SDK parses back.

Zoom answers every failure with ``{"code": int, "message": str}`` and, for validation failures,
an ``errors`` list of ``{"field", "message"}``. The emulator's backend raises :class:`ZoomError`;
a single handler in the server turns it into that body with ``status`` as the HTTP status.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class FieldError(BaseModel):
    """One field that failed validation."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    field: str
    """Dotted path of the offending field, e.g. ``settings.display_name``."""
    message: str
    """Why it was rejected."""


class ErrorBody(BaseModel):
    """Zoom's error body."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    code: int
    """Zoom's error code (not the HTTP status), e.g. 124, 300, 3001."""
    message: str
    """Zoom's human-readable message."""
    errors: list[FieldError] | None = None
    """Per-field problems, present on ``Validation Failed.``."""


class ZoomError(Exception):
    """A failure answered with Zoom's error body and an HTTP status."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> ErrorBody:
        body = ErrorBody(code=self.code, message=self.message, errors=self.errors)
        for key, value in self.extra.items():
            setattr(body, key, value)
        return body

    def to_json(self) -> bytes:
        return self.body().model_dump_json(exclude_none=True).encode()


VALIDATION_FAILED = "Validation Failed."
INVALID_JSON = "Request Body should be a valid JSON object."


def validation_failed(errors: list[FieldError]) -> ZoomError:
    return ZoomError(400, 300, VALIDATION_FAILED, errors=errors)
