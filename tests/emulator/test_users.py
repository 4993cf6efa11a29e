"""Users: list, create, get, update, delete and token, in process and over a real socket; every
documented field of ``GET /users/{userId}``; bad input gets Zoom's error and changes nothing."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.conftest import Api, get_token
from tests.support.docfields import response_schema, walk
from tests.support.helpers import assert_error, basic


def test_get_user_carries_every_documented_field(api: Api) -> None:
    me = api.get("/v2/users/me")
    assert me.status_code == 200, me.text
    body = me.json()
    found = walk(body, response_schema("user", "users"))
    assert len(found.documented) > 40
    assert found.share >= 0.95, found.missing
    assert body["role_name"] == "Owner" and body["role_id"] == "0"
    assert body["personal_meeting_url"].endswith(f"/j/{body['pmi']}")
    assert 1_000_000_000 <= body["pmi"] <= 9_999_999_999
    assert body["status"] == "active" and body["verified"] == 1
    assert api.get(f"/v2/users/{body['id']}").json() == body
    assert api.get(f"/v2/users/{body['email'].upper()}").json()["id"] == body["id"]


def test_create_list_get_update_delete(api: Api) -> None:
    before = api.get("/v2/users").json()
    assert before["total_records"] == 1 and before["users"][0]["role_name"] == "Owner"
    made = api.post(
        "/v2/users",
        json={
            "action": "custCreate",
            "user_info": {"email": "Ana@Example.org", "type": 1, "first_name": "Ana"},
        },
    )
    assert made.status_code == 201, made.text
    ana = made.json()
    assert ana == {
        "id": ana["id"],
        "first_name": "Ana",
        "last_name": "",
        "email": "ana@example.org",
        "type": 1,
    }
    invited = api.post(
        "/v2/users", json={"action": "create", "user_info": {"email": "bo@example.org"}}
    )
    assert invited.status_code == 201
    listed = api.get("/v2/users", params={"page_size": 1}).json()
    assert listed["total_records"] == 2 and len(listed["users"]) == 1
    rest = api.get("/v2/users", params={"next_page_token": listed["next_page_token"]}).json()
    assert [u["email"] for u in listed["users"] + rest["users"]][1] == "ana@example.org"
    pending = api.get("/v2/users", params={"status": "pending"}).json()["users"]
    assert [u["email"] for u in pending] == ["bo@example.org"]
    members = api.get("/v2/users", params={"role_id": "2"}).json()["users"]
    assert [u["email"] for u in members] == ["ana@example.org"]

    changed = api.patch(
        f"/v2/users/{ana['id']}",
        json={"last_name": "Lima", "dept": "Live", "language": "pt-BR", "pmi": 3456789012},
    )
    assert changed.status_code == 204, changed.text
    got = api.get("/v2/users/ana@example.org").json()
    assert (got["last_name"], got["dept"], got["language"], got["pmi"]) == (
        "Lima",
        "Live",
        "pt-BR",
        3456789012,
    )
    assert got["personal_meeting_url"].endswith("/j/3456789012") and got["role_name"] == "Member"

    assert api.delete(f"/v2/users/{ana['id']}", params={"action": "delete"}).status_code == 204
    assert_error(api.get(f"/v2/users/{ana['id']}"), 404, 1001)
    assert_error(api.delete(f"/v2/users/{ana['id']}"), 404, 1001)


def test_a_user_deleted_with_transfer_hands_over_their_meetings(api: Api) -> None:
    made = api.post(
        "/v2/users", json={"action": "autoCreate", "user_info": {"email": "cy@example.org"}}
    )
    cy = made.json()["id"]
    meeting = api.post(f"/v2/users/{cy}/meetings", json={"topic": "Cy's"}).json()["id"]
    gone = api.delete(
        f"/v2/users/{cy}",
        params={"transfer_email": "host@example.com", "transfer_meeting": "true"},
    )
    assert gone.status_code == 204, gone.text
    me = api.get("/v2/users/me").json()["id"]
    assert api.get(f"/v2/meetings/{meeting}").json()["host_id"] == me


def test_bad_input_and_unknown_users_change_nothing(api: Api) -> None:
    before = api.state()
    assert_error(
        api.post(
            "/v2/users", json={"action": "create", "user_info": {"email": "host@example.com"}}
        ),
        409,
        1005,
        'Email "host@example.com" has already been used.',
    )
    assert_error(api.post("/v2/users", json={"action": "make", "user_info": {}}), 400, 300)
    assert_error(api.post("/v2/users", json={"action": "create"}), 400, 300)
    assert_error(api.patch("/v2/users/me", json={"type": "licensed"}), 400, 300)
    assert_error(api.patch("/v2/users/nobody", json={"dept": "x"}), 404, 1001)
    assert_error(api.get("/v2/users/nobody@example.org"), 404, 1001)
    assert_error(api.get("/v2/users", params={"status": "gone"}), 400, 300)
    assert_error(api.delete("/v2/users/me"), 400, 1117)
    assert_error(api.get("/v2/users/nobody/token"), 404, 1001)
    assert api.state() == before


def test_user_token(api: Api) -> None:
    zak = api.get("/v2/users/me/token", params={"type": "zak"})
    assert zak.status_code == 200 and set(zak.json()) == {"token"}
    again = api.get("/v2/users/me/token", params={"type": "zak"}).json()["token"]
    assert len(zak.json()["token"]) > 20 and again != zak.json()["token"]
    assert api.get("/v2/users/me/token").json()["token"]
    assert_error(api.get("/v2/users/me/token", params={"type": "jwt"}), 400, 300)


def test_scopes(client: TestClient) -> None:
    created = client.post(
        "/_emulator/accounts/demo-account/apps",
        json={"client_id": "reader", "client_secret": "s3cret", "scopes": ["user:read:admin"]},
    )
    assert created.status_code == 201
    headers = {"Authorization": f"Bearer {get_token(client, basic('reader', 's3cret'))}"}
    assert client.get("/v2/users", headers=headers).status_code == 200
    refused = client.post(
        "/v2/users",
        json={"action": "create", "user_info": {"email": "x@example.org"}},
        headers=headers,
    )
    assert_error(refused, 400, 4711)
    assert_error(client.patch("/v2/users/me/settings", json={}, headers=headers), 400, 4711)
    assert client.get("/v2/users", headers=headers).json()["total_records"] == 1
