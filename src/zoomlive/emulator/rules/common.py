"""What every Zoom rule uses: the parsed call and its result, ids, users, the webinar plan gate,
the per-host daily cap, and paging.

Rules are plain functions ``(env, tx, call) -> Result`` over the store; they raise
:class:`ZoomError` with Zoom's code and message. No HTTP here: routes parse and serialise.
Messages and codes follow ``docs/fidelity.md``; each one is Zoom's unless marked as a choice.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from zoomlive.api import wire as w
from zoomlive.api.errors import E, FieldError, ZoomError, by_words, validation_failed
from zoomlive.api.sessions import KindSpec
from zoomlive.emulator.env import Env
from zoomlive.emulator.rules.auth import Principal
from zoomlive.emulator.store import Account, Session, Tx, User

MAX_INT64 = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")
_UUID = re.compile(r"[A-Za-z0-9+/_=-]{22,24}")


@dataclass
class Call:
    """One parsed Zoom API request."""

    principal: Principal
    path: dict[str, str]
    base_url: str
    query: BaseModel | None = None
    body: BaseModel | None = None
    session_id: int | None = None
    """The webinar or meeting id in the path, once parsed."""
    session_uuid: str | None = None


@dataclass
class Result:
    status: int
    body: BaseModel | dict[str, Any] | None = None
    """A wire model, or the JSON-ready dict of one (see ``rules.views.view``)."""
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Env, Tx, Call], Result]


# ids ---------------------------------------------------------------------------------------


def parse_session_id(
    raw: str, spec: KindSpec, *, allow_uuid: bool = False
) -> tuple[int | None, str | None]:
    """A webinar or meeting id is an int64 (or, where Zoom allows it, a UUID); else 400/300
    with Zoom's wording for the kind."""
    if _DIGITS.fullmatch(raw) and 0 < int(raw) <= MAX_INT64:
        return int(raw), None
    if allow_uuid and _UUID.fullmatch(raw) and not raw.isdigit():
        return None, raw
    raise by_words(400, 300, spec.invalid_id).error()


# users and plans ---------------------------------------------------------------------------


def find_user(tx: Tx, principal: Principal, user_id: str) -> User | None:
    """``me`` (the account's owner: its first user), an id, or an email, within the account."""
    if user_id == "me":
        users = tx.list_users(principal.account_id)
        return users[0] if users else None
    user = tx.get_user_by_email(user_id) if "@" in user_id else tx.get_user(user_id)
    if user is None or user.account_id != principal.account_id:
        return None
    return user


def find_host(tx: Tx, call: Call) -> User:
    """The ``{userId}`` of a create or list call, or Zoom's 404 code 1001."""
    user_id = call.path["userId"]
    host = find_user(tx, call.principal, user_id)
    if host is None:
        raise E.USER_NOT_IN_ACCOUNT.error(id=user_id)
    return host


def has_webinar_plan(account: Account) -> bool:
    """Zoom: "Pro or higher plan with a Webinar Add-on"."""
    return account.plan != "free" and account.webinar_addon


def plan_missing(user_id: str) -> ZoomError:
    return E.WEBINAR_PLAN_MISSING.error(
        id=user_id,
    )


def require_webinar_plan(tx: Tx, webinar: Session) -> tuple[User, Account]:
    """The webinar's host (400 code 1001 when gone) and account, which must have the webinar
    plan (400 code 200): the one gate of every webinar operation, live streams included."""
    pair = tx.get_user_and_account(webinar.host_id)
    if pair is None:
        raise E.USER_NOT_FOUND_400.error(id=webinar.host_id)
    host, account = pair
    if not has_webinar_plan(account):
        raise plan_missing(host.id)
    return host, account


def require_host_plan(tx: Tx, host: User) -> None:
    """Creating or listing webinars needs the plan too (checked on the host's account)."""
    account = tx.get_account(host.account_id)
    if account is None or not has_webinar_plan(account):
        raise plan_missing(host.id)


# paging ------------------------------------------------------------------------------------

MAX_PAGE_SIZE = 300


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _page_offset(token: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset = value["o"]
        if not isinstance(offset, int) or not 0 <= offset <= 2**31:
            raise ValueError
    except Exception:
        raise validation_failed(
            [FieldError(field="next_page_token", message="Invalid field.")]
        ) from None
    return offset


def page_window(query: w.WebinarListQuery | w.MeetingListQuery) -> tuple[int, int]:
    """Offset and page size from ``next_page_token`` (or the deprecated ``page_number``);
    sizes above Zoom's maximum of 300 are served as 300."""
    page_size = min(query.page_size, MAX_PAGE_SIZE)
    if query.next_page_token:
        return _page_offset(query.next_page_token), page_size
    if query.page_number:
        return (query.page_number - 1) * page_size, page_size
    return 0, page_size


def page_info(offset: int, page_size: int, count: int, total: int) -> dict[str, Any]:
    """Zoom's paging fields for a page of ``count`` rows starting at ``offset``."""
    following = offset + count
    return {
        "page_size": page_size,
        "total_records": total,
        "next_page_token": _page_token(following) if following < total else "",
        "page_count": math.ceil(total / page_size) if total else 0,
        "page_number": offset // page_size + 1,
    }
