"""zoomlive: control Zoom webinar and meeting live streams, and emulate Zoom's API to test them.

This package is the SDK: :class:`ZoomClient` / :class:`AsyncZoomClient`, Zoom's errors as
exceptions, and the operation catalog. The emulator is :mod:`zoomlive.emulator` (``zoomlive
serve``; ``pip install 'zoomlive[emulator]'``); importing ``zoomlive`` loads none of it.
"""

from typing import TYPE_CHECKING, Any

from zoomlive._client import AsyncZoomClient, ZoomClient
from zoomlive._exceptions import (
    AmbiguousResultError,
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

if TYPE_CHECKING:
    from zoomlive.api.catalog import OPERATIONS, Operation
    from zoomlive.api.errors import ErrorBody, FieldError, ZoomError

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AmbiguousResultError",
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


_LAZY = {
    "OPERATIONS": "zoomlive.api.catalog",
    "Operation": "zoomlive.api.catalog",
    "ErrorBody": "zoomlive.api.errors",
    "FieldError": "zoomlive.api.errors",
    "ZoomError": "zoomlive.api.errors",
}


def __getattr__(name: str) -> Any:
    # The catalog and the error models are pydantic models: they load when first asked for, so
    # that `import zoomlive` costs little more than importing httpx (a test pins what it imports).
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    # Earlier releases exported the emulator's entry points here; they now live in
    # zoomlive.emulator and load only when asked for.
    if name in ("create_app", "Settings"):
        from zoomlive import emulator

        return getattr(emulator, name)
    raise AttributeError(f"module 'zoomlive' has no attribute {name!r}")
