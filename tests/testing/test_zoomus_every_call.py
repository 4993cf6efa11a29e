"""zoomus, unchanged, under ``mock_zoom()``: every call of its v2 components whose path is in
Zoom's Meetings and Users documents (groups, live streams, meetings, past meetings, recordings,
reports, users, webinars), each answered 2xx and read as zoomus reads it (``.json()``).

zoomus's other components (contacts, metrics, phone, roles, rooms) call Zoom's Team Chat,
Dashboard, Phone, Accounts and Rooms APIs, which the emulator does not know: they get Zoom's
generic 404, checked last."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import datetime
from typing import Any

from zoomlive.testing import MockZoom, mock_zoom

Call = tuple[str, str, Callable[[dict[str, Any]], dict[str, Any]]]
"""component, method, the keyword arguments from what was made so far."""

START = datetime(2031, 3, 4, 15, 0)  # zoomus formats datetimes itself
FROM, TO = datetime(2031, 3, 1), datetime(2031, 3, 28)
OUTSIDE = ("meeting", "list_meeting_participants")  # GET /metrics/...: Zoom's Dashboards API
IN_SCOPE = ("group", "live_stream", "meeting", "past_meeting", "recording", "report", "user")

CALLS: list[Call] = [
    # users
    ("user", "me", lambda ids: {}),
    ("user", "list", lambda ids: {"page_size": 30}),
    ("user", "get", lambda ids: {"id": "me"}),
    ("user", "get_settings", lambda ids: {"id": "me"}),
    ("user", "check_email", lambda ids: {"email": "someone@example.com"}),
    ("user", "update", lambda ids: {"id": "me", "dept": "Live events"}),
    ("user", "update_settings", lambda ids: {"id": "me", "feature": {"meeting_capacity": 100}}),
    (
        "user",
        "create",
        lambda ids: {
            "action": "create",
            "user_info": {"email": "new.host@example.com", "type": 1, "first_name": "New"},
        },
    ),
    ("user", "update_email", lambda ids: {"id": ids["new_user"], "email": "moved@example.com"}),
    ("user", "update_status", lambda ids: {"id": ids["new_user"], "action": "deactivate"}),
    # groups
    ("group", "create", lambda ids: {"name": "Live producers"}),
    ("group", "list", lambda ids: {}),
    ("group", "get", lambda ids: {"id": ids["group"]}),
    (
        "group",
        "add_members",
        lambda ids: {"groupid": ids["group"], "members": [{"email": "member@example.com"}]},
    ),
    ("group", "list_members", lambda ids: {"groupid": ids["group"]}),
    # meetings, their registrants and live stream
    (
        "meeting",
        "create",
        lambda ids: {
            "user_id": "me",
            "topic": "zoomus réunion",
            "type": 2,
            "start_time": START,
            "settings": {"approval_type": 0},
        },
    ),
    ("meeting", "list", lambda ids: {"user_id": "me"}),
    ("meeting", "get", lambda ids: {"id": ids["meeting"]}),
    ("meeting", "update", lambda ids: {"id": ids["meeting"], "agenda": "Agenda"}),
    (
        "meeting",
        "add_registrant",
        lambda ids: {"id": ids["meeting"], "email": "ada@example.com", "first_name": "Ada"},
    ),
    ("meeting", "list_registrants", lambda ids: {"id": ids["meeting"]}),
    (
        "meeting",
        "update_registrant_status",
        lambda ids: {
            "id": ids["meeting"],
            "action": "deny",
            "registrants": [{"email": "ada@example.com"}],
        },
    ),
    (
        "live_stream",
        "update",
        lambda ids: {
            "meeting_id": ids["meeting"],
            "stream_url": "rtmp://127.0.0.1:1935/live",
            "stream_key": "zoomus",
            "page_url": "https://example.com/live",
        },
    ),
    (
        "live_stream",
        "update_status",
        lambda ids: {
            "meeting_id": ids["started_meeting"],
            "action": "start",
            "settings": {"display_name": "zoomus", "active_speaker_name": True},
        },
    ),
    ("meeting", "update_status", lambda ids: {"id": ids["started_meeting"], "action": "end"}),
    # what happened in past meetings, recordings, reports
    ("past_meeting", "list", lambda ids: {"meeting_id": str(ids["started_meeting"])}),
    ("past_meeting", "get", lambda ids: {"meeting_id": ids["started_meeting_uuid"]}),
    ("past_meeting", "get_participants", lambda ids: {"meeting_id": ids["started_meeting_uuid"]}),
    ("recording", "list", lambda ids: {"user_id": "me"}),
    ("recording", "get", lambda ids: {"meeting_id": ids["meeting"]}),
    (
        "report",
        "get_user_report",
        lambda ids: {"user_id": "me", "start_time": FROM, "end_time": TO},
    ),
    (
        "report",
        "get_account_report",
        lambda ids: {"start_time": FROM, "end_time": TO},
    ),
    ("report", "get_daily_report", lambda ids: {"month": 3, "year": 2031}),
    ("report", "get_meeting_participants_report", lambda ids: {"id": ids["started_meeting"]}),
    ("report", "get_webinar_participants_report", lambda ids: {"id": ids["started_webinar"]}),
    # webinars, their registrants and panelists
    (
        "webinar",
        "create",
        lambda ids: {
            "user_id": "me",
            "topic": "zoomus webinaire",
            "type": 5,
            "start_time": "2031-03-04T15:00:00Z",  # zoomus sends webinar fields as given
            "settings": {"approval_type": 0},
        },
    ),
    ("webinar", "list", lambda ids: {"user_id": "me"}),
    ("webinar", "get", lambda ids: {"id": ids["webinar"]}),
    ("webinar", "update", lambda ids: {"id": ids["webinar"], "agenda": "Agenda"}),
    (
        "webinar",
        "register",
        lambda ids: {
            "id": ids["webinar"],
            "email": "grace@example.com",
            "first_name": "Grace",
            "last_name": "Hopper",
        },
    ),
    ("webinar", "get_registrants", lambda ids: {"id": ids["webinar"]}),
    ("webinar", "get_absentees", lambda ids: {"id": ids["webinar"]}),
    (
        "webinar",
        "add_panelists",
        lambda ids: {
            "id": ids["webinar"],
            "panelists": [{"name": "Alan", "email": "alan@example.com"}],
        },
    ),
    ("webinar", "list_panelists", lambda ids: {"id": ids["webinar"]}),
    # deletes, deepest first
    (
        "recording",
        "delete_single_recording",
        lambda ids: {"meeting_id": ids["meeting"], "recording_id": "r1"},
    ),
    ("recording", "delete", lambda ids: {"meeting_id": ids["meeting"]}),
    ("group", "delete_member", lambda ids: {"groupid": ids["group"], "memberid": "member1"}),
    ("group", "delete", lambda ids: {"id": ids["group"]}),
    ("webinar", "remove_panelists", lambda ids: {"id": ids["webinar"]}),
    ("webinar", "delete", lambda ids: {"id": ids["webinar"]}),
    ("meeting", "delete", lambda ids: {"id": ids["meeting"]}),
    ("user", "delete", lambda ids: {"id": ids["new_user"], "action": "delete"}),
]


def _started(zoom: MockZoom, client: Any, kind: str) -> dict[str, Any]:
    """A session its host started, as Zoom needs for a live-stream start or an end."""
    made = getattr(client, kind).create(
        user_id="me", topic=f"zoomus {kind} live", type=2 if kind == "meeting" else 5
    )
    assert made.status_code == 201, made.text
    created: dict[str, Any] = made.json()
    session = created["id"]
    if kind == "meeting":
        configured = client.live_stream.update(
            meeting_id=session,
            stream_url="rtmp://127.0.0.1:1935/live",
            stream_key="zoomus-live",
            page_url="https://example.com/live",
        )
        assert configured.status_code == 204, configured.text
    zoom.control.start_session(session, kind)
    return created


def test_zoomus_every_call_in_zoom_s_meetings_and_users_documents() -> None:
    from zoomus import ZoomClient as Zoomus

    with mock_zoom() as zoom:
        creds = zoom.credentials
        client = Zoomus(creds.client_id, creds.client_secret, creds.account_id)
        meeting, webinar = _started(zoom, client, "meeting"), _started(zoom, client, "webinar")
        ids: dict[str, Any] = {
            "started_meeting": meeting["id"],
            "started_meeting_uuid": meeting["uuid"],
            "started_webinar": webinar["id"],
        }
        made_by = {
            ("user", "create"): "new_user",
            ("group", "create"): "group",
            ("meeting", "create"): "meeting",
            ("webinar", "create"): "webinar",
        }
        failed: list[str] = []
        for component, method, arguments in CALLS:
            answer = getattr(getattr(client, component), method)(**arguments(ids))
            body = answer.json() if answer.content else None
            if not 200 <= answer.status_code < 300:
                failed.append(f"{component}.{method}: {answer.status_code} {answer.text}")
            elif (component, method) in made_by:
                ids[made_by[component, method]] = body["id"]
        assert not failed, "\n".join(failed)

        # zoomus ends a webinar with {"status": "end"}, where Zoom's document (and the meeting
        # call zoomus also has) says {"action": "end"}: Zoom's validation error, nothing ended
        ended = client.webinar.end(id=ids["started_webinar"])
        assert (ended.status_code, ended.json()["code"]) == (400, 300)
        [webinar] = [
            w for w in zoom.control.state()["webinars"] if w["id"] == ids["started_webinar"]
        ]
        assert webinar["status"] == "started"

        # every v2 method of the components in scope was called
        called = {(c, m) for c, m, _ in CALLS} | {("webinar", "end"), OUTSIDE}
        for component in (*IN_SCOPE, "webinar"):
            cls = type(getattr(client, component))
            methods = {
                name
                for name, function in inspect.getmembers(cls, inspect.isfunction)
                if not name.startswith("_") and function.__qualname__.startswith(cls.__name__)
            }
            assert methods <= {m for c, m in called if c == component}, (component, methods)

        # what the emulator does not know answers Zoom's generic 404: zoomus reads a meeting's
        # participants from the Dashboards API, and roles are the Accounts API's
        for outside in (
            client.meeting.list_meeting_participants(id=ids["started_meeting"]),
            client.role.list(),
        ):
            assert outside.status_code == 404
            assert outside.json() == {
                "code": 404,
                "message": "The requested resource was not found.",
            }
