"""Users: list, create, get (an id, an email, or ``me``), update, delete; their settings and
tokens.

A user's answer and settings carry every field Zoom's Users document lists: the document's
own example values (built once from its schema) under the user's stored facts. Settings keep
only what differs from that base; the live-streaming switches among them are also kept as two
flags on the user, which the live-stream calls read (``rules.livestreams.gate``).
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import timedelta
from typing import Any

from zoomlive.api import users as u
from zoomlive.api import wire as w
from zoomlive.api.errors import E, FieldError, validation_failed
from zoomlive.api.zoomdoc import operations
from zoomlive.emulator import webhooks
from zoomlive.emulator.env import Env
from zoomlive.emulator.rules.common import (
    MAX_PAGE_SIZE,
    Call,
    Result,
    find_user,
    page_info,
)
from zoomlive.emulator.rules.common import _page_offset as page_offset
from zoomlive.emulator.store import Tx, User

Schema = dict[str, Any]
# The spec tier (zoomlive.emulator.spec) imports the rules: its schema tools are imported where
# used.

ROLE_NAMES = {"0": "Owner", "1": "Admin", "2": "Member"}
CUSTOM_SERVICE = "custom_live_streaming_service"


# the document ------------------------------------------------------------------------------


@functools.cache
def _doc_op(operation_id: str) -> dict[str, Any]:
    for op in operations("users"):
        if op.operation_id == operation_id:
            return op.spec
    raise KeyError(operation_id)  # pragma: no cover - the catalog names documented ones


def _response_schema(operation_id: str, status: str = "200") -> Schema:
    spec = _doc_op(operation_id)
    schema: Schema = spec["responses"][status]["content"]["application/json"]["schema"]
    return schema


@functools.cache
def _base_text(operation_id: str, variant: int | None) -> str:
    """Every documented field with the document's example (or default) value, as JSON."""
    from zoomlive.emulator.spec.schemas import fold
    from zoomlive.emulator.spec.values import generate, seeded

    schema = _response_schema(operation_id)
    if variant is not None:
        schema = schema["oneOf"][variant]
    return json.dumps(generate(fold(schema), seeded("users", operation_id, variant)))


def _base(operation_id: str, variant: int | None = None) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(_base_text(operation_id, variant))
    return value


# a user's answer ---------------------------------------------------------------------------


def pmi_of(user: User) -> int:
    """The user's personal meeting id: set by an update, else derived from the id (stable)."""
    stored = user.profile.get("pmi")
    if isinstance(stored, int):
        return stored
    digest = hashlib.sha256(user.id.encode()).digest()
    return 1_000_000_000 + int.from_bytes(digest[:8], "big") % 9_000_000_000


def user_view(user: User, base_url: str = "https://zoom.us") -> w.UserInfo:
    body = _base("user")
    pmi = pmi_of(user)
    display = f"{user.first_name} {user.last_name}".strip()
    body.update(
        {
            "id": user.id,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "display_name": display,
            "email": user.email,
            "type": user.type,
            "role_name": ROLE_NAMES.get(user.role_id, "Member"),
            "role_id": user.role_id,
            "pmi": pmi,
            "use_pmi": False,
            "personal_meeting_url": f"{base_url}/j/{pmi}",
            "timezone": user.timezone,
            "verified": 1,
            "dept": "",
            "created_at": w.zoom_time(user.created_at),
            "user_created_at": w.zoom_time(user.created_at),
            "last_login_time": w.zoom_time(user.created_at),
            "language": "en-US",
            "status": user.status,
            "account_id": user.account_id,
            "account_number": int.from_bytes(hashlib.sha256(user.account_id.encode()).digest()[:4])
            % 1_000_000_000,
            "jid": f"{user.id.lower()}@xmpp.zoom.us",
            "cms_user_id": "",
            "group_ids": [],
            "im_group_ids": [],
            "phone_numbers": [],
            "phone_number": "",
            "phone_country": "",
            "custom_attributes": [],
            "pic_url": "",
            "vanity_url": "",
            "job_title": "",
            "company": "",
            "location": "",
            "pronouns": "",
        }
    )
    body.pop("manager", None)  # an email when set; none by default
    body.update(user.profile)
    if "display_name" in user.profile:
        body["display_name"] = user.profile["display_name"]
    return w.UserInfo.model_validate(body)


def _hook_object(user: User, base_url: str) -> dict[str, Any]:
    """The user as the API shows it, for a webhook's ``object``."""
    shown: dict[str, Any] = user_view(user, base_url).model_dump(mode="json", exclude_none=True)
    return shown


def _operator(tx: Tx, call: Call) -> tuple[str, str] | None:
    """Who acted: the account's owner (a Server-to-Server app acts for the account)."""
    return webhooks.owner_of(tx, call.principal.account_id)


def _owned(tx: Tx, call: Call) -> User:
    user_id = call.path["userId"]
    user = find_user(tx, call.principal, user_id)
    if user is None:
        raise E.USER_NOT_FOUND.error(id=user_id)
    return user


def get_user(env: Env, tx: Tx, call: Call) -> Result:
    return Result(200, user_view(_owned(tx, call), call.base_url))


