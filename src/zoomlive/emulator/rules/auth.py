"""Credentials: hashing of client secrets and tokens, bearer-token checks, scope checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from zoomlive.emulator.store import Tx
from zoomlive.spec.catalog import Operation
from zoomlive.spec.errors import ZoomError

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def hash_secret(secret: str) -> str:
    """Salted scrypt hash of a client secret (secrets may be short and guessable)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    return f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_secret(secret: str, stored: str) -> bool:
    """Constant-time check of ``secret`` against :func:`hash_secret`'s output."""
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    return hmac.compare_digest(digest, expected)


def hash_token(token: str) -> str:
    """Tokens are long and random, so one SHA-256 is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the S2S app's account, the app, and what the token may do."""

    account_id: str
    client_id: str
    scopes: frozenset[str]
    plan: str = "business"


ANONYMOUS = Principal("", "", frozenset())


def authenticate(tx: Tx, authorization: str | None, now: datetime) -> Principal:
    """Resolve ``Authorization: Bearer <token>`` or raise Zoom's 401 code 124."""
    if not authorization:
        raise ZoomError(401, 124, "Invalid access token.")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 4096:
        raise ZoomError(401, 124, "Invalid access token.")
    digest = hash_token(token)
    found = tx.get_token_and_app_enabled(digest)
    if found is None or not hmac.compare_digest(found[0].token_hash, digest):
        raise ZoomError(401, 124, "Invalid access token.")
    record, app_enabled, plan = found
    if record.expires_at <= now:
        raise ZoomError(401, 124, "Access token is expired.")
    if not app_enabled:
        # Zoom: tokens stop working when the app is deactivated.
        raise ZoomError(401, 124, "Invalid access token.")
    return Principal(record.account_id, record.client_id, frozenset(record.scopes), plan)


def require_scopes(principal: Principal, op: Operation) -> None:
    """Any one of the operation's classic or granular scopes is enough; else 400 code 4711."""
    if principal.scopes.isdisjoint(op.scopes):
        missing = ",".join(op.granular_scopes)
        raise ZoomError(400, 4711, f"Invalid access token, does not contain scopes:[{missing}].")
