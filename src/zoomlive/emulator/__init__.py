"""The emulator: ``create_app(settings)`` builds the ASGI app that answers like Zoom's API;
``zoomlive serve`` runs it. Needs the ``emulator`` extra: ``pip install 'zoomlive[emulator]'``.

Importing this package is cheap: ``create_app`` and ``Settings`` load on first use, so that
``zoomlive serve --help`` needs none of the server's dependencies (``Settings`` needs only
pydantic-settings).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoomlive.emulator.app import create_app
    from zoomlive.emulator.settings import Settings

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from zoomlive.emulator.app import create_app

        return create_app
    if name == "Settings":
        from zoomlive.emulator.settings import Settings

        return Settings
    raise AttributeError(f"module 'zoomlive.emulator' has no attribute {name!r}")
