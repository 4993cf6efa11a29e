"""The SDK's exceptions, one tree.

    ZoomliveError
    ├── APIConnectionError        the request got no answer (refused, reset, DNS...)
    │   ├── APITimeoutError       ...because it timed out
    │   └── AmbiguousResultError  ...after it was sent, and it is a call the SDK does not send
    │                             twice (a create): it may have taken effect; ``hint`` says how
    │                             to check
    └── ZoomAPIError              Zoom answered with an error: status_code, code, message, errors
        ├── BadRequestError       400 (validation, "does not exist" on live-stream calls, ...)
        ├── AuthenticationError   401 (code 124: invalid or expired token)
        ├── PermissionDeniedError 403
        ├── NotFoundError         404
        ├── ConflictError         409
        ├── RateLimitError        429
        └── InternalServerError   5xx

"The request never arrived" and "Zoom said no" are different branches. One function,
:func:`make_status_error`, picks the class from the HTTP status.

An ``AmbiguousResultError`` is raised instead of sending a create again: Zoom offers no
idempotency key, so a create whose answer was lost (reset, read timeout) may have made the
webinar, and a second one would make another. An ``InternalServerError`` on a create is not
retried either, for the same reason, and its ``hint`` says so.

Messages name what went wrong where a developer can act on it: a connection error names the
method and URL tried (and, for Zoom's own hosts, how to point at the emulator instead); a
``ZoomAPIError``'s message may end with the SDK's ``hint`` in parentheses (a 404 from a base URL
without ``/v2``; OAuth's 4735, an account id that is not the app's; a 5xx to a create, which may
have made it all the same). ``code``, ``message`` and the other attributes stay Zoom's answer as
it came.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from zoomlive.api.errors import FieldError


class ZoomliveError(Exception):
    """Base of every error the SDK raises."""


class APIConnectionError(ZoomliveError):
    """No answer: the connection failed or broke."""

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.request = request


class APITimeoutError(APIConnectionError):
    """No answer in time."""


class AmbiguousResultError(APIConnectionError):
    """The request was sent but its answer was lost, and the call is not one the SDK sends
    twice: it may have taken effect. Check before sending it again (``hint`` says how)."""

    def __init__(self, message: str, *, hint: str, request: httpx.Request | None = None) -> None:
        super().__init__(f"{message} ({hint})", request=request)
        self.message = message
        """What happened: the method and URL, and why there was no answer."""
        self.hint = hint
        """How to check whether it took effect, e.g. list the user's webinars."""


class ZoomAPIError(ZoomliveError):
    """Zoom answered with an error body ``{"code", "message", "errors"?}``."""

    def __init__(
        self,
        status_code: int,
        code: int | None,
        message: str,
        *,
        errors: list[FieldError] | None = None,
        tracking_id: str | None = None,
        headers: httpx.Headers | None = None,
        hint: str | None = None,
    ) -> None:
        self.status_code = status_code
        """The HTTP status."""
        self.code = code
        """Zoom's error code (e.g. 124, 300, 3001), when the body had one."""
        self.message = message
        """Zoom's message."""
        self.errors = errors or []
        """Per-field problems of a ``Validation Failed.``."""
        self.tracking_id = tracking_id
        """Zoom's ``x-zm-trackingid``, for support requests."""
        self.headers = headers or httpx.Headers()
        self.hint = hint
        """What the SDK suggests, when it has a guess (not part of Zoom's answer)."""
        detail = "".join(f" [{e.field}: {e.message}]" for e in self.errors)
        shown = f"Zoom error {code}" if code is not None else f"HTTP {status_code}"
        suffix = f" ({hint})" if hint else ""
        super().__init__(f"{shown}: {message}{detail}{suffix}")


class BadRequestError(ZoomAPIError):
    """400."""


class AuthenticationError(ZoomAPIError):
    """401: the token is missing, invalid or expired (code 124)."""


class PermissionDeniedError(ZoomAPIError):
    """403."""


class NotFoundError(ZoomAPIError):
    """404."""


class ConflictError(ZoomAPIError):
    """409."""


class RateLimitError(ZoomAPIError):
    """429: a per-second or daily rate limit."""


class InternalServerError(ZoomAPIError):
    """5xx."""


_BY_STATUS: dict[int, type[ZoomAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def make_status_error(response: httpx.Response, *, hint: str | None = None) -> ZoomAPIError:
    """The exception for an error answer, parsed with the emulator's own error model;
    ``hint`` is appended to its message."""
    from zoomlive.api.errors import ErrorBody  # pydantic models load on first use

    code: int | None = None
    message = response.reason_phrase or f"HTTP {response.status_code}"
    errors: list[FieldError] = []
    try:
        data: Any = response.json()
        body = ErrorBody.model_validate(data)
        code, message, errors = body.code, body.message, body.errors or []
    except Exception:
        text = response.text.strip()
        if text:
            message = text[:500]
    status = response.status_code
    cls = _BY_STATUS.get(status, InternalServerError if status >= 500 else ZoomAPIError)
    return cls(
        status,
        code,
        message,
        errors=errors,
        tracking_id=response.headers.get("x-zm-trackingid"),
        headers=response.headers,
        hint=hint,
    )
