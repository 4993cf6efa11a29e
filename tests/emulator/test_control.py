"""The control API: seeding, playing the host, reset, state, admin key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from starlette.testclient import TestClient

from tests.conftest import DEMO_WEBINAR, Api, get_token
from tests.support.helpers import basic


def test_build_an_account_from_scratch(make_client: Callable[..., TestClient]) -> None:
    client = make_client(demo=False)
    assert client.get("/_emulator/state").json()["accounts"] == []
    made = client.post("/_emulator/accounts", json={"id": "acme", "plan": "pro"})
    assert made.status_code == 201 and made.json()["id"] == "acme"
    user = client.post("/_emulator/accounts/acme/users", json={"email": "Boss@Acme.test"})
    assert user.status_code == 201 and user.json()["email"] == "boss@acme.test"
    app = client.post("/_emulator/accounts/acme/apps", json={"scopes": ["webinar:write:admin"]})
    creds = app.json()
    assert app.status_code == 201 and creds["client_id"] and creds["client_secret"]
    token = get_token(client, basic(creds["client_id"], creds["client_secret"]), "acme")
    response = client.post(
        "/v2/users/me/webinars", json={"topic": "t"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201, response.text
    state = client.get("/_emulator/state").json()
    assert [w["topic"] for w in state["webinars"]] == ["t"]
    assert "secret_hash" not in str(state) and creds["client_secret"] not in str(state)


def test_control_api_validates_and_conflicts(client: TestClient) -> None:
    before = client.get("/_emulator/state").json()
    for body in ({"plan": "platinum"}, {"id": "bad id!"}, {"users": [{"email": "no-at"}]}, []):
        response = client.post("/_emulator/accounts", json=body)
        assert response.status_code == 400 and response.json()["code"] == 300, response.text
    dup = client.post("/_emulator/accounts", json={"id": "demo-account"})
    assert dup.status_code == 409
    missing = client.post("/_emulator/accounts/nope/users", json={"email": "a@b.c"})
    assert missing.status_code == 404
    partial = client.post(  # the second user clashes: nothing of the account stays
        "/_emulator/accounts",
        json={"id": "x", "users": [{"email": "new@x.test"}, {"email": "host@example.com"}]},
    )
    assert partial.status_code == 409
    after = client.get("/_emulator/state").json()
    before.pop("clock"), after.pop("clock")
    assert after == before


def test_seed_endpoint_takes_yaml(client: TestClient) -> None:
    doc = b"""
accounts:
  - id: yaml-co
    plan: enterprise
    users: [{email: a@yaml.test, first_name: Ada}]
    apps: [{client_id: yc, client_secret: ys}]
    webinars: [{id: 12121212121, host: a@yaml.test, status: started, topic: From YAML}]
"""
    response = client.post(
        "/_emulator/seed", content=doc, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["credentials"] == [
        {"account_id": "yaml-co", "client_id": "yc", "client_secret": "ys"}
    ]
    token = get_token(client, basic("yc", "ys"), "yaml-co")
    got = client.get("/v2/webinars/12121212121", headers={"Authorization": f"Bearer {token}"})
    assert got.json()["topic"] == "From YAML"
    bad = client.post(
        "/_emulator/seed", content=b"accounts: [ {", headers={"Content-Type": "application/yaml"}
    )
    assert bad.status_code == 400 and bad.json()["code"] == 300


def test_reset(api: Api) -> None:
    api.post("/v2/users/me/webinars", json={"topic": "gone after reset"})
    assert api.control("POST", "/reset", json={"demo": False}).json() == {
        "reset": True,
        "demo": False,
    }
    assert api.state()["accounts"] == []
    assert api.control("POST", "/reset", json={"demo": True}).status_code == 200
    state = api.state()
    assert [w["id"] for w in state["webinars"]] == [68423085]
    assert state["webinars"][0]["status"] == "started"


def test_admin_key_guards_the_control_api(make_client: Callable[..., TestClient]) -> None:
    client = make_client(admin_key="sesame")
    assert client.get("/_emulator/state").status_code == 401
    assert client.get("/_emulator/state", headers={"X-Admin-Key": "wrong"}).status_code == 401
    assert client.get("/_emulator/state", headers={"X-Admin-Key": "sesame"}).status_code == 200
    assert client.post("/_emulator/reset", json={}).status_code == 401
    assert client.get("/_emulator/health").status_code == 200
    # Zoom's own paths do not take the admin key: they take tokens.
    assert client.get("/v2/users/me").json()["code"] == 124


def test_event_feed_takes_the_admin_key_in_the_query(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(admin_key="sesame")
    assert client.get("/_emulator/events").status_code == 401
    assert client.get("/_emulator/events?admin_key=wrong").status_code == 401


def test_every_list_is_paged_and_the_stream_log_stays_bounded(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    """A stream started and stopped many times: its log is read page by page (oldest first),
    the store keeps only the newest changes (``history_events``), and a bad page size is
    Zoom's 300 with nothing changed."""
    client = make_client(db=str(tmp_path / "paged.db"), history_events=30)
    client.app.state.env.store.journal.history.every = 20  # type: ignore[attr-defined]
    auth = {"Authorization": f"Bearer {get_token(client)}"}
    status = f"/v2/webinars/{DEMO_WEBINAR}/livestream/status"
    for _ in range(60):  # fake media: start = starting + live, stop = stopped
        assert client.patch(status, json={"action": "start"}, headers=auth).status_code == 204
        assert client.patch(status, json={"action": "stop"}, headers=auth).status_code == 204
    view = f"/_emulator/webinars/{DEMO_WEBINAR}/livestream"
    seen: list[dict[str, object]] = []
    token = ""
    while True:
        page = client.get(view, params={"page_size": 7, "next_page_token": token}).json()
        assert len(page["events"]) <= 7
        seen += page["events"]
        token = page["next_page_token"]
        if not token:
            break
    ids = [e["id"] for e in seen]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert 30 <= len(seen) <= 30 + 20  # bounded: 180 changes were made
    assert seen[-1]["to"] == "stopped"
    for bad in ("0", "1001", "x"):
        refused = client.get(view, params={"page_size": bad})
        assert refused.status_code == 400 and refused.json()["code"] == 300
    for n in range(3):
        assert client.post("/_emulator/accounts", json={"id": f"co{n}"}).status_code == 201
    first = client.get("/_emulator/accounts", params={"page_size": 2})
    assert len(first.json()) == 2 and first.headers.get("x-next-page-token")
    rest = client.get(
        "/_emulator/accounts",
        params={"page_size": 1000, "next_page_token": first.headers["x-next-page-token"]},
    )
    whole = client.get("/_emulator/accounts").json()
    assert len(whole) == 4
    assert first.json() + rest.json() == whole and "x-next-page-token" not in rest.headers