def list_users(env: Env, tx: Tx, call: Call) -> Result:
    query = call.query
    assert isinstance(query, u.UserListQuery)
    page_size = min(query.page_size, MAX_PAGE_SIZE)
    if query.next_page_token:
        offset = page_offset(query.next_page_token)
    elif query.page_number:
        offset = (query.page_number - 1) * page_size
    else:
        offset = 0
    rows = [
        user
        for user in tx.list_users(call.principal.account_id)
        if user.status == query.status and query.role_id in (None, "", user.role_id)
    ]
    page = rows[offset : offset + page_size]
    info = page_info(offset, page_size, len(page), len(rows))
    listed = [user_view(user, call.base_url).model_dump(exclude_none=True) for user in page]
    return Result(
        200,
        {
            "page_count": info["page_count"],
            "page_number": info["page_number"],
            "page_size": page_size,
            "total_records": len(rows),
            "next_page_token": info["next_page_token"],
            "users": listed,
        },
    )


def create_user(env: Env, tx: Tx, call: Call) -> Result:
    body = call.body
    assert isinstance(body, u.UserCreate)
    info = body.user_info
    email = info.email.lower()
    if tx.get_user_by_email(email) is not None:
        raise E.EMAIL_TAKEN.error(email=email)
    if body.action == "custCreate" and info.type != 1:
        # Zoom: "custCreate": users of this kind "can only be a Basic user".
        raise validation_failed([FieldError(field="user_info.type", message="Invalid field.")])
    user = User(
        id=env.source.user_id(),
        account_id=call.principal.account_id,
        email=email,
        first_name=info.first_name,
        last_name=info.last_name,
        type=info.type,
        timezone="",
        created_at=env.clock.now(),
        # "create": Zoom emails an invitation and the user is pending until accepted
        status="pending" if body.action == "create" else "active",
        role_id="2",
        profile={"display_name": info.display_name} if info.display_name else {},
    )
    tx.insert("users", user)
    webhooks.emit(
        tx,
        user.created_at,
        user.account_id,
        "user.created",
        _hook_object(user, call.base_url),
        operator=_operator(tx, call),
        extra={"creation_type": body.action},
    )
    created = u.UserCreated(
        id=user.id,
        first_name=user.first_name,
        last_name=user.last_name,
        email=user.email,
        type=user.type,
    )
    return Result(201, created)


def update_user(env: Env, tx: Tx, call: Call) -> Result:
    body = call.body
    assert isinstance(body, u.UserUpdate)
    user = _owned(tx, call)
    before = _hook_object(user, call.base_url)
    given = body.model_dump(exclude_unset=True, exclude_none=True)
    for name in ("first_name", "last_name", "type", "timezone"):
        if name in given:
            setattr(user, name, given.pop(name))
    if "group_id" in given:
        given["group_ids"] = [given.pop("group_id")]
    user.profile = {**user.profile, **given}
    tx.update("users", user)
    after = _hook_object(user, call.base_url)
    if after != before:
        webhooks.emit(
            tx,
            env.clock.now(),
            user.account_id,
            "user.updated",
            after,
            old=before,
            operator=_operator(tx, call),
        )
    return Result(204)


def delete_user(env: Env, tx: Tx, call: Call) -> Result:
    query = call.query
    assert isinstance(query, u.UserDeleteQuery)
    user = _owned(tx, call)
    if user.role_id == "0":
        # The account's owner cannot leave it (Zoom: "You can not disassociate an Admin user."
        # for admins; the owner is refused the same way: a choice, see docs/fidelity.md).
        raise E.ADMIN_CANNOT_DISASSOCIATE.error()
    target: User | None = None
    if query.transfer_email:
        if query.transfer_email.lower() == user.email:
            raise E.TRANSFER_TO_SELF.error()
        target = find_user(tx, call.principal, query.transfer_email)
        if target is None:
            raise E.USER_NOT_FOUND.error(id=query.transfer_email)
    for table, wanted in (
        ("meetings", query.transfer_meeting),
        ("webinars", query.transfer_webinar),
    ):
        if target is None or not wanted:
            continue
        for session in tx.select(table, lambda s: s.host_id == user.id):
            session.host_id = target.id
            tx.update(table, session)
    # Both actions take the user out of the account: the emulator has one account per user,
    # so a disassociated user is gone from it like a deleted one (their sessions too, unless
    # transferred above).
    tx.delete("users", user.id)
    event = "user.disassociated" if query.action == "disassociate" else "user.deleted"
    webhooks.emit(
        tx,
        env.clock.now(),
        user.account_id,
        event,
        _hook_object(user, call.base_url),
        operator=_operator(tx, call),
    )
    return Result(204)


# settings ----------------------------------------------------------------------------------

_OPTION_VARIANT = {
    None: 0,
    "meeting_authentication": 1,
    "recording_authentication": 1,
    "meeting_security": 3,
}


