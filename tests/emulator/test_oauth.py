"""Server-to-Server OAuth at /oauth/token, and bearer tokens on /v2."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.conftest import DEMO_BASIC, Api, get_token
from tests.support.helpers import basic


def token_call(client: TestClient, **kwargs: object) -> tuple[int, dict[str, object]]:
    response = client.post("/oauth/token", **kwargs)  # type: ignore[arg-type]
    assert "x-zm-trackingid" in response.headers
    return response.status_code, response.json()


def test_token_response_has_zooms_fields(api: Api) -> None:
    response = api.client.post(
        "/oauth/token?grant_type=account_credentials&account_id=demo-account",
        headers={"Authorization": DEMO_BASIC},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3599
    assert "webinar:write:admin" in body["scope"].split(" ")
    assert body["api_url"].startswith("http://127.0.0.1:")
    assert len(body["access_token"]) >= 40
    assert (
        api.client.get(
            "/v2/users/me", headers={"Authorization": f"Bearer {body['access_token']}"}
        ).status_code
        == 200
    )


def test_form_body_works_like_query_string(client: TestClient) -> None:
    status, body = token_call(
        client,
        data={"grant_type": "account_credentials", "account_id": "demo-account"},
        headers={"Authorization": DEMO_BASIC},
    )
    assert status == 200 and body["token_type"] == "bearer"


@pytest.mark.parametrize(
    ("auth", "params", "status", "code"),
    [
        (None, {"grant_type": "account_credentials", "account_id": "demo-account"}, 400, 4706),
        (
            basic("nobody", "x"),
            {"grant_type": "account_credentials", "account_id": "demo-account"},
            401,
            4702,
        ),
        (
            basic("demo-client-id", "wrong"),
            {"grant_type": "account_credentials", "account_id": "demo-account"},
            401,
            4704,
        ),
        (DEMO_BASIC, {"account_id": "demo-account"}, 400, 4706),
        (DEMO_BASIC, {"grant_type": "client_credentials", "account_id": "demo-account"}, 400, 4705),
        (DEMO_BASIC, {"grant_type": "account_credentials"}, 400, 4706),
        (DEMO_BASIC, {"grant_type": "account_credentials", "account_id": "other"}, 400, 4735),
        ("Basic !!!not-base64", {"grant_type": "account_credentials"}, 401, 4702),
        ("Bearer abc", {"grant_type": "account_credentials"}, 400, 4706),
        ("Basic ZGVtbwBpZDpzZWNyZXQ=", {"grant_type": "account_credentials"}, 401, 4702),
    ],
)
def test_oauth_errors(
    client: TestClient, auth: str | None, params: dict[str, str], status: int, code: int
) -> None:
    headers = {"Authorization": auth} if auth else {}
    before = client.get("/_emulator/state").json()["tokens"]
    got_status, body = token_call(client, params=params, headers=headers)
    assert (got_status, body["code"]) == (status, code)
    assert isinstance(body["message"], str) and body["message"]
    assert client.get("/_emulator/state").json()["tokens"] == before


def test_disabled_app_gets_no_token_and_its_tokens_stop_working(client: TestClient) -> None:
    token = get_token(client)
    assert (
        client.patch("/_emulator/apps/demo-client-id", json={"enabled": False}).status_code == 204
    )
    status, body = token_call(
        client,
        params={"grant_type": "account_credentials", "account_id": "demo-account"},
        headers={"Authorization": DEMO_BASIC},
    )
    assert (status, body["code"]) == (400, 4717)
    response = client.get("/v2/users/me", headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, response.json()["code"]) == (401, 124)


def test_tokens_expire(make_client: Callable[..., TestClient]) -> None:
    client = make_client(token_ttl=60)
    token = get_token(client)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v2/users/me", headers=headers).status_code == 200
    assert client.post("/_emulator/clock", json={"advance_seconds": 61}).status_code == 200
    response = client.get("/v2/users/me", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"code": 124, "message": "Access token is expired."}


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer not-a-token", "Basic abc", "bearer " + "x" * 5000],
)
def test_missing_or_unknown_token_is_401_code_124(api: Api, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = api.client.get("/v2/webinars/68423085", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"code": 124, "message": "Invalid access token."}
    assert response.headers["x-zm-trackingid"]


def test_token_without_scope_gets_4711(client: TestClient) -> None:
    created = client.post(
        "/_emulator/accounts/demo-account/apps",
        json={"client_id": "reader", "client_secret": "s3cret", "scopes": ["user:read:admin"]},
    )
    assert created.status_code == 201
    token = get_token(client, basic("reader", "s3cret"))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v2/users/me", headers=headers).status_code == 200
    response = client.get("/v2/webinars/68423085", headers=headers)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 4711
    assert body["message"].startswith("Invalid access token, does not contain scopes:[")
    assert "webinar:read:webinar" in body["message"]


def test_granular_scope_alone_is_enough(client: TestClient) -> None:
    client.post(
        "/_emulator/accounts/demo-account/apps",
        json={"client_id": "granular", "client_secret": "pw", "scopes": ["webinar:read:webinar"]},
    )
    token = get_token(client, basic("granular", "pw"))
    response = client.get("/v2/webinars/68423085", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_secrets_and_tokens_are_stored_hashed(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    db = tmp_path / "z.db"
    client = make_client(db=str(db))
    token = get_token(client)
    raw = b""
    for path in tmp_path.iterdir():
        raw += path.read_bytes()
    assert token.encode() not in raw
    assert b"demo-client-secret" not in raw
    rows = sqlite3.connect(db).execute("SELECT secret_hash FROM apps").fetchall()
    assert rows and all(r[0].startswith("scrypt$") for r in rows)


def test_non_ascii_basic_credentials_are_an_invalid_client(client: TestClient) -> None:
    response = client.post(
        "/oauth/token",
        params={"grant_type": "account_credentials", "account_id": "demo-account"},
        headers={"Authorization": "Basic éééé".encode("latin-1")},  # type: ignore[dict-item]
    )
    assert (response.status_code, response.json()["code"]) == (401, 4702)
