"""Credentials: hashing of client secrets and tokens, bearer-token checks, scope checks."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from zoomlive.api.catalog import Operation
from zoomlive.api.errors import E
from zoomlive.emulator.store import Token

SCRYPT_COST = 2**14
"""scrypt's work factor N for client secrets (r=8, p=1): tens of milliseconds a hash."""
CHEAP_COST = 2
"""For test suites only (``Settings.cheap_secrets``): microseconds a hash, no protection."""
_R, _P = 8, 1


def hash_secret(secret: str, *, cheap: bool = False) -> str:
    """Salted scrypt hash of a client secret (secrets may be short and guessable). The work
    factor is stored with it, so a hash made cheaply in a test verifies cheaply, and one made
    with the full cost is checked with the full cost."""
    cost = CHEAP_COST if cheap else SCRYPT_COST
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=cost, r=_R, p=_P)
    encoded = f"{base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    return f"scrypt${cost}${encoded}" if cheap else f"scrypt${encoded}"


def verify_secret(secret: str, stored: str) -> bool:
    """Constant-time check of ``secret`` against :func:`hash_secret`'s output."""
    parts = stored.split("$")
    try:
        if len(parts) == 3:
            scheme, cost = parts[0], SCRYPT_COST
        elif len(parts) == 4:
            scheme, cost = parts[0], int(parts[1])
        else:
            return False
        salt, expected = base64.b64decode(parts[-2]), base64.b64decode(parts[-1])
    except ValueError:
        return False
    if scheme != "scrypt" or cost < 2 or cost > SCRYPT_COST or cost & (cost - 1):
        return False
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=cost, r=_R, p=_P)
    return hmac.compare_digest(digest, expected)


@functools.lru_cache(maxsize=4096)  # every call hashes its bearer token: most repeat
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


TokenFacts = tuple[Token, bool, str]
"""A token, whether its app is enabled, and its account's plan."""


def authenticate(
    lookup: Callable[[str], TokenFacts | None], authorization: str | None, now: datetime
) -> Principal:
    """Resolve ``Authorization: Bearer <token>`` or raise Zoom's 401 code 124. ``lookup``
    finds a token by its hash (the store's :meth:`token_facts`: no write lock for a 401)."""
    if not authorization:
        raise E.INVALID_TOKEN.error()
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 4096:
        raise E.INVALID_TOKEN.error()
    digest = hash_token(token)
    found = lookup(digest)
    if found is None or not hmac.compare_digest(found[0].token_hash, digest):
        raise E.INVALID_TOKEN.error()
    record, app_enabled, plan = found
    if record.expires_at <= now:
        raise E.TOKEN_EXPIRED.error()
    if not app_enabled:
        # Zoom: tokens stop working when the app is deactivated.
        raise E.INVALID_TOKEN.error()
    return Principal(record.account_id, record.client_id, frozenset(record.scopes), plan)


def require_scopes(principal: Principal, op: Operation) -> None:
    """Any one of the operation's classic or granular scopes is enough; else 400 code 4711."""
    if principal.scopes.isdisjoint(op.scopes):
        missing = ",".join(op.granular_scopes)
        raise E.MISSING_SCOPES.error(scopes=missing)
