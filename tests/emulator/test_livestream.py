"""Live-stream operations for webinars and meetings: Zoom's rules, in Zoom's order."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.conftest import DEMO_WEBINAR, Api, Server, get_token
from tests.support.helpers import assert_error, basic

CONFIG = {
    "stream_url": "rtmp://127.0.0.1:1935/live",
    "stream_key": "key-1",
    "page_url": "https://example.com/watch",
    "resolution": "1080p",
}
WEBINAR_STATUS = f"/v2/webinars/{DEMO_WEBINAR}/livestream/status"


def runtime(api: Api, kind: str, sid: int) -> dict[str, Any]:
    response = api.control("GET", f"/{kind}s/{sid}/livestream")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def new_webinar(api: Api, *, start: bool = True, configure: bool = True) -> int:
    made = api.post("/v2/users/me/webinars", json={"topic": "Streamed"})
    assert made.status_code == 201
    wid = int(made.json()["id"])
    if configure:
        assert api.patch(f"/v2/webinars/{wid}/livestream", json=CONFIG).status_code == 204
    if start:
        assert api.control("POST", f"/webinars/{wid}/start").status_code == 200
    return wid


def new_meeting(api: Api, *, start: bool = True, configure: bool = True) -> int:
    made = api.post("/v2/users/me/meetings", json={"topic": "Meeting streamed"})
    assert made.status_code == 201, made.text
    mid = int(made.json()["id"])
    if configure:
        assert api.patch(f"/v2/meetings/{mid}/livestream", json=CONFIG).status_code == 204
    if start:
        assert api.control("POST", f"/meetings/{mid}/start").status_code == 200
    return mid


@pytest.mark.parametrize("kind", ["webinar", "meeting"])
def test_configure_then_get(api: Api, kind: str) -> None:
    sid = (
        new_webinar(api, configure=False)
        if kind == "webinar"
        else new_meeting(api, configure=False)
    )
    empty = api.get(f"/v2/{kind}s/{sid}/livestream")
    assert empty.status_code == 200
    assert empty.json() == {
        "stream_url": "",
        "stream_key": "",
        "page_url": "",
        "resolution": "720p",
    }
    response = api.patch(f"/v2/{kind}s/{sid}/livestream", json=CONFIG)
    assert response.status_code == 204 and response.content == b""
    assert api.get(f"/v2/{kind}s/{sid}/livestream").json() == CONFIG


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"stream_url", "stream_key", "page_url"}),
        ({**CONFIG, "stream_url": "x" * 1025}, {"stream_url"}),
        ({**CONFIG, "stream_key": "k" * 513}, {"stream_key"}),
        ({**CONFIG, "page_url": "not a uri"}, {"page_url"}),
        ({**CONFIG, "page_url": "https://e.com/" + "p" * 1020}, {"page_url"}),
        ({**CONFIG, "resolution": "4k"}, {"resolution"}),
        ({**CONFIG, "resolution": "720P"}, {"resolution"}),
        ({**CONFIG, "stream_key": 5}, {"stream_key"}),
    ],
)
def test_configure_validation(api: Api, body: dict[str, Any], fields: set[str]) -> None:
    before = api.state()
    response = api.patch(f"/v2/webinars/{DEMO_WEBINAR}/livestream", json=body)
    assert_error(response, 400, 300, "Validation Failed.")
    assert {e["field"] for e in response.json()["errors"]} == fields
    assert api.state() == before


def test_start_and_stop_a_webinar_stream(api: Api) -> None:
    body = {"action": "start", "settings": {"active_speaker_name": True, "display_name": "Live!"}}
    response = api.patch(WEBINAR_STATUS, json=body)
    assert response.status_code == 204 and response.content == b""
    now = runtime(api, "webinar", DEMO_WEBINAR)
    assert now["state"] == "live" and now["started_at"]
    assert now["settings"] == {"display_name": "Live!", "active_speaker_name": True}
    assert api.patch(WEBINAR_STATUS, json={"action": "stop"}).status_code == 204
    after = runtime(api, "webinar", DEMO_WEBINAR)
    assert after["state"] == "stopped" and after["stopped_at"]
    moves = [(e["from"], e["to"]) for e in after["events"]]
    assert moves == [("stopped", "starting"), ("starting", "live"), ("live", "stopped")]


def test_speaker_switch_with_fake_media(api: Api) -> None:
    """No overlay to draw, but the switch is kept while the stream runs, so fast tests (the
    pytest plugin's default) can play the host and read the speaker back."""
    speaker = f"/webinars/{DEMO_WEBINAR}/speaker"
    assert api.control("POST", speaker, json={"name": "Ada"}).status_code == 409
    assert api.patch(WEBINAR_STATUS, json={"action": "start"}).status_code == 204
    switched = api.control("POST", speaker, json={"name": "Ada"})
    assert switched.status_code == 200 and switched.json() == {"active_speaker": "Ada"}
    assert runtime(api, "webinar", DEMO_WEBINAR)["media"] == {"active_speaker": "Ada"}
    assert api.patch(WEBINAR_STATUS, json={"action": "stop"}).status_code == 204
    assert runtime(api, "webinar", DEMO_WEBINAR)["media"] is None
    assert api.control("POST", speaker, json={"name": "Bo"}).status_code == 409
    assert api.patch(WEBINAR_STATUS, json={"action": "start"}).status_code == 204
    assert runtime(api, "webinar", DEMO_WEBINAR)["media"] is None  # the host again
    assert api.control("POST", speaker, json={"name": "Cy"}).status_code == 200
    assert api.control("POST", "/reset").status_code == 200
    api.token = get_token(api.client)  # a reset forgets tokens
    assert api.patch(WEBINAR_STATUS, json={"action": "start"}).status_code == 204
    assert runtime(api, "webinar", DEMO_WEBINAR)["media"] is None  # a reset forgets it too


@pytest.mark.parametrize(
    "body",
    [
        {"action": "Start"},
        {"action": "START"},
        {"action": "restart"},
        {"action": 1},
        {"settings": {"display_name": ""}},
        {"settings": {"display_name": "x" * 51}},
        {"settings": {"active_speaker_name": "yes"}},
        {"settings": "start{}"},
        {"settings": {"layout": "gallery_view"}, "action": "mode"},
    ],
)
def test_status_validation(api: Api, body: dict[str, Any]) -> None:
    before = api.state()
    response = api.patch(WEBINAR_STATUS, json=body)
    assert_error(response, 400, 300, "Validation Failed.")
    assert api.state() == before


def test_display_name_counts_characters_not_bytes(api: Api) -> None:
    name = "直播" * 25  # 50 characters, 150 bytes
    response = api.patch(
        WEBINAR_STATUS, json={"action": "start", "settings": {"display_name": name}}
    )
    assert response.status_code == 204
    assert runtime(api, "webinar", DEMO_WEBINAR)["settings"]["display_name"] == name


def test_rules_in_zooms_order(api: Api) -> None:
    start = {"action": "start"}
    assert_error(
        api.patch("/v2/webinars/abc/livestream/status", json=start), 400, 300, "Invalid webinar ID."
    )
    assert_error(
        api.patch("/v2/webinars/12345678901/livestream/status", json=start),
        400,
        3001,
        "Webinar does not exist: 12345678901.",
    )
    # Body validation comes before existence.
    assert_error(
        api.patch("/v2/webinars/12345678901/livestream/status", json={"action": "go"}),
        400,
        300,
        "Validation Failed.",
    )
    unconfigured = new_webinar(api, configure=False)
    assert_error(
        api.patch(f"/v2/webinars/{unconfigured}/livestream/status", json=start),
        400,
        3000,
        "The current webinar is not configured with a custom streaming service.",
    )
    waiting = new_webinar(api, start=False)
    assert_error(
        api.patch(f"/v2/webinars/{waiting}/livestream/status", json=start),
        400,
        200,
        f"Webinar {waiting} has not started.",
    )
    api.control("PATCH", "/accounts/demo-account", json={"custom_live_streaming": False})
    assert_error(
        api.patch(WEBINAR_STATUS, json=start),
        400,
        200,
        "The current user has not enabled the custom live streaming feature of the webinar.",
    )
    assert_error(api.get(f"/v2/webinars/{DEMO_WEBINAR}/livestream"), 400, 200)
    api.control("PATCH", "/accounts/demo-account", json={"webinar_addon": False})
    response = api.patch(WEBINAR_STATUS, json=start)
    assert_error(response, 400, 200)
    assert response.json()["message"].startswith("Webinar plan is missing.")
    assert runtime(api, "webinar", DEMO_WEBINAR)["state"] == "stopped"


def test_settings_only_while_stopped(api: Api) -> None:
    assert (
        api.patch(WEBINAR_STATUS, json={"settings": {"display_name": "Before"}}).status_code == 204
    )
    assert runtime(api, "webinar", DEMO_WEBINAR)["settings"]["display_name"] == "Before"
    assert runtime(api, "webinar", DEMO_WEBINAR)["state"] == "stopped"
    assert api.patch(WEBINAR_STATUS, json={"action": "start"}).status_code == 204
    refused = api.patch(WEBINAR_STATUS, json={"settings": {"display_name": "During"}})
    assert_error(refused, 400, 300, "You can only update settings for a stopped live stream.")
    refused = api.patch(
        WEBINAR_STATUS, json={"action": "start", "settings": {"display_name": "During"}}
    )
    assert_error(refused, 400, 300)
    # The same settings again change nothing, so they are accepted; so is a second start.
    assert (
        api.patch(
            WEBINAR_STATUS, json={"action": "start", "settings": {"display_name": "Before"}}
        ).status_code
        == 204
    )
    # Stop with settings: stopped first, then the settings apply to the next start.
    assert (
        api.patch(
            WEBINAR_STATUS, json={"action": "stop", "settings": {"display_name": "Next"}}
        ).status_code
        == 204
    )
    now = runtime(api, "webinar", DEMO_WEBINAR)
    assert now["state"] == "stopped" and now["settings"]["display_name"] == "Next"
    # Stop when stopped: nothing to do, so nothing changes, not even the version.
    version = now["version"]
    for _ in range(3):
        assert api.patch(WEBINAR_STATUS, json={"action": "stop"}).status_code == 204
    assert runtime(api, "webinar", DEMO_WEBINAR)["state"] == "stopped"
    assert len(runtime(api, "webinar", DEMO_WEBINAR)["events"]) == 3
    assert runtime(api, "webinar", DEMO_WEBINAR)["version"] == version


def test_ending_the_webinar_stops_its_stream(api: Api) -> None:
    assert api.patch(WEBINAR_STATUS, json={"action": "start"}).status_code == 204
    assert api.put(f"/v2/webinars/{DEMO_WEBINAR}/status", json={"action": "end"}).status_code == 204
    now = runtime(api, "webinar", DEMO_WEBINAR)
    assert now["state"] == "stopped"
    assert now["events"][-1]["detail"] == "webinar ended"
    assert_error(api.patch(WEBINAR_STATUS, json={"action": "start"}), 400, 200)


def test_meeting_start_mode_stop(make_client: Callable[..., TestClient]) -> None:
    api = Api(make_client(), "inprocess")
    mid = new_meeting(api)
    path = f"/v2/meetings/{mid}/livestream/status"
    start = {"action": "start", "settings": {"display_name": "M", "active_speaker_name": False}}
    assert api.patch(path, json=start).status_code == 204
    now = runtime(api, "meeting", mid)
    assert now["state"] == "live"
    assert now["settings"] == {
        "display_name": "M",
        "active_speaker_name": False,
        "layout": "follow_host",
        "close_caption": "burnt-in",
    }
    mode = {"action": "mode", "settings": {"layout": "gallery_view", "close_caption": "off"}}
    assert api.patch(path, json=mode).status_code == 204
    now = runtime(api, "meeting", mid)
    assert (now["settings"]["layout"], now["settings"]["close_caption"]) == ("gallery_view", "off")
    assert now["state"] == "live"
    # Zoom throttles starts: another within 30 s is a 429, even if it would change nothing.
    assert_error(api.patch(path, json={"action": "start"}), 429, 429)
    assert api.patch(path, json={"action": "stop"}).status_code == 204
    assert_error(api.patch(path, json=mode), 400, 300, "The live stream has not started.")
    assert_error(api.patch(path, json={"action": "start"}), 429, 429)
    api.control("POST", "/clock", json={"advance_seconds": 31})
    assert api.patch(path, json={"action": "start"}).status_code == 204
    assert runtime(api, "meeting", mid)["state"] == "live"


def test_meeting_rules(api: Api) -> None:
    start = {"action": "start"}
    assert_error(
        api.patch("/v2/meetings/abc/livestream/status", json=start), 400, 300, "Invalid meetingId."
    )
    assert_error(
        api.patch("/v2/meetings/12345678901/livestream/status", json=start),
        404,
        3001,
        "Meeting does not exist: 12345678901.",
    )
    unconfigured = new_meeting(api, configure=False)
    assert_error(
        api.patch(f"/v2/meetings/{unconfigured}/livestream/status", json=start),
        400,
        3000,
        "Cannot access webinar info.",
    )
    waiting = new_meeting(api, start=False)
    assert_error(
        api.patch(f"/v2/meetings/{waiting}/livestream/status", json=start),
        400,
        200,
        f"Meeting {waiting} has not started.",
    )
    api.control("PATCH", "/accounts/demo-account", json={"plan": "free"})
    live = new_meeting(api, configure=False)
    assert_error(
        api.patch(f"/v2/meetings/{live}/livestream", json=CONFIG),
        400,
        200,
        "Meeting host must have a Pro license.",
    )


def test_ending_a_meeting_stops_its_stream(api: Api) -> None:
    mid = new_meeting(api)
    assert (
        api.patch(f"/v2/meetings/{mid}/livestream/status", json={"action": "start"}).status_code
        == 204
    )
    assert api.put(f"/v2/meetings/{mid}/status", json={"action": "end"}).status_code == 204
    assert runtime(api, "meeting", mid)["state"] == "stopped"


def test_form_bodies_work_like_json(api: Api) -> None:
    response = api.patch(
        WEBINAR_STATUS,
        data={
            "action": "start",
            "settings": '{"display_name": "Form", "active_speaker_name": true}',
        },
    )
    assert response.status_code == 204
    now = runtime(api, "webinar", DEMO_WEBINAR)
    assert now["settings"] == {"display_name": "Form", "active_speaker_name": True}
    response = api.patch(WEBINAR_STATUS, files={"action": (None, "stop")})
    assert response.status_code == 204
    assert runtime(api, "webinar", DEMO_WEBINAR)["state"] == "stopped"


def test_scopes(client: TestClient) -> None:
    client.post(
        "/_emulator/accounts/demo-account/apps",
        json={
            "client_id": "granular",
            "client_secret": "pw",
            "scopes": ["webinar:update:livestream_status:master"],
        },
    )
    token = get_token(client, basic("granular", "pw"))
    headers = {"Authorization": f"Bearer {token}"}
    assert (
        client.patch(WEBINAR_STATUS, json={"action": "start"}, headers=headers).status_code == 204
    )
    refused = client.get(f"/v2/webinars/{DEMO_WEBINAR}/livestream", headers=headers)
    assert_error(refused, 400, 4711)
    assert "webinar:read:livestream" in refused.json()["message"]


def test_concurrent_starts_and_stops_never_leave_a_half_change(live: Api, server: Server) -> None:
    """Many clients at once, over real sockets: every state change is whole and in order."""
    bodies = [
        {"action": "start", "settings": {"display_name": f"n{i % 3}"}}
        if i % 2 == 0
        else {"action": "stop"}
        for i in range(60)
    ]

    def send(body: dict[str, Any]) -> int:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            return http.patch(WEBINAR_STATUS, json=body, headers=live.auth).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(pool.map(send, bodies))
    assert set(codes) <= {204, 400}
    assert codes.count(204) >= 30  # every stop succeeds; starts succeed or refuse new settings
    final = runtime(live, "webinar", DEMO_WEBINAR)
    events = final["events"]
    assert events, "no state change happened"
    state = "stopped"
    for event in events:  # one unbroken path through the declared state machine
        assert event["from"] == state
        state = event["to"]
    assert final["state"] == state
    assert final["started_at"] is not None
    assert (final["stopped_at"] is None) == (state == "live")
    # Each start goes on to live, unless a stop overtook it: no other step is possible.
    moves = [(e["from"], e["to"]) for e in events]
    for i, move in enumerate(moves):
        if move == ("stopped", "starting") and i + 1 < len(moves):
            assert moves[i + 1] in (("starting", "live"), ("starting", "stopped"))
    assert moves.count(("starting", "live")) >= 1 and moves.count(("live", "stopped")) >= 1
