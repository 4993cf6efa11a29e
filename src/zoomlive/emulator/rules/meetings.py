"""Meetings: the same care as webinars, with Zoom's meeting texts. Any plan may host meetings."""

from __future__ import annotations

from datetime import datetime

from zoomlive.api import wire as w
from zoomlive.api.errors import E
from zoomlive.emulator import webhooks
from zoomlive.emulator.env import Env
from zoomlive.emulator.rules.common import (
    Call,
    Result,
    find_host,
    find_user,
    page_info,
    page_window,
)
from zoomlive.emulator.rules.sessions import (
    RULES,
    apply_fields,
    count_create_update,
    delete_occurrence_only,
    end_session,
    list_item,
    load_session,
    new_session,
    occurrence_query,
    session_view,
    update_occurrence_or_series,
    webhook_object,
)
from zoomlive.emulator.rules.views import view
from zoomlive.emulator.store import Session, Tx

NOT_FOUND = RULES["meeting"].not_found


def _load(tx: Tx, call: Call, *, for_update: bool = False) -> Session:
    return load_session(tx, call, "meeting", status=404, message=NOT_FOUND, for_update=for_update)


def create_meeting(env: Env, tx: Tx, call: Call) -> Result:
    user_id = call.path["userId"]
    host = find_user(tx, call.principal, user_id)
    if host is None:
        raise E.USER_NOT_FOUND.error(id=user_id)
    count_create_update(env, tx, host, "meeting")
    body = call.body
    assert isinstance(body, w.MeetingCreate)
    meeting = new_session(env, tx, "meeting", host, None)
    apply_fields(meeting, body)
    tx.insert_session(meeting)
    webhooks.emit(
        tx,
        meeting.created_at,
        meeting.account_id,
        "meeting.created",
        webhook_object(meeting, host, call.base_url),
        operator=(host.email, host.id),
    )
    return Result(201, session_view(meeting, host, call.base_url))


def get_meeting(env: Env, tx: Tx, call: Call) -> Result:
    meeting = _load(tx, call)
    query = occurrence_query(call)
    host = tx.get_user(meeting.host_id)
    return Result(200, session_view(meeting, host, call.base_url, query, env.clock.now()))


def update_meeting(env: Env, tx: Tx, call: Call) -> Result:
    meeting = _load(tx, call)
    host = tx.get_user(meeting.host_id)
    if host is None:
        raise E.HOST_NOT_FOUND.error(id=meeting.host_id)
    body = call.body
    assert isinstance(body, w.MeetingUpdate)
    count_create_update(env, tx, host, "meeting")
    before = webhook_object(meeting, host, call.base_url)
    update_occurrence_or_series(meeting, call, body)
    meeting.updated_at = env.clock.now()
    tx.update_session(meeting)
    webhooks.emit(
        tx,
        meeting.updated_at,
        meeting.account_id,
        "meeting.updated",
        webhook_object(meeting, host, call.base_url),
        old=before,
        operator=(host.email, host.id),
    )
    return Result(204)


def delete_meeting(env: Env, tx: Tx, call: Call) -> Result:
    meeting = _load(tx, call)
    if meeting.status == "started":
        # Emulator choice, mirroring webinars' 3002.
        raise E.MEETING_IN_PROGRESS.error()
    if delete_occurrence_only(tx, meeting, call):
        return Result(204)
    tx.delete_session("meeting", meeting.id)
    host = tx.get_user(meeting.host_id)
    webhooks.emit(
        tx,
        env.clock.now(),
        meeting.account_id,
        "meeting.deleted",
        webhook_object(meeting, host, call.base_url),
        operator=(host.email, host.id) if host else webhooks.owner_of(tx, meeting.account_id),
    )
    return Result(204)


def update_meeting_status(env: Env, tx: Tx, call: Call) -> Result:
    meeting = _load(tx, call, for_update=True)
    body = call.body
    assert isinstance(body, w.MeetingStatusUpdate)
    if body.action == "end" and meeting.status == "started":
        end_session(env, tx, meeting)
    # `recover` restores a deleted meeting in Zoom; deleted meetings are gone here (a choice),
    # so on an existing meeting it changes nothing.
    return Result(204)


def list_meetings(env: Env, tx: Tx, call: Call) -> Result:
    query = call.query
    assert isinstance(query, w.MeetingListQuery)
    host = find_host(tx, call)
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
        view(
            w.MeetingList,
            {
                **page_info(offset, page_size, len(rows), total),
                "meetings": [list_item(w.MeetingListItem, r, call.base_url) for r in rows],
            },
        ),
    )
