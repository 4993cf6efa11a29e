"""``POST /oauth/token``: Zoom's Server-to-Server OAuth (``grant_type=account_credentials``).

Errors carry Zoom's OAuth codes (4700-4741) in the same ``{"code", "message"}`` body as the API,
plus the RFC 6749 ``error`` and Zoom's ``reason`` fields, so both kinds of client can read them.
"""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta

from zoomlive.api.errors import ZoomError, by_words
from zoomlive.api.wire import TokenResponse
from zoomlive.emulator.env import Env
from zoomlive.emulator.rules.auth import hash_token, verify_secret
from zoomlive.emulator.store import App, Store, Token, Tx


def oauth_error(status: int, code: int, message: str, error: str) -> ZoomError:
    return by_words(status, code, message).error(extra={"reason": message, "error": error})


def basic_credentials(authorization: str | None) -> tuple[str, str]:
    if not authorization:
        raise oauth_error(400, 4706, "Client ID or client secret is missing.", "invalid_request")
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise oauth_error(400, 4706, "Client ID or client secret is missing.", "invalid_request")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # not base64, not ASCII, not UTF-8
        raise oauth_error(401, 4702, "Invalid client.", "invalid_client") from None
    if "\x00" in decoded:
        raise oauth_error(401, 4702, "Invalid client.", "invalid_client")
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id or not secret:
        raise oauth_error(400, 4706, "Client ID or client secret is missing.", "invalid_request")
    return client_id, secret


def check_client(
    store: Store,
    *,
    authorization: str | None,
    grant_type: str | None,
    account_id: str | None,
) -> App:
    """Checks in Zoom's order: client credentials, grant, account. The app is read in a short
    transaction; the secret (scrypt, tens of ms) is checked after it, holding no lock."""
    client_id, secret = basic_credentials(authorization)
    with store.read() as tx:
        app = tx.get_app(client_id)
    if app is None:
        raise oauth_error(401, 4702, "Invalid client.", "invalid_client")
    if not verify_secret(secret, app.secret_hash):
        raise oauth_error(401, 4704, "Invalid client secret.", "invalid_client")
    if not app.enabled:
        raise oauth_error(400, 4717, "The app has been disabled", "invalid_request")
    if not grant_type:
        raise oauth_error(400, 4706, "Missing grant type.", "invalid_request")
    if grant_type != "account_credentials":
        raise oauth_error(
            400, 4705, "Grant type is not supported from token endpoint.", "unsupported_grant_type"
        )
    if not account_id:
        # Emulator choice: Zoom documents no text for a missing account_id.
        raise oauth_error(400, 4706, "Missing account_id.", "invalid_request")
    if account_id != app.account_id:
        # Emulator choice: an account the app does not belong to is an unknown token owner.
        raise oauth_error(400, 4735, "The owner of the token does not exist.", "invalid_request")
    return app


def mint_token(env: Env, tx: Tx, app: App, api_url: str) -> TokenResponse:
    """Store (hashed) and return a new bearer token for ``app``."""
    now = env.clock.now()
    token = env.source.token()
    ttl = env.settings.token_ttl
    tx.insert_token(
        Token(
            token_hash=hash_token(token),
            client_id=app.client_id,
            account_id=app.account_id,
            scopes=list(app.scopes),
            issued_at=now,
            expires_at=now + timedelta(seconds=ttl),
        )
    )
    tx.purge_tokens(now - timedelta(days=1))
    return TokenResponse(
        access_token=token,
        token_type="bearer",
        expires_in=ttl,
        scope=" ".join(app.scopes),
        api_url=api_url,
    )
