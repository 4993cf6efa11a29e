"""zoomlive: control Zoom webinar and meeting live streams, and emulate Zoom's API to test them.

The emulator is ``zoomlive serve`` (or :func:`create_app` for in-process use).
"""

from ._catalog import OPERATIONS, Operation
from ._errors import ErrorBody, FieldError, ZoomError
from ._server import Settings, create_app
from ._version import __version__

__all__ = [
    "ErrorBody",
    "FieldError",
    "OPERATIONS",
    "Operation",
    "Settings",
    "ZoomError",
    "__version__",
    "create_app",
]
