"""zoomlive: control Zoom webinar and meeting live streams, and emulate Zoom's API to test them.

This package is the SDK: :class:`ZoomClient` / :class:`AsyncZoomClient`, Zoom's errors as
exceptions, and the operation catalog. The emulator is :mod:`zoomlive.emulator` (``zoomlive
serve``; ``pip install 'zoomlive[emulator]'``); importing ``zoomlive`` loads none of it.
"""

from typing import Any

from zoomlive._client import AsyncZoomClient, ZoomClient
from zoomlive._exceptions import (
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
from zoomlive._version import __version__
from zoomlive.spec.catalog import OPERATIONS, Operation
from zoomlive.spec.errors import ErrorBody, FieldError, ZoomError

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
    "ZoomAPIError",
    "ZoomClient",
    "ZoomError",
    "ZoomliveError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # Earlier releases exported the emulator's entry points here; they now live in
    # zoomlive.emulator and load only when asked for.
    if name in ("create_app", "Settings"):
        from zoomlive import emulator

        return getattr(emulator, name)
    raise AttributeError(f"module 'zoomlive' has no attribute {name!r}")
