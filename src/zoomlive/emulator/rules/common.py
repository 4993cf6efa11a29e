"""Zoom's behaviour as plain functions over the store.

Each handler gets the environment, an open transaction, the caller and the parsed request, and
returns a result or raises :class:`ZoomError`. No HTTP here: routes parse and serialise.
Messages and codes follow ``docs/fidelity.md``; each one is Zoom's unless marked as a choice.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel

from zoomlive.emulator import webhooks
from zoomlive.emulator.env import Env
from zoomlive.emulator.feed import FeedItem
from zoomlive.emulator.rules.auth import Principal
from zoomlive.emulator.store import Account, LiveStream, Session, Tx, User, Webinar
from zoomlive.emulator.store.records import StreamEffect
from zoomlive.spec import wire as w
from zoomlive.spec.errors import FieldError, ZoomError, validation_failed
from zoomlive.spec.sessions import SessionKind

M = TypeVar("M", bound=BaseModel)
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
    body: BaseModel | None = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Env, Tx, Call], Result]

# ids -----------------------------------------------------------------------------------------


INVALID_ID = {"webinarId": "Invalid webinar ID.", "meetingId": "Invalid meetingId."}
ID_PARAMS: dict[str, SessionKind] = {"webinarId": "webinar", "meetingId": "meeting"}


def parse_session_id(
    raw: str, *, param: str = "webinarId", allow_uuid: bool = False
) -> tuple[int | None, str | None]:
    """A webinar or meeting id is an int64 (or, where Zoom allows it, a UUID); else 400/300."""
    if _DIGITS.fullmatch(raw) and 0 < int(raw) <= MAX_INT64:
        return int(raw), None
    if allow_uuid and _UUID.fullmatch(raw) and not raw.isdigit():
        return None, raw
    raise ZoomError(400, 300, INVALID_ID[param])


def parse_webinar_id(raw: str, *, allow_uuid: bool = False) -> tuple[int | None, str | None]:
    return parse_session_id(raw, param="webinarId", allow_uuid=allow_uuid)


# lookups -------------------------------------------------------------------------------------


def find_user(tx: Tx, principal: Principal, user_id: str) -> User | None:
    """``me`` (the account's owner: its first user), an id, or an email, within the account."""
    if user_id == "me":
        users = tx.list_users(principal.account_id)
        return users[0] if users else None
    user = tx.get_user_by_email(user_id) if "@" in user_id else tx.get_user(user_id)
    if user is None or user.account_id != principal.account_id:
        return None
    return user


def has_webinar_plan(account: Account) -> bool:
    """Zoom: "Pro or higher plan with a Webinar Add-on"."""
    return account.plan != "free" and account.webinar_addon


def plan_missing(user_id: str) -> ZoomError:
    return ZoomError(
        400,
        200,
        "Webinar plan is missing. You must subscribe to the webinar plan and enable webinars for "
        f"this user in order to perform this action: {user_id}.",
    )


def load_session(
    tx: Tx, call: Call, kind: SessionKind, *, status: int, message: str, for_update: bool = False
) -> Session:
    """The caller's webinar or meeting, or Zoom's 3001 (another account's does not exist
    either). ``for_update`` locks the row (PostgreSQL) so concurrent changes serialise."""
    if call.session_id is not None:
        found = tx.get_session(kind, call.session_id, for_update=for_update)
    else:
        found = tx.get_session_by_uuid(kind, call.session_uuid or "")
    if found is None or found.account_id != call.principal.account_id:
        shown = call.path.get("webinarId" if kind == "webinar" else "meetingId", "")
        raise ZoomError(status, 3001, message.format(id=shown))
    return found


def load_webinar(
    tx: Tx, call: Call, *, status: int, message: str, for_update: bool = False
) -> Webinar:
    return load_session(tx, call, "webinar", status=status, message=message, for_update=for_update)


def require_webinar_plan(tx: Tx, webinar: Webinar) -> User:
    host = tx.get_user(webinar.host_id)
    if host is None:
        raise ZoomError(400, 1001, f"User does not exist: {webinar.host_id}.")
    account = tx.get_account(webinar.account_id)
    if account is None or not has_webinar_plan(account):
        raise plan_missing(host.id)
    return host


def count_create_update(env: Env, tx: Tx, host: User, kind: SessionKind = "webinar") -> None:
    """Zoom's per-host cap on creates and updates per UTC day (429 once past it)."""
    now = env.clock.now()
    count = tx.bump_counter(f"{kind}_create_update:{host.id}", now.strftime("%Y-%m-%d"))
    cap = env.settings.webinar_daily_cap
    if count > cap:
        midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        if kind == "webinar":
            message = (
                f"A maximum of ({cap}) webinars can be created and updated for a single user "
                "in one day."
            )
        else:
            message = (
                f"You have exceeded the daily rate limit ({cap}) of Meeting Create/Update API "
                "requests permitted for this particular user. You may resume these requests at "
                "GMT 00:00:00."
            )
        raise ZoomError(429, 429, message, headers={"Retry-After": w.zoom_time(midnight) or ""})


# views ---------------------------------------------------------------------------------------


def session_fields(session: Session, host: User | None, base_url: str) -> dict[str, Any]:
    """What Zoom's webinar and meeting objects share (join links point at the emulator)."""
    join = "w" if session.kind == "webinar" else "j"
    defaults = (
        w.WEBINAR_SETTINGS_DEFAULTS if session.kind == "webinar" else w.MEETING_SETTINGS_DEFAULTS
    )
    return {
        "id": session.id,
        "uuid": session.uuid,
        "host_id": session.host_id,
        "host_email": host.email if host else None,
        "topic": session.topic,
        "type": session.type,
        "start_time": w.zoom_time(session.start_time),
        "duration": session.duration,
        "timezone": session.timezone,
        "agenda": session.agenda,
        "created_at": w.zoom_time(session.created_at),
        "join_url": f"{base_url}/{join}/{session.id}",
        "start_url": f"{base_url}/s/{session.id}",
        "password": session.password,
        "settings": {**defaults, **session.settings},
    }


def list_item(model: type[M], session: Session, base_url: str) -> M:
    """A list entry: the fields of ``session_fields`` that the list's model has."""
    fields = session_fields(session, host=None, base_url=base_url)
    return model(**{k: v for k, v in fields.items() if k in model.model_fields})


def webinar_view(webinar: Webinar, host: User | None, base_url: str) -> w.Webinar:
    return w.Webinar(
        **session_fields(webinar, host, base_url), is_simulive=False, creation_source="open_api"
    )


def user_view(user: User) -> w.UserInfo:
    return w.UserInfo(
        id=user.id,
        first_name=user.first_name,
        last_name=user.last_name,
        display_name=f"{user.first_name} {user.last_name}".strip(),
        email=user.email,
        type=user.type,
        role_name="Owner",
        timezone=user.timezone,
        created_at=w.zoom_time(user.created_at),
        user_created_at=w.zoom_time(user.created_at),
        account_id=user.account_id,
    )


# handlers ------------------------------------------------------------------------------------


def get_user(env: Env, tx: Tx, call: Call) -> Result:
    user_id = call.path["userId"]
    user = find_user(tx, call.principal, user_id)
    if user is None:
        raise ZoomError(404, 1001, f"User does not exist: {user_id}.")
    return Result(200, user_view(user))


def _apply_fields(webinar: Session, body: w.WebinarCreate | w.MeetingCreate) -> None:
    given = body.model_fields_set
    if "topic" in given and body.topic is not None:
        webinar.topic = body.topic
    if "type" in given and body.type is not None:
        webinar.type = body.type
    if "start_time" in given and body.start_time is not None:
        start = body.start_time
        if start.tzinfo is None:  # Zoom reads a naive time in the webinar's timezone; we use UTC
            start = start.replace(tzinfo=webinar.created_at.tzinfo)
        webinar.start_time = start
    if "duration" in given and body.duration is not None:
        webinar.duration = body.duration
    if "timezone" in given and body.timezone is not None:
        webinar.timezone = body.timezone
    if "password" in given and body.password is not None:
        webinar.password = body.password
    if "agenda" in given and body.agenda is not None:
        webinar.agenda = body.agenda
    if body.settings is not None:
        webinar.settings = {
            **webinar.settings,
            **body.settings.model_dump(exclude_unset=True, exclude_none=True),
        }


def create_webinar(env: Env, tx: Tx, call: Call) -> Result:
    user_id = call.path["userId"]
    host = find_user(tx, call.principal, user_id)
    if host is None:
        raise ZoomError(404, 1001, f"User {user_id} not exist or not belong to this account.")
    account = tx.get_account(host.account_id)
    if account is None or not has_webinar_plan(account):
        raise plan_missing(host.id)
    count_create_update(env, tx, host)
    body = call.body
    assert isinstance(body, w.WebinarCreate)
    now = env.clock.now().replace(microsecond=0)
    webinar = Webinar(
        id=_new_webinar_id(env, tx),
        uuid=env.source.zoom_uuid(),
        account_id=host.account_id,
        host_id=host.id,
        topic="Zoom Webinar",
        type=5,
        start_time=now,
        duration=60,
        timezone=host.timezone,
        agenda="",
        password="",
        settings={},
        status="waiting",
        created_at=now,
        updated_at=now,
    )
    _apply_fields(webinar, body)
    tx.insert_session(webinar)
    webhooks.emit(
        tx,
        now,
        webinar.account_id,
        "webinar.created",
        webhooks.session_object(webinar),
        operator=(host.email, host.id),
    )
    return Result(201, webinar_view(webinar, host, call.base_url))


def _new_webinar_id(env: Env, tx: Tx, kind: SessionKind = "webinar") -> int:
    while True:
        candidate = env.source.webinar_id()
        if tx.get_session(kind, candidate) is None:
            return candidate


def get_webinar(env: Env, tx: Tx, call: Call) -> Result:
    webinar = load_webinar(tx, call, status=404, message="Webinar does not exist: {id}.")
    host = require_webinar_plan(tx, webinar)
    return Result(200, webinar_view(webinar, host, call.base_url))


_NOT_FOUND_OR_EXPIRED = "Webinar {id} not found or has expired."


def update_webinar(env: Env, tx: Tx, call: Call) -> Result:
    webinar = load_webinar(tx, call, status=404, message=_NOT_FOUND_OR_EXPIRED)
    host = require_webinar_plan(tx, webinar)
    if webinar.status == "started":
        raise ZoomError(
            400, 3000, "You cannot update or delete meetings that have started using this method."
        )
    body = call.body
    assert isinstance(body, w.WebinarUpdate)
    count_create_update(env, tx, host)
    _apply_fields(webinar, body)
    webinar.updated_at = env.clock.now()
    tx.update_session(webinar)
    changed = body.model_dump(exclude_unset=True, mode="json")
    webhooks.emit(
        tx,
        webinar.updated_at,
        webinar.account_id,
        "webinar.updated",
        {"id": webinar.id, "uuid": webinar.uuid, "host_id": webinar.host_id, **changed},
        operator=(host.email, host.id),
        extra={"time_stamp": int(webinar.updated_at.timestamp() * 1000)},
    )
    return Result(204)


def delete_webinar(env: Env, tx: Tx, call: Call) -> Result:
    webinar = load_webinar(tx, call, status=404, message=_NOT_FOUND_OR_EXPIRED)
    require_webinar_plan(tx, webinar)
    if webinar.status == "started":
        raise ZoomError(400, 3002, "Sorry, you cannot delete this webinar since it is in progress.")
    if webinar.status == "ended":
        raise ZoomError(400, 3007, "Sorry, you cannot delete this webinar since it has ended.")
    tx.delete_session("webinar", webinar.id)
    webhooks.emit(
        tx,
        env.clock.now(),
        webinar.account_id,
        "webinar.deleted",
        webhooks.session_object(webinar),
        operator=webhooks.owner_of(tx, webinar.account_id),
    )
    return Result(204)


def update_webinar_status(env: Env, tx: Tx, call: Call) -> Result:
    webinar = load_webinar(tx, call, status=404, message=_NOT_FOUND_OR_EXPIRED)
    account = tx.get_account(webinar.account_id)
    if account is None or not has_webinar_plan(account):
        # Zoom's documented oddity: HTTP 200 (not 204) with an error body.
        raise ZoomError(
            200,
            200,
            "Webinar plan subscription is missing. Enable webinar for this user once the "
            f"subscription is added:{webinar.host_id}.",
        )
    if webinar.status == "started":
        end_webinar(env, tx, webinar)
    return Result(204)


def streaming_event(
    tx: Tx, now: datetime, meeting: Session, stream: LiveStream, event: str
) -> None:
    """Zoom's ``meeting.live_streaming_started/stopped`` (no such event exists for webinars)."""
    webhooks.emit(
        tx,
        now,
        meeting.account_id,
        event,
        {
            **webhooks.session_object(meeting),
            "live_streaming": {
                "service": "Custom_Live_Streaming_Service",
                "custom_live_streaming_settings": {
                    "stream_url": stream.stream_url,
                    "stream_key": stream.stream_key,
                    "page_url": stream.page_url,
                    **({"resolution": stream.resolution} if stream.resolution else {}),
                },
                "date_time": w.zoom_time(now),
            },
        },
        operator=webhooks.owner_of(tx, meeting.account_id),
    )


def start_webinar(env: Env, tx: Tx, webinar: Session) -> None:
    """The host starts the webinar or meeting in the Zoom app (the control API plays the
    host)."""
    now = env.clock.now()
    webinar.status = "started"
    webinar.started_at = now
    webinar.ended_at = None
    webinar.updated_at = now
    tx.update_session(webinar)
    tx.effects.append(FeedItem("host", {"action": "start", "kind": webinar.kind, "id": webinar.id}))
    webhooks.emit(
        tx,
        now,
        webinar.account_id,
        f"{webinar.kind}.started",
        {**webhooks.session_object(webinar), "start_time": w.zoom_time(now)},
    )


def end_webinar(env: Env, tx: Tx, webinar: Session) -> None:
    """End a webinar or meeting; its live stream stops with it, in the same transaction."""
    now = env.clock.now()
    webinar.status = "ended"
    webinar.ended_at = now
    webinar.updated_at = now
    tx.update_session(webinar)
    tx.effects.append(FeedItem("host", {"action": "end", "kind": webinar.kind, "id": webinar.id}))
    webhooks.emit(
        tx,
        now,
        webinar.account_id,
        f"{webinar.kind}.ended",
        {**webhooks.session_object(webinar), "end_time": w.zoom_time(now)},
    )
    stream = tx.get_livestream(webinar.kind, webinar.id, for_update=True)
    if stream is not None and stream.state != "stopped":
        stream.move_to("stopped", now, f"{webinar.kind} ended")
        stream.stopped_at = now
        stream.effects.append(StreamEffect("stop", webinar.kind, webinar.id))
        tx.save_livestream(stream)
        if webinar.kind == "meeting":
            streaming_event(tx, now, webinar, stream, "meeting.live_streaming_stopped")


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


MAX_PAGE_SIZE = 300


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


def list_webinars(env: Env, tx: Tx, call: Call) -> Result:
    user_id = call.path["userId"]
    query = call.query
    assert isinstance(query, w.WebinarListQuery)
    host = find_user(tx, call.principal, user_id)
    if host is None:
        raise ZoomError(404, 1001, f"User {user_id} not exist or not belong to this account.")
    account = tx.get_account(host.account_id)
    if account is None or not has_webinar_plan(account):
        raise plan_missing(host.id)
    offset, page_size = page_window(query)
    start_after: datetime | None = None
    if query.type == "upcoming":
        start_after = env.clock.now()
    rows, total = tx.list_sessions(
        "webinar",
        host_id=host.id,
        statuses=("waiting", "started"),
        start_after=start_after,
        offset=offset,
        limit=page_size,
    )
    items = [list_item(w.WebinarListItem, r, call.base_url) for r in rows]
    return Result(
        200,
        w.WebinarList(**page_info(offset, page_size, len(rows), total), webinars=items),
    )


HANDLERS: dict[str, Handler] = {
    "user": get_user,
    "webinarCreate": create_webinar,
    "webinars": list_webinars,
    "webinar": get_webinar,
    "webinarUpdate": update_webinar,
    "webinarDelete": delete_webinar,
    "webinarStatus": update_webinar_status,
}


def stream_state(stream: LiveStream) -> dict[str, Any]:
    """A live stream's runtime view (Zoom's GET shows only the configuration)."""
    return {
        "kind": stream.kind,
        "id": stream.owner_id,
        "account_id": stream.account_id,
        "configured": stream.configured,
        "stream_url": stream.stream_url,
        "stream_key": stream.stream_key,
        "page_url": stream.page_url,
        "resolution": stream.resolution,
        "state": stream.state,
        "settings": {
            "display_name": stream.display_name,
            "active_speaker_name": stream.active_speaker_name,
            **(
                {"layout": stream.layout, "close_caption": stream.close_caption}
                if stream.kind == "meeting"
                else {}
            ),
        },
        "started_at": w.zoom_time(stream.started_at),
        "stopped_at": w.zoom_time(stream.stopped_at),
        "last_error": stream.last_error,
        "version": stream.version,
    }


def state_dump(tx: Tx) -> dict[str, Any]:
    """The whole state as JSON-ready data (secrets and token hashes left out)."""
    return {
        "accounts": [
            {
                "id": a.id,
                "name": a.name,
                "plan": a.plan,
                "webinar_addon": a.webinar_addon,
                "custom_live_streaming": a.custom_live_streaming,
                "created_at": w.zoom_time(a.created_at),
            }
            for a in tx.list_accounts()
        ],
        "users": [
            {
                "id": u.id,
                "account_id": u.account_id,
                "email": u.email,
                "first_name": u.first_name,
                "last_name": u.last_name,
                "type": u.type,
                "timezone": u.timezone,
            }
            for u in tx.list_users()
        ],
        "apps": [
            {
                "client_id": a.client_id,
                "account_id": a.account_id,
                "name": a.name,
                "scopes": a.scopes,
                "enabled": a.enabled,
            }
            for a in tx.list_apps()
        ],
        "webinars": [
            {
                "id": x.id,
                "kind": x.kind,
                "uuid": x.uuid,
                "account_id": x.account_id,
                "host_id": x.host_id,
                "topic": x.topic,
                "type": x.type,
                "status": x.status,
                "start_time": w.zoom_time(x.start_time),
                "duration": x.duration,
                "timezone": x.timezone,
                "agenda": x.agenda,
                "settings": x.settings,
                "started_at": w.zoom_time(x.started_at),
                "ended_at": w.zoom_time(x.ended_at),
            }
            for kind in ("webinar", "meeting")
            for x in tx.list_sessions(kind)[0]
        ],
        "livestreams": [stream_state(s) for s in tx.list_livestreams()],
        "tokens": tx.count_tokens(),
        "counters": [{"key": k, "day": d, "count": n} for k, d, n in tx.list_counters()],
    }
