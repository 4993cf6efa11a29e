"""A user's settings: every documented section with Zoom's defaults, PATCH merges, wrong types
get Zoom's 300, and the live-streaming settings gate the live-stream calls."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Api, Server
from tests.support.docfields import response_schema, walk
from tests.support.helpers import assert_error


def settings(api: Api, **params: str) -> dict[str, Any]:
    got = api.get("/v2/users/me/settings", params=params)
    assert got.status_code == 200, got.text
    data: dict[str, Any] = got.json()
    return data


def test_settings_carry_every_documented_field(api: Api) -> None:
    body = settings(api)
    found = walk(body, response_schema("userSettings", "users", variant=0))
    assert len(found.documented) > 200
    assert found.share >= 0.95, found.missing
    assert body["in_meeting"]["allow_live_streaming"] is True
    assert body["in_meeting"]["custom_live_streaming_service"] is True
    security = settings(api, option="meeting_security")
    assert set(security) == {"meeting_security"}
    assert "authentication_options" in settings(api, option="meeting_authentication")
    change = {"meeting_security": {"waiting_room": False, "auto_security": False}}
    patched = api.patch("/v2/users/me/settings", params={"option": "meeting_security"}, json=change)
    assert patched.status_code == 204, patched.text
    now = settings(api, option="meeting_security")["meeting_security"]
    assert (now["waiting_room"], now["auto_security"]) == (False, False)
    assert settings(api) == body  # the main settings are not touched
    for option in ("meeting_authentication", "recording_authentication"):
        auth = {
            "authentication_option": {"action": "update", "name": "Ours", "type": "enforce_login"}
        }
        added = api.patch("/v2/users/me/settings", params={"option": option}, json=auth)
        assert added.status_code == 204, added.text
        wrong = {"authentication_option": {"action": 5}}
        refused = api.patch("/v2/users/me/settings", params={"option": option}, json=wrong)
        assert_error(refused, 400, 300)
    assert settings(api) == body
    assert_error(api.get("/v2/users/me/settings", params={"option": "other"}), 400, 300)


def test_settings_patch_merges_and_gates_live_streams(api: Api) -> None:
    made = api.post("/v2/users/me/meetings", json={"topic": "Gated"})
    mid = made.json()["id"]
    assert api.control("POST", f"/meetings/{mid}/start").status_code == 200
    stream = {
        "stream_url": "rtmp://127.0.0.1/live",
        "stream_key": "k",
        "page_url": "https://x.example",
    }
    assert api.patch(f"/v2/meetings/{mid}/livestream", json=stream).status_code == 204
    language = settings(api)["in_meeting"]["language_interpretation"]

    off = {"in_meeting": {"allow_live_streaming": False}}
    assert api.patch("/v2/users/me/settings", json=off).status_code == 204
    after = settings(api)["in_meeting"]
    assert after["allow_live_streaming"] is False
    assert after["custom_live_streaming_service"] is True  # merged, not replaced
    assert after["language_interpretation"] == language
    before = api.state()
    refused = api.patch(f"/v2/meetings/{mid}/livestream/status", json={"action": "start"})
    assert_error(refused, 400, 200)
    assert "custom live streaming feature of the meeting" in refused.json()["message"]
    assert_error(api.patch(f"/v2/meetings/{mid}/livestream", json=stream), 400, 200)
    assert api.state() == before
    assert api.get(f"/v2/meetings/{mid}/livestream").status_code == 200  # reading still works

    on = {"in_meeting": {"allow_live_streaming": True}}
    assert api.patch("/v2/users/me/settings", json=on).status_code == 204
    started = api.patch(f"/v2/meetings/{mid}/livestream/status", json={"action": "start"})
    assert started.status_code == 204, started.text


def test_webinar_gate_follows_the_webinar_live_streaming_services(api: Api) -> None:
    wid = api.post("/v2/users/me/webinars", json={"topic": "Gated"}).json()["id"]
    stream = {
        "stream_url": "rtmp://127.0.0.1/live",
        "stream_key": "k",
        "page_url": "https://x.example",
    }
    only_youtube = {
        "in_meeting": {"webinar_live_streaming": {"live_streaming_service": ["youtube"]}}
    }
    assert api.patch("/v2/users/me/settings", json=only_youtube).status_code == 204
    refused = api.patch(f"/v2/webinars/{wid}/livestream", json=stream)
    assert_error(
        refused,
        400,
        200,
        "The current user has not enabled the custom live streaming feature of the webinar.",
    )
    # meetings are not gated by the webinar setting
    mid = api.post("/v2/users/me/meetings", json={"topic": "Free"}).json()["id"]
    assert api.patch(f"/v2/meetings/{mid}/livestream", json=stream).status_code == 204
    back = {
        "in_meeting": {
            "webinar_live_streaming": {"live_streaming_service": ["custom_live_streaming_service"]}
        }
    }
    assert api.patch("/v2/users/me/settings", json=back).status_code == 204
    assert api.patch(f"/v2/webinars/{wid}/livestream", json=stream).status_code == 204


@pytest.mark.parametrize(
    "body",
    [
        {"in_meeting": {"allow_live_streaming": "no"}},
        {"in_meeting": "off"},
        {"schedule_meeting": {"host_video": 1}},
        {"recording": {"auto_recording": 7}},
    ],
)
def test_wrong_types_get_300_and_change_nothing(api: Api, body: dict[str, Any]) -> None:
    before = settings(api)
    refused = api.patch("/v2/users/me/settings", json=body)
    assert_error(refused, 400, 300)
    assert refused.json()["errors"]
    assert settings(api) == before
    assert_error(api.patch("/v2/users/nobody/settings", json={}), 404, 1001)
    assert_error(
        api.patch(
            "/v2/users/me/settings", content=b"{", headers={"Content-Type": "application/json"}
        ),
        400,
        300,
    )


def test_settings_survive_a_restart(make_client: Any, tmp_path: Any) -> None:
    db = str(tmp_path / "z.db")
    first = Api(make_client(db=db), "inprocess")
    off = {"in_meeting": {"allow_live_streaming": False, "custom_service_instructions": "Ask Ana"}}
    assert first.patch("/v2/users/me/settings", json=off).status_code == 204
    first.client.__exit__(None, None, None)
    again = Api(make_client(db=db), "inprocess")
    in_meeting = settings(again)["in_meeting"]
    assert in_meeting["allow_live_streaming"] is False
    assert in_meeting["custom_service_instructions"] == "Ask Ana"
    mid = again.post("/v2/users/me/meetings", json={"topic": "x"}).json()["id"]
    assert_error(again.get(f"/v2/meetings/{mid}/jointoken/live_streaming"), 400, 3000)


def test_two_hosts_on_postgresql_share_settings_and_the_gate(pg_url: str) -> None:
    """A setting written through one host gates the live-stream calls on the other (the change
    log carries the user's new columns to the other host's memory)."""
    first, second = Server(pg_url).start(timeout=40), Server(pg_url).start(timeout=40)
    try:
        with httpx.Client(base_url=first.url) as one, httpx.Client(base_url=second.url) as two:
            assert one.post("/_emulator/reset", json={"demo": True}).status_code == 200
            a, b = Api(one, "socket"), Api(two, "socket")
            mid = a.post("/v2/users/me/meetings", json={"topic": "Shared"}).json()["id"]
            off = {"in_meeting": {"allow_live_streaming": False}}
            assert a.patch("/v2/users/me/settings", json=off).status_code == 204
            assert settings(b)["in_meeting"]["allow_live_streaming"] is False
            stream = {
                "stream_url": "rtmp://127.0.0.1/l",
                "stream_key": "k",
                "page_url": "https://x.example",
            }
            assert_error(b.patch(f"/v2/meetings/{mid}/livestream", json=stream), 400, 200)
            assert_error(b.get(f"/v2/meetings/{mid}/jointoken/live_streaming"), 400, 3000)
            assert b.patch("/v2/users/me", json={"dept": "Shared dept"}).status_code == 204
            assert a.get("/v2/users/me").json()["dept"] == "Shared dept"
    finally:
        first.stop()
        second.stop()
