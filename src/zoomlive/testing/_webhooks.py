"""The requests Zoom sends to a webhook endpoint, for testing a receiver without Zoom: a signed
event (``x-zm-request-timestamp``, ``x-zm-signature``) and the ``endpoint.url_validation``
challenge with the answer Zoom expects. The signature is the emulator's own code, the one its
deliveries carry."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

USER_AGENT = "Zoom Marketplace/1.0a"


@dataclass(frozen=True)
class SignedWebhook:
    """A webhook request as Zoom sends it: POST ``body`` with ``headers``."""

    body: bytes
    headers: dict[str, str]

    @property
    def event(self) -> dict[str, Any]:
        """The body, parsed."""
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass(frozen=True)
class UrlValidation:
    """Zoom's ``endpoint.url_validation`` challenge, and the answer it expects."""

    request: SignedWebhook
    """The challenge, signed like any event."""
    plain_token: str
    encrypted_token: str
    """hex HMAC-SHA256 of ``plain_token`` with the secret token."""

    @property
    def expected(self) -> dict[str, str]:
        """The JSON body a correct endpoint answers (with status 200)."""
        return {"plainToken": self.plain_token, "encryptedToken": self.encrypted_token}


def _sign(secret_token: str, timestamp: str, body: bytes) -> str:
    try:
        from zoomlive.emulator.webhooks import sign
    except ImportError as exc:
        from zoomlive.testing._server import EXTRA_HINT

        raise ImportError(f"{EXTRA_HINT} (missing: {exc.name})") from exc
    return sign(secret_token, timestamp, body)


def _body(event: Mapping[str, Any]) -> bytes:
    """The bytes the emulator would send for ``event``: JSON as ``JSON.stringify`` writes it
    (raw UTF-8), so a receiver that re-serializes the parsed body hashes the same text."""
    try:
        from zoomlive.emulator.webhook_payloads import js_json_bytes
    except ImportError as exc:
        from zoomlive.testing._server import EXTRA_HINT

        raise ImportError(f"{EXTRA_HINT} (missing: {exc.name})") from exc
    return js_json_bytes(event)


def webhook_event(
    event: str,
    obj: Mapping[str, Any],
    *,
    account_id: str = "demo-account",
    event_ts: int | None = None,
    **payload: Any,
) -> dict[str, Any]:
    """An event body as Zoom writes it: ``{"event", "event_ts", "payload": {"account_id",
    "object", ...}}`` (``payload`` adds fields such as ``operator``)."""
    stamp = event_ts if event_ts is not None else int(time.time() * 1000)
    return {
        "event": event,
        "event_ts": stamp,
        "payload": {"account_id": account_id, "object": dict(obj), **payload},
    }


def sign_webhook(
    event: Mapping[str, Any] | bytes | str, secret_token: str, *, timestamp: int | None = None
) -> SignedWebhook:
    """Sign ``event`` (a body, or a dict sent as Zoom sends JSON: compact, raw UTF-8, as
    ``JSON.stringify`` writes it) exactly as Zoom does, over the bytes sent:
    ``x-zm-request-timestamp`` (epoch seconds, now unless given) and ``x-zm-signature`` =
    ``v0=`` + hex HMAC-SHA256(secret token, ``v0:{timestamp}:{body}``)."""
    if isinstance(event, bytes):
        body = event
    elif isinstance(event, str):
        body = event.encode("utf-8")
    else:
        body = _body(event)
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "x-zm-request-timestamp": stamp,
        "x-zm-signature": _sign(secret_token, stamp, body),
    }
    return SignedWebhook(body, headers)


def url_validation(
    secret_token: str, *, plain_token: str | None = None, timestamp: int | None = None
) -> UrlValidation:
    """The ``endpoint.url_validation`` request Zoom sends when an endpoint is saved (and every
    72 hours), signed, with the answer it expects: status 200 and
    ``{"plainToken": ..., "encryptedToken": hex HMAC-SHA256(secret token, plainToken)}``."""
    plain = plain_token if plain_token is not None else secrets.token_urlsafe(16)
    stamp = timestamp if timestamp is not None else int(time.time())
    body = {
        "payload": {"plainToken": plain},
        "event_ts": stamp * 1000,
        "event": "endpoint.url_validation",
    }
    encrypted = hmac.new(secret_token.encode(), plain.encode(), hashlib.sha256).hexdigest()
    return UrlValidation(sign_webhook(body, secret_token, timestamp=stamp), plain, encrypted)
