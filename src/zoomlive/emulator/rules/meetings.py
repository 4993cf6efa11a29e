"""Meetings: the same care as webinars, with Zoom's meeting texts. Any plan may host meetings."""

from __future__ import annotations

from datetime import datetime

from zoomlive.emulator.env import Env
from zoomlive.emulator.rules.common import (
    Call,
    Result,
    _apply_fields,
    _new_webinar_id,
    count_create_update,
    end_webinar,
    find_user,
    list_item,
    load_session,
    page_info,
    page_window,
    session_fields,
)
from zoomlive.emulator.store import Session, Tx, User
from zoomlive.spec import wire as w
from zoomlive.spec.errors import ZoomError

MEETING_NOT_FOUND = "Meeting does not exist: {id}."


def meeting_view(meeting: Session, host: User | None, base_url: str) -> w.Meeting:
    return w.Meeting(**session_fields(meeting, host, base_url), status=meeting.status)


def new_meeting(env: Env, tx: Tx, host: User) -> Session:
    now = env.clock.now().replace(microsecond=0)
    return Session(
        id=_new_webinar_id(env, tx, "meeting"),
        uuid=env.source.zoom_uuid(),
        account_id=host.account_id,
        host_id=host.id,
        topic="Zoom Meeting",
        type=2,
        start_time=now,
        duration=60,
        timezone=host.timezone,
        agenda="",
        password="",
        settings={},
        status="waiting",
        created_at=now,
        updated_at=now,
        kind="meeting",
    )


def create_meeting(env: Env, tx: Tx, call: Call) -> Result:
    user_id = call.path["userId"]
    host = find_user(tx, call.principal, user_id)
    if host is None:
        raise ZoomError(404, 1001, f"User does not exist: {user_id}.")
    count_create_update(env, tx, host, "meeting")
    body = call.body
    assert isinstance(body, w.MeetingCreate)
    meeting = new_meeting(env, tx, host)
    _apply_fields(meeting, body)
    tx.insert_session(meeting)
    return Result(201, meeting_view(meeting, host, call.base_url))


def get_meeting(env: Env, tx: Tx, call: Call) -> Result:
    meeting = load_session(tx, call, "meeting", status=404, message=MEETING_NOT_FOUND)
    return Result(200, meeting_view(meeting, tx.get_user(meeting.host_id), call.base_url))


def update_meeting(env: Env, tx: Tx, call: Call) -> Result:
    meeting = load_session(tx, call, "meeting", status=404, message=MEETING_NOT_FOUND)
    host = tx.get_user(meeting.host_id)
    if host is None:
        raise ZoomError(404, 1001, f"User {meeting.host_id} does not exist.")
    body = call.body
    assert isinstance(body, w.MeetingUpdate)
    count_create_update(env, tx, host, "meeting")
    _apply_fields(meeting, body)
    meeting.updated_at = env.clock.now()
    tx.update_session(meeting)
    return Result(204)


def delete_meeting(env: Env, tx: Tx, call: Call) -> Result:
    meeting = load_session(tx, call, "meeting", status=404, message=MEETING_NOT_FOUND)
    if meeting.status == "started":
        # Emulator choice, mirroring webinars' 3002.
        raise ZoomError(400, 3002, "Sorry, you cannot delete this meeting since it is in progress.")
    tx.delete_session("meeting", meeting.id)
    return Result(204)


def update_meeting_status(env: Env, tx: Tx, call: Call) -> Result:
    meeting = load_session(
        tx, call, "meeting", status=404, message=MEETING_NOT_FOUND, for_update=True
    )
    body = call.body
    assert isinstance(body, w.MeetingStatusUpdate)
    if body.action == "end" and meeting.status == "started":
        end_webinar(env, tx, meeting)
    # `recover` restores a deleted meeting in Zoom; deleted meetings are gone here (a choice),
    # so on an existing meeting it changes nothing.
    return Result(204)


def list_meetings(env: Env, tx: Tx, call: Call) -> Result:
    user_id = call.path["userId"]
    query = call.query
    assert isinstance(query, w.MeetingListQuery)
    host = find_user(tx, call.principal, user_id)
    if host is None:
        raise ZoomError(404, 1001, f"User {user_id} not exist or not belong to this account.")
    offset, page_size = page_window(query)
    statuses: tuple[str, ...] = ("waiting", "started")
    start_after: datetime | None = None
    if query.type == "live":
        statuses = ("started",)
    elif query.type in ("upcoming", "upcoming_meetings"):
        start_after = env.clock.now()
    elif query.type == "previous_meetings":
        statuses = ("ended",)
    rows, total = tx.list_sessions(
        "meeting",
        host_id=host.id,
        statuses=statuses,
        start_after=start_after,
        offset=offset,
        limit=page_size,
    )
    return Result(
        200,
        w.MeetingList(
            **page_info(offset, page_size, len(rows), total),
            meetings=[list_item(w.MeetingListItem, r, call.base_url) for r in rows],
        ),
    )
