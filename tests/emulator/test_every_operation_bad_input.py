"""Bad input on every operation of Zoom's Meetings and Users documents, stateful or spec tier:
a malformed body and an unknown meeting, webinar or user each get Zoom's error, never a 5xx
nor a 2xx, and change nothing (the store's whole state, spec-tier memory included)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import DEMO_WEBINAR, get_token
from tests.support.docrequests import doc_requests
from zoomlive.api import zoomdoc

OPERATIONS = list(zoomdoc.operations())
WITH_BODY = [
    op
    for op in OPERATIONS
    if "application/json" in op.spec.get("requestBody", {}).get("content", {})
]
NAMING = {"meetingId": 3001, "webinarId": 3001, "userId": 1001}
WITH_OBJECT = [op for op in OPERATIONS if NAMING.keys() & set(re.findall(r"{(\w+)}", op.path))]
VALID = {r.operation_id: r for r in doc_requests()}
"""A body and query each operation's document accepts: only the id is wrong below."""
UNKNOWN = {"meetingId": "12345678901", "webinarId": "12345678901", "userId": "nobody@example.com"}


def _state(client: TestClient) -> Any:
    everything = client.get("/_emulator/state").json()
    everything.pop("clock", None)
    with client.app.state.env.store.read() as tx:  # type: ignore[attr-defined]
        spec = sorted((r.path, r.deleted, str(r.body)) for r in tx.select("spec_resources"))
    return everything, spec


def _path(op: zoomdoc.DocOperation, ids: dict[str, str]) -> str:
    return "/v2" + re.sub(r"{(\w+)}", lambda m: ids.get(m.group(1), f"{m.group(1)}1"), op.path)


@pytest.fixture(scope="module")
def emulator() -> Any:
    from zoomlive.emulator import Settings, create_app

    settings = Settings(db=":memory:", seed=1, media="fake", rate_limits="off")
    with TestClient(create_app(settings)) as client:
        token = get_token(client)
        client.headers["Authorization"] = f"Bearer {token}"
        made = client.post("/v2/users/me/meetings", json={"topic": "Bad input"})
        assert made.status_code == 201, made.text
        ids = {
            "meetingId": str(made.json()["id"]),
            "meetingUUID": made.json()["uuid"],
            "webinarId": str(DEMO_WEBINAR),
            "userId": "me",
            "tspId": "1",
        }
        yield client, ids


@pytest.mark.parametrize("op", WITH_BODY, ids=lambda op: op.operation_id)
def test_a_malformed_body_is_zooms_300_and_changes_nothing(
    emulator: tuple[TestClient, dict[str, str]], op: zoomdoc.DocOperation
) -> None:
    client, ids = emulator
    before = _state(client)
    answer = client.request(
        op.method,
        _path(op, ids),
        content=b'{"topic": "unterminated',
        headers={"Content-Type": "application/json"},
    )
    assert (answer.status_code, answer.json()["code"]) == (400, 300), answer.text
    assert _state(client) == before


@pytest.mark.parametrize("op", WITH_OBJECT, ids=lambda op: op.operation_id)
def test_an_unknown_meeting_webinar_or_user_is_zooms_not_found_and_changes_nothing(
    emulator: tuple[TestClient, dict[str, str]], op: zoomdoc.DocOperation
) -> None:
    client, ids = emulator
    named = [name for name in re.findall(r"{(\w+)}", op.path) if name in NAMING]
    before = _state(client)
    valid = VALID[op.operation_id]
    content = op.spec.get("requestBody", {}).get("content", {})
    form = content.get("multipart/form-data", {}).get("schema", {}).get("properties", {})
    uploads = [n for n, f in form.items() if f.get("format") == "binary"] or list(form)[:1]
    sent: dict[str, Any] = (
        {"files": {name: ("picture.png", b"\x89PNG\r\n", "image/png") for name in uploads}}
        if "multipart/form-data" in content
        else {"json": valid.body}
    )
    answer = client.request(
        op.method,
        _path(op, {**ids, **{n: UNKNOWN[n] for n in named}}),
        params=valid.query,
        **sent,
    )
    assert _state(client) == before
    # Zoom's "does not exist" for the object named (3001 meetings and webinars, 1001 users),
    # as 404, or as 400 where Zoom's document answers so (the live-stream calls)
    assert answer.status_code in (400, 404), answer.text
    assert answer.json()["code"] in {NAMING[n] for n in named}, answer.text
