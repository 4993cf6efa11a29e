"""zoomlive's testing kit: test code that calls Zoom without a Zoom account.

* :func:`mock_zoom` answers ``https://api.zoom.us/v2`` and ``https://zoom.us/oauth/token`` with a
  zoomlive emulator in this process, for httpx and requests clients, unchanged (zoomlive's SDK,
  zoomus, zoom-python-client, your own code);
* :class:`ZoomEmulator` is such an emulator on a free 127.0.0.1 port, with a :class:`Control`
  client of its control API;
* :func:`sign_webhook` and :func:`url_validation` make the requests Zoom sends to a webhook
  endpoint;
* the pytest plugin (``zoomlive.testing.plugin``, active once zoomlive is installed) gives the
  ``zoom_emulator``, ``zoom_client``, ``async_zoom_client`` and ``zoom_mock`` fixtures.

See docs/testing.md. The emulator needs the extra: ``pip install 'zoomlive[emulator]'``.
Importing this package is cheap: each name loads its module when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zoomlive.testing._control import (
        Account,
        Control,
        ControlError,
        Credentials,
        Session,
        StreamState,
        TriggeredEvent,
        User,
        WebhookDelivery,
        WebhookSubscription,
    )
    from zoomlive.testing._mock import MockZoom, MockZoomError, current_mock, mock_zoom
    from zoomlive.testing._server import ZoomEmulator
    from zoomlive.testing._webhooks import (
        SignedWebhook,
        UrlValidation,
        sign_webhook,
        url_validation,
        webhook_event,
    )

__all__ = [
    "Account",
    "Control",
    "ControlError",
    "Credentials",
    "MockZoom",
    "MockZoomError",
    "Session",
    "SignedWebhook",
    "StreamState",
    "TriggeredEvent",
    "UrlValidation",
    "User",
    "WebhookDelivery",
    "WebhookSubscription",
    "ZoomEmulator",
    "current_mock",
    "mock_zoom",
    "sign_webhook",
    "url_validation",
    "webhook_event",
]

_MODULES = {
    "zoomlive.testing._control": (
        "Account",
        "Control",
        "ControlError",
        "Credentials",
        "Session",
        "StreamState",
        "TriggeredEvent",
        "User",
        "WebhookDelivery",
        "WebhookSubscription",
    ),
    "zoomlive.testing._mock": ("MockZoom", "MockZoomError", "current_mock", "mock_zoom"),
    "zoomlive.testing._server": ("ZoomEmulator",),
    "zoomlive.testing._webhooks": (
        "SignedWebhook",
        "UrlValidation",
        "sign_webhook",
        "url_validation",
        "webhook_event",
    ),
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'zoomlive.testing' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
