"""Past meetings and webinars: instances, details and participants once a session has ended;
before that, no instance and Zoom's 3001; unknown ids get Zoom's errors and change nothing."""

from __future__ import annotations

from tests.conftest import Api
from tests.support.helpers import assert_error


def ended(api: Api, kind: str) -> dict[str, object]:
    made = api.post(f"/v2/users/me/{kind}s", json={"topic": f"Past {kind}"}).json()
    sid = made["id"]
    assert api.get(f"/v2/past_{kind}s/{sid}/instances").json() == {f"{kind}s": []}
    assert_error(api.get(f"/v2/past_{kind}s/{sid}/participants"), 404, 3001)
    assert api.control("POST", f"/{kind}s/{sid}/start").status_code == 200
    api.control("POST", "/clock", json={"advance_seconds": 600})
    assert_error(api.get(f"/v2/past_{kind}s/{sid}/participants"), 404, 3001)  # still running
    assert api.put(f"/v2/{kind}s/{sid}/status", json={"action": "end"}).status_code == 204
    got: dict[str, object] = api.get(f"/v2/{kind}s/{sid}").json()
    return got


def test_past_meeting_after_it_ended(api: Api) -> None:
    meeting = ended(api, "meeting")
    mid, uuid = meeting["id"], meeting["uuid"]
    [instance] = api.get(f"/v2/past_meetings/{mid}/instances").json()["meetings"]
    assert instance["uuid"] == uuid and instance["start_time"].endswith("Z")
    details = api.get(f"/v2/past_meetings/{mid}")
    assert details.status_code == 200, details.text
    body = details.json()
    assert (body["id"], body["uuid"], body["topic"], body["duration"]) == (
        mid,
        uuid,
        "Past meeting",
        10,
    )
    assert body["user_email"] == "host@example.com" and body["participants_count"] == 1
    assert body["start_time"] == instance["start_time"] and body["end_time"] > body["start_time"]
    assert api.get(f"/v2/past_meetings/{uuid}").json() == body
    people = api.get(f"/v2/past_meetings/{mid}/participants").json()
    assert people["total_records"] == 1 and people["next_page_token"] == ""
    [host] = people["participants"]
    assert host["user_email"] == "host@example.com" and host["duration"] == 600
    assert (host["join_time"], host["leave_time"]) == (body["start_time"], body["end_time"])


def test_past_webinar_after_it_ended(api: Api) -> None:
    webinar = ended(api, "webinar")
    wid = webinar["id"]
    [instance] = api.get(f"/v2/past_webinars/{wid}/instances").json()["webinars"]
    assert instance["uuid"] == webinar["uuid"]
    people = api.get(f"/v2/past_webinars/{wid}/participants", params={"page_size": 300}).json()
    assert [p["name"] for p in people["participants"]] == ["Demo Host"]
    assert people["page_size"] == 300


def test_unknown_and_bad_ids(api: Api) -> None:
    before = api.state()
    for path in (
        "/v2/past_meetings/12345678901",
        "/v2/past_meetings/12345678901/instances",
        "/v2/past_meetings/12345678901/participants",
        "/v2/past_webinars/12345678901/instances",
        "/v2/past_webinars/12345678901/participants",
    ):
        assert_error(api.get(path), 404, 3001)
    assert_error(api.get("/v2/past_webinars/abc/instances"), 400, 300)
    assert_error(api.get("/v2/past_meetings/1/participants", params={"page_size": 0}), 400, 300)
    assert api.state() == before
