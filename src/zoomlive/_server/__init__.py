"""The emulator: ``create_app(settings)`` builds the ASGI app that answers like Zoom's API."""

from .app import create_app
from .settings import Settings

__all__ = ["Settings", "create_app"]
