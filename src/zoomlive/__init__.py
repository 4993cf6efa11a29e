"""zoomlive: control Zoom webinar and meeting live streams, and emulate Zoom's API to test them.

The SDK is :class:`ZoomClient` / :class:`AsyncZoomClient`; the emulator is ``zoomlive serve``
(or :func:`create_app` for in-process use).
"""

from ._catalog import OPERATIONS, Operation
from ._client import AsyncZoomClient, ZoomClient
from ._errors import ErrorBody, FieldError, ZoomError
from ._exceptions import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ZoomAPIError,
    ZoomliveError,
)
from ._server import Settings, create_app
from ._version import __version__

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AsyncZoomClient",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "ErrorBody",
    "FieldError",
    "InternalServerError",
    "NotFoundError",
    "OPERATIONS",
    "Operation",
    "PermissionDeniedError",
    "RateLimitError",
    "Settings",
    "ZoomAPIError",
    "ZoomClient",
    "ZoomError",
    "ZoomliveError",
    "__version__",
    "create_app",
]
