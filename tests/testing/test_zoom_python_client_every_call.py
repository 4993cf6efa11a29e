"""zoom-python-client, unchanged, under ``mock_zoom()``: every call of its components whose
path is in Zoom's Meetings and Users documents (users, meetings, webinars and both live-stream
components), each answered and parsed as the client parses it. Its rooms and calendars
components call Zoom's Rooms API, which the emulator does not know (Zoom's generic 404),
so they are not called here."""

from __future__ import annotations

import inspect
from typing import Any

from zoomlive.testing import mock_zoom

IN_SCOPE = ("users", "meetings", "webinars", "meeting_livestreams", "webinar_livestreams")
STREAM = {
    "stream_url": "rtmp://127.0.0.1:1935/live",
    "stream_key": "python-client",
    "page_url": "https://example.com/live",
}
SETTINGS = {"active_speaker_name": True, "display_name": "Café ✓"}


def test_every_call_of_zoom_python_client() -> None:
    from zoom_python_client.zoom_api_client import ZoomApiClient

    with mock_zoom() as zoom:
        creds = zoom.credentials
        client = ZoomApiClient(creds.account_id, creds.client_id, creds.client_secret)
        called: set[tuple[str, str]] = set()

        def call(component: str, method: str, *args: Any) -> Any:
            called.add((component, method))
            return getattr(getattr(client, component), method)(*args)

        me = call("users", "get_user", "me")
        assert me["email"] and me["id"]
        sessions = {
            "meeting": str(zoom.control.create_meeting(creds.account_id, me["email"], type=2).id),
            "webinar": str(zoom.control.create_webinar(creds.account_id, me["email"], type=5).id),
        }
        meetings = call("users", "get_user_meetings", "me", {"type": "scheduled"})
        assert sessions["meeting"] in {str(m["id"]) for m in meetings["meetings"]}
        assert (
            str(call("meetings", "get_meeting", sessions["meeting"])["id"]) == sessions["meeting"]
        )
        token = call("meetings", "get_meeting_token", sessions["meeting"])
        assert token["token"]
        assert (
            str(call("webinars", "get_webinar", sessions["webinar"])["id"]) == sessions["webinar"]
        )
        for kind in ("meeting", "webinar"):
            component = f"{kind}_livestreams"
            assert call(component, "update_livestream", sessions[kind], STREAM) is True
            assert (
                call(component, "get_livestream", sessions[kind])["stream_key"] == "python-client"
            )
            zoom.control.start_session(int(sessions[kind]), kind)  # the host starts it
            assert call(component, "update_livestream_status", sessions[kind], "start", SETTINGS)
            state = zoom.control.stream_state(int(sessions[kind]), kind)
            assert (state.state, state.settings["display_name"]) == ("live", "Café ✓")

        for component in IN_SCOPE:
            cls = type(getattr(client, component))
            methods = {
                name
                for name, function in inspect.getmembers(cls, inspect.isfunction)
                if not name.startswith("_") and function.__qualname__.startswith(cls.__name__)
            }
            assert {(component, m) for m in methods} <= called, component
