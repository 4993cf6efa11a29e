"""Users and webinars: Zoom's paths, bodies, statuses, codes and messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import DEMO_WEBINAR, Api, get_token
from tests.support.helpers import assert_error


def create(api: Api, user: str = "me", **body: Any) -> dict[str, Any]:
    response = api.post(f"/v2/users/{user}/webinars", json=body or {"topic": "Launch"})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def status_of(api: Api, webinar_id: int) -> str:
    for webinar in api.state()["webinars"]:
        if webinar["id"] == webinar_id:
            return str(webinar["status"])
    return "absent"


def test_users_me_id_and_email(api: Api) -> None:
    me = api.get("/v2/users/me").json()
    assert me["email"] == "host@example.com"
    assert api.get(f"/v2/users/{me['id']}").json()["id"] == me["id"]
    assert api.get("/v2/users/HOST@example.com").json()["id"] == me["id"]
    assert_error(
        api.get("/v2/users/nobody@example.com"),
        404,
        1001,
        "User does not exist: nobody@example.com.",
    )


def test_create_webinar_returns_zooms_creation_body(api: Api) -> None:
    body = create(
        api,
        topic="Q3 earnings",
        type=5,
        start_time="2030-01-02T15:00:00Z",
        duration=90,
        timezone="America/New_York",
        agenda="Numbers",
        password="abc123",
        settings={"host_video": True, "approval_type": 0, "unknown_setting": 1},
        id=5,  # public clients send extras; Zoom ignores unknown fields
    )
    assert isinstance(body["id"], int) and body["id"] > 10**9
    for key in ("uuid", "host_id", "host_email", "join_url", "start_url", "created_at"):
        assert body[key], key
    assert body["host_email"] == "host@example.com"
    assert body["topic"] == "Q3 earnings"
    assert body["type"] == 5
    assert body["start_time"] == "2030-01-02T15:00:00Z"
    assert body["duration"] == 90
    assert body["timezone"] == "America/New_York"
    assert body["agenda"] == "Numbers"
    assert body["password"] == "abc123"
    assert body["settings"]["host_video"] is True
    assert body["settings"]["approval_type"] == 0
    assert "unknown_setting" not in body["settings"]
    got = api.get(f"/v2/webinars/{body['id']}").json()
    assert got["topic"] == "Q3 earnings" and got["uuid"] == body["uuid"]
    by_uuid = api.get(f"/v2/webinars/{body['uuid']}")
    assert by_uuid.status_code == 200 and by_uuid.json()["id"] == body["id"]
    assert status_of(api, body["id"]) == "waiting"


def test_create_by_email_and_id(api: Api) -> None:
    me = api.get("/v2/users/me").json()
    assert create(api, "host@example.com", topic="a")["host_id"] == me["id"]
    assert create(api, me["id"], topic="b")["host_id"] == me["id"]


def test_create_for_unknown_user_is_404_1001(api: Api) -> None:
    before = api.state()
    response = api.post("/v2/users/ghost@example.com/webinars", json={"topic": "x"})
    assert_error(
        response, 404, 1001, "User ghost@example.com not exist or not belong to this account."
    )
    assert api.state() == before


@pytest.mark.parametrize(
    "patch",
    [{"webinar_addon": False}, {"plan": "free"}],
)
def test_plan_or_addon_missing_is_code_200(api: Api, patch: dict[str, Any]) -> None:
    assert api.control("PATCH", "/accounts/demo-account", json=patch).status_code == 204
    response = api.post("/v2/users/me/webinars", json={"topic": "x"})
    assert_error(response, 400, 200)
    assert response.json()["message"].startswith("Webinar plan is missing.")
    assert_error(api.get(f"/v2/webinars/{DEMO_WEBINAR}"), 400, 200)
    # Ending: Zoom's documented oddity, HTTP 200 with an error body.
    ended = api.put(f"/v2/webinars/{DEMO_WEBINAR}/status", json={"action": "end"})
    assert_error(ended, 200, 200)
    assert status_of(api, DEMO_WEBINAR) == "started"


def test_daily_cap_on_creates_and_updates(make_client: Callable[..., TestClient]) -> None:
    api = Api(make_client(webinar_daily_cap=3), "inprocess")
    first = create(api)
    assert api.patch(f"/v2/webinars/{first['id']}", json={"topic": "t2"}).status_code == 204
    create(api)
    response = api.post("/v2/users/me/webinars", json={"topic": "one too many"})
    assert_error(
        response,
        429,
        429,
        "A maximum of (3) webinars can be created and updated for a single user in one day.",
    )
    assert response.headers["retry-after"].endswith("T00:00:00Z")
    assert len(api.state()["webinars"]) == 3  # demo + 2
    # The cap resets at 00:00 UTC.
    api.control("POST", "/clock", json={"advance_seconds": 86400})
    api.token = get_token(api.client)  # a day later the old token has expired too
    create(api)


def test_get_unknown_and_invalid_ids(api: Api) -> None:
    assert_error(
        api.get("/v2/webinars/12345678901"), 404, 3001, "Webinar does not exist: 12345678901."
    )
    for bad in ("abc", "-1", "0", "9223372036854775808", "1" * 30, "12.5"):
        assert_error(api.get(f"/v2/webinars/{bad}"), 400, 300, "Invalid webinar ID.")
    assert_error(api.delete("/v2/webinars/abc"), 400, 300)
    assert_error(api.patch("/v2/webinars/abc", json={}), 400, 300)


def test_other_accounts_webinar_does_not_exist(api: Api) -> None:
    created = api.control(
        "POST",
        "/accounts",
        json={
            "id": "acme",
            "users": [{"email": "boss@acme.test"}],
            "webinars": [{"id": 77777777777, "host": "boss@acme.test"}],
        },
    )
    assert created.status_code == 201, created.text
    assert_error(api.get("/v2/webinars/77777777777"), 404, 3001)
    assert_error(api.delete("/v2/webinars/77777777777"), 404, 3001)
    assert_error(api.get("/v2/users/boss@acme.test"), 404, 1001)
    assert_error(api.get("/v2/users/boss@acme.test/webinars"), 404, 1001)
    assert status_of(api, 77777777777) == "waiting"


def test_update_webinar(api: Api) -> None:
    webinar = create(api, topic="Before", duration=30)
    response = api.patch(
        f"/v2/webinars/{webinar['id']}",
        json={"topic": "After", "agenda": "New", "settings": {"host_video": True}},
    )
    assert response.status_code == 204 and response.content == b""
    got = api.get(f"/v2/webinars/{webinar['id']}").json()
    assert (got["topic"], got["agenda"], got["duration"]) == ("After", "New", 30)
    assert got["settings"]["host_video"] is True
    assert_error(api.patch(f"/v2/webinars/{DEMO_WEBINAR}", json={"topic": "x"}), 400, 3000)
    assert_error(
        api.patch("/v2/webinars/12345678901", json={"topic": "x"}),
        404,
        3001,
        "Webinar 12345678901 not found or has expired.",
    )


def test_delete_by_status(api: Api) -> None:
    webinar = create(api)
    assert api.delete(f"/v2/webinars/{webinar['id']}").status_code == 204
    assert status_of(api, webinar["id"]) == "absent"
    assert_error(api.get(f"/v2/webinars/{webinar['id']}"), 404, 3001)
    assert_error(
        api.delete(f"/v2/webinars/{DEMO_WEBINAR}"),
        400,
        3002,
        "Sorry, you cannot delete this webinar since it is in progress.",
    )
    assert api.put(f"/v2/webinars/{DEMO_WEBINAR}/status", json={"action": "end"}).status_code == 204
    assert_error(
        api.delete(f"/v2/webinars/{DEMO_WEBINAR}"),
        400,
        3007,
        "Sorry, you cannot delete this webinar since it has ended.",
    )


def test_end_webinar(api: Api) -> None:
    assert status_of(api, DEMO_WEBINAR) == "started"
    response = api.put(f"/v2/webinars/{DEMO_WEBINAR}/status", json={"action": "end"})
    assert response.status_code == 204 and response.content == b""
    assert status_of(api, DEMO_WEBINAR) == "ended"
    bad = api.put(f"/v2/webinars/{DEMO_WEBINAR}/status", json={"action": "End"})
    assert_error(bad, 400, 300, "Validation Failed.")
    assert bad.json()["errors"] == [{"field": "action", "message": "Invalid field."}]
    # PATCH is not how Zoom ends a webinar: the method is PUT.
    assert_error(api.patch(f"/v2/webinars/{DEMO_WEBINAR}/status", json={"action": "end"}), 405, 405)


def test_host_actions_through_control_api(api: Api) -> None:
    webinar = create(api)
    wid = webinar["id"]
    assert api.control("POST", f"/webinars/{wid}/start").json()["status"] == "started"
    assert api.control("POST", f"/webinars/{wid}/start").status_code == 409
    assert_error(api.delete(f"/v2/webinars/{wid}"), 400, 3002)
    assert api.control("POST", f"/webinars/{wid}/end").json()["status"] == "ended"
    assert api.control("POST", f"/webinars/{wid}/end").status_code == 409
    assert api.control("POST", "/webinars/12345678901/start").status_code == 404


def test_list_webinars_paginates(api: Api) -> None:
    ids = {
        create(api, topic=f"w{i}", start_time=f"2031-01-0{i + 1}T10:00:00Z")["id"] for i in range(5)
    }
    ids.add(DEMO_WEBINAR)
    seen: list[int] = []
    token = ""
    pages = 0
    while True:
        params = {"page_size": 2, **({"next_page_token": token} if token else {})}
        response = api.get("/v2/users/me/webinars", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["page_size"] == 2 and page["total_records"] == 6
        assert len(page["webinars"]) <= 2
        seen += [w["id"] for w in page["webinars"]]
        pages += 1
        token = page["next_page_token"]
        if not token:
            break
    assert pages == 3 and sorted(seen) == sorted(ids) and len(seen) == 6


def test_list_types_and_limits(api: Api) -> None:
    past = create(api, topic="past", start_time="2001-01-01T00:00:00Z")
    future = create(api, topic="future", start_time="2099-01-01T00:00:00Z")
    ended = create(api, topic="ended")
    api.control("POST", f"/webinars/{ended['id']}/start")
    api.control("POST", f"/webinars/{ended['id']}/end")

    def listed(**params: Any) -> set[int]:
        response = api.get("/v2/users/me/webinars", params=params)
        assert response.status_code == 200, response.text
        return {w["id"] for w in response.json()["webinars"]}

    scheduled = listed()
    assert {past["id"], future["id"], DEMO_WEBINAR} <= scheduled
    assert ended["id"] not in scheduled
    upcoming = listed(type="upcoming")
    assert future["id"] in upcoming and DEMO_WEBINAR in upcoming and past["id"] not in upcoming
    assert api.get("/v2/users/me/webinars", params={"page_size": 1000}).json()["page_size"] == 300
    for params in (
        {"type": "past"},
        {"page_size": 0},
        {"page_size": "x"},
        {"next_page_token": "garbage!"},
    ):
        assert_error(
            api.get("/v2/users/me/webinars", params=params), 400, 300, "Validation Failed."
        )


def test_unknown_path_and_method(api: Api) -> None:
    assert_error(api.get("/v2/nothing/here"), 404, 404)
    assert_error(api.client.get("/nothing"), 404, 404)
    response = api.post(f"/v2/webinars/{DEMO_WEBINAR}", json={})
    assert_error(response, 405, 405)
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "PATCH", "DELETE"} <= allowed


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        (b"{not json", "application/json", "Request Body should be a valid JSON object."),
        (b"[1, 2]", "application/json", "Request Body should be a valid JSON object."),
        (b"", "application/json", "Request Body should be a valid JSON object."),
        (b'"topic"', "application/json", "Request Body should be a valid JSON object."),
        (b'{"topic": 5}', "application/json", "Validation Failed."),
        (b'{"type": 4}', "application/json", "Validation Failed."),
        (b'{"type": "5"}', "application/json", "Validation Failed."),
        (b'{"duration": -1}', "application/json", "Validation Failed."),
        (b'{"start_time": "yesterday"}', "application/json", "Validation Failed."),
        (b'{"topic": "' + b"x" * 201 + b'"}', "application/json", "Validation Failed."),
        (b'{"settings": {"host_video": "yes"}}', "application/json", "Validation Failed."),
        (b'{"topic": "a\\u0000b"}', "application/json", "Validation Failed."),
    ],
)
def test_bad_bodies_get_code_300(api: Api, content: bytes, content_type: str, message: str) -> None:
    before = api.state()
    response = api.post(
        "/v2/users/me/webinars", content=content, headers={"Content-Type": content_type}
    )
    assert_error(response, 400, 300, message)
    if message == "Validation Failed.":
        errors = response.json()["errors"]
        assert errors and all(set(e) == {"field", "message"} for e in errors)
    assert api.state() == before


def test_validation_names_nested_fields(api: Api) -> None:
    response = api.post(
        "/v2/users/me/webinars", json={"settings": {"approval_type": 7}, "type": "x"}
    )
    assert_error(response, 400, 300, "Validation Failed.")
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"settings.approval_type", "type"}


def test_huge_body_is_refused(api: Api) -> None:
    before = api.state()
    response = api.post(
        "/v2/users/me/webinars",
        content=b'{"agenda": "' + b"x" * (2 << 20) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 413, 300)
    assert api.state() == before