def _default_settings() -> dict[str, Any]:
    """Zoom's settings of a new user: the document's values, live streaming on."""
    base = _base("userSettings", 0)
    in_meeting = base.setdefault("in_meeting", {})
    in_meeting["allow_live_streaming"] = True
    in_meeting["custom_live_streaming_service"] = True
    in_meeting.setdefault("custom_service_instructions", "")
    webinar = in_meeting.setdefault("webinar_live_streaming", {})
    if isinstance(webinar, dict):
        services = webinar.get("live_streaming_service")
        if not isinstance(services, list) or CUSTOM_SERVICE not in services:
            webinar["live_streaming_service"] = [*(services or []), CUSTOM_SERVICE]
    return base


@functools.cache
def _default_text() -> str:
    return json.dumps(_default_settings())


def settings_of(user: User) -> dict[str, Any]:
    base: dict[str, Any] = json.loads(_default_text())
    sections = {k: v for k, v in user.settings.items() if not k.startswith("option:")}
    merged: dict[str, Any] = deep_merge(base, sections)
    return merged


def get_settings(env: Env, tx: Tx, call: Call) -> Result:
    query = call.query
    assert isinstance(query, u.UserSettingsQuery)
    user = _owned(tx, call)
    variant = _OPTION_VARIANT[query.option]
    if variant == 0:
        return Result(200, settings_of(user))
    base = _base("userSettings", variant)
    # security settings are read as written; an authentication update (its own shape: one
    # option added, changed or removed) is kept but not replayed into the list (not modelled)
    stored = user.settings.get("option:meeting_security") if variant == 3 else None
    return Result(200, deep_merge(base, stored) if isinstance(stored, dict) else base)


def _patch_schema(variant: int) -> Schema:
    from zoomlive.emulator.spec.schemas import fold

    spec = _doc_op("userSettingsUpdate")
    schema: Schema = spec["requestBody"]["content"]["application/json"]["schema"]
    folded: Schema = fold(schema["oneOf"][variant])
    return folded


def update_settings(env: Env, tx: Tx, call: Call) -> Result:
    body = call.body
    assert isinstance(body, u.UserSettingsPatch)
    query = call.query
    assert isinstance(query, u.UserSettingsPatchQuery)
    user = _owned(tx, call)
    before = settings_of(user)
    given = body.model_dump()
    variant = {None: 0, "meeting_security": 2}.get(query.option, 1)  # the body's oneOf
    from zoomlive.emulator.spec.schemas import field_errors

    errors = field_errors(given, _patch_schema(variant))
    if errors:
        raise validation_failed(errors)
    if variant == 0:
        known = _default_settings()  # sections Zoom does not document are ignored
        user.settings = deep_merge(
            user.settings, {key: value for key, value in given.items() if key in known}
        )
    else:
        key = f"option:{query.option}"
        previous = user.settings.get(key)
        user.settings = {
            **user.settings,
            key: deep_merge(previous if isinstance(previous, dict) else {}, given),
        }
    apply_gates(user)
    tx.update("users", user)
    changed, was = _changed(settings_of(user), before)
    if changed:
        # Zoom's event names only what changed: ``object.settings`` the new values,
        # ``old_object.settings`` the old ones
        webhooks.emit(
            tx,
            env.clock.now(),
            user.account_id,
            "user.settings_updated",
            {"id": user.id, "settings": changed},
            old={"id": user.id, "settings": was},
            operator=_operator(tx, call),
        )
    return Result(204)


def _changed(new: dict[str, Any], old: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The keys (nested) whose values differ: their new values and their old ones."""
    after: dict[str, Any] = {}
    before: dict[str, Any] = {}
    for key, value in new.items():
        previous = old.get(key)
        if isinstance(value, dict) and isinstance(previous, dict):
            inner_after, inner_before = _changed(value, previous)
            if inner_after:
                after[key], before[key] = inner_after, inner_before
        elif value != previous:
            after[key], before[key] = value, previous
    return after, before


def apply_gates(user: User) -> None:
    """The two live-streaming flags the live-stream calls read, from the settings."""
    in_meeting = settings_of(user).get("in_meeting", {})
    meeting = bool(in_meeting.get("allow_live_streaming")) and bool(
        in_meeting.get("custom_live_streaming_service")
    )
    services = (in_meeting.get("webinar_live_streaming") or {}).get("live_streaming_service")
    user.meeting_live_streaming = meeting
    user.webinar_live_streaming = meeting and (
        not isinstance(services, list) or CUSTOM_SERVICE in services
    )


def deep_merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``new`` over ``old``: objects merged key by key, the rest replaced."""
    out = dict(old)
    for key, value in new.items():
        before = out.get(key)
        out[key] = (
            deep_merge(before, value)
            if isinstance(before, dict) and isinstance(value, dict)
            else value
        )
    return out


# tokens ------------------------------------------------------------------------------------

ZAK_LIFETIME = timedelta(hours=2)


def user_token(env: Env, tx: Tx, call: Call) -> Result:
    query = call.query
    assert isinstance(query, u.UserTokenQuery)
    _owned(tx, call)
    # Zoom returns the token of either type; a ZAK lives two hours. The emulator checks no
    # ZAK later (no client can start a meeting with it), so it is not stored.
    token = env.source.token()
    return Result(200, u.UserToken(token=token if query.type == "zak" else token[:32]))
