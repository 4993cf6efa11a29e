"""Meetings: create, get, list, update, delete, end, and the host through the control API."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api
from tests.support.helpers import assert_error


def create(api: Api, **body: Any) -> dict[str, Any]:
    response = api.post("/v2/users/me/meetings", json=body or {"topic": "Standup"})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def test_create_get_update_delete(api: Api) -> None:
    made = create(
        api,
        topic="Planning",
        type=2,
        start_time="2030-05-01T09:00:00Z",
        duration=45,
        settings={"waiting_room": True},
        password="pw",
    )
    assert made["topic"] == "Planning" and made["type"] == 2 and made["status"] == "waiting"
    assert made["host_email"] == "host@example.com" and made["join_url"]
    assert made["settings"]["waiting_room"] is True
    got = api.get(f"/v2/meetings/{made['id']}").json()
    assert got["start_time"] == "2030-05-01T09:00:00Z" and got["duration"] == 45
    assert api.get(f"/v2/meetings/{made['uuid']}").json()["id"] == made["id"]
    assert api.patch(f"/v2/meetings/{made['id']}", json={"topic": "Replanned"}).status_code == 204
    assert api.get(f"/v2/meetings/{made['id']}").json()["topic"] == "Replanned"
    assert api.delete(f"/v2/meetings/{made['id']}").status_code == 204
    assert_error(
        api.get(f"/v2/meetings/{made['id']}"), 404, 3001, f"Meeting does not exist: {made['id']}."
    )


def test_meetings_need_no_webinar_plan(api: Api) -> None:
    api.control("PATCH", "/accounts/demo-account", json={"plan": "free", "webinar_addon": False})
    assert create(api)["status"] == "waiting"


def test_errors(api: Api) -> None:
    assert_error(api.get("/v2/meetings/abc"), 400, 300, "Invalid meetingId.")
    assert_error(api.get("/v2/meetings/12345678901"), 404, 3001)
    assert_error(api.post("/v2/users/nobody@example.com/meetings", json={}), 404, 1001)
    assert_error(
        api.post("/v2/users/me/meetings", json={"type": 5}), 400, 300, "Validation Failed."
    )
    assert_error(api.put("/v2/meetings/12345678901/status", json={"action": "end"}), 404, 3001)
    made = create(api)
    assert_error(api.put(f"/v2/meetings/{made['id']}/status", json={"action": "stop"}), 400, 300)


def test_host_starts_and_ends(api: Api) -> None:
    mid = create(api)["id"]
    assert api.control("POST", f"/meetings/{mid}/start").json()["status"] == "started"
    assert api.get(f"/v2/meetings/{mid}").json()["status"] == "started"
    assert_error(api.delete(f"/v2/meetings/{mid}"), 400, 3002)
    assert api.put(f"/v2/meetings/{mid}/status", json={"action": "end"}).status_code == 204
    assert api.get(f"/v2/meetings/{mid}").json()["status"] == "ended"
    assert api.put(f"/v2/meetings/{mid}/status", json={"action": "recover"}).status_code == 204
    assert api.delete(f"/v2/meetings/{mid}").status_code == 204


def test_list_by_type(api: Api) -> None:
    future = create(api, start_time="2099-01-01T00:00:00Z")["id"]
    running = create(api)["id"]
    api.control("POST", f"/meetings/{running}/start")
    done = create(api)["id"]
    api.control("POST", f"/meetings/{done}/start")
    api.control("POST", f"/meetings/{done}/end")

    def ids(kind: str) -> set[int]:
        response = api.get("/v2/users/me/meetings", params={"type": kind})
        assert response.status_code == 200, response.text
        return {m["id"] for m in response.json()["meetings"]}

    assert ids("scheduled") == {future, running}
    assert ids("live") == {running}
    assert ids("upcoming") == {future, running}
    assert ids("previous_meetings") == {done}
    assert_error(api.get("/v2/users/me/meetings", params={"type": "all"}), 400, 300)


def test_daily_cap_message_for_meetings(make_client: Any) -> None:
    api = Api(make_client(webinar_daily_cap=1), "inprocess")
    create(api)
    response = api.post("/v2/users/me/meetings", json={})
    assert_error(
        response,
        429,
        429,
        "You have exceeded the daily rate limit (1) of Meeting "
        "Create/Update API requests permitted for this particular user. You may resume "
        "these requests at GMT 00:00:00.",
    )
