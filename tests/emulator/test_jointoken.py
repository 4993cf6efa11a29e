"""Join tokens of webinars and meetings: Zoom's ``{token, expire_in}``, stored with their expiry;
unknown sessions get 3001; a user whose settings forbid live streaming gets Zoom's 3000."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Api
from tests.support.helpers import assert_error


@pytest.mark.parametrize("kind", ["meeting", "webinar"])
def test_join_tokens_are_stored_and_expire(api: Api, kind: str) -> None:
    sid = api.post(f"/v2/users/me/{kind}s", json={"topic": "Streamed"}).json()["id"]
    got = api.get(f"/v2/{kind}s/{sid}/jointoken/live_streaming")
    assert got.status_code == 200, got.text
    body = got.json()
    assert set(body) == {"token", "expire_in"} and body["expire_in"] == 120
    other = api.get(f"/v2/{kind}s/{sid}/jointoken/live_streaming").json()["token"]
    assert other != body["token"]
    if api.kind == "inprocess":
        from zoomlive.emulator.rules.jointokens import valid

        env = api.client.app.state.env  # type: ignore[attr-defined]
        with env.store.read() as tx:
            assert valid(env, tx, body["token"], kind, sid, "live_streaming")
            assert not valid(env, tx, body["token"], kind, sid, "local_recording")
            assert not valid(env, tx, "made-up", kind, sid, "live_streaming")
        assert api.control("POST", "/clock", json={"advance_seconds": 121}).status_code == 200
        with env.store.read() as tx:
            assert not valid(env, tx, body["token"], kind, sid, "live_streaming")


@pytest.mark.parametrize("kind", ["meeting", "webinar"])
def test_unknown_sessions_and_bad_ids(api: Api, kind: str) -> None:
    before = api.state()
    noun = kind.capitalize()
    assert_error(
        api.get(f"/v2/{kind}s/12345678901/jointoken/live_streaming"),
        404,
        3001,
        f"{noun} does not exist: 12345678901.",
    )
    assert_error(api.get(f"/v2/{kind}s/abc/jointoken/live_streaming"), 400, 300)
    assert api.state() == before


def test_local_recording_and_archiving_tokens(api: Api) -> None:
    mid = api.post("/v2/users/me/meetings", json={"topic": "Kept"}).json()["id"]
    wid = api.post("/v2/users/me/webinars", json={"topic": "Kept"}).json()["id"]
    for path in (
        f"/v2/meetings/{mid}/jointoken/local_recording",
        f"/v2/meetings/{mid}/jointoken/local_archiving",
        f"/v2/webinars/{wid}/jointoken/local_recording",
        f"/v2/webinars/{wid}/jointoken/local_archiving",
    ):
        got = api.get(path)
        assert got.status_code == 200, (path, got.text)
        assert got.json()["expire_in"] == 120 and got.json()["token"]
    # the live-streaming setting gates only the live-streaming token
    off = {"in_meeting": {"allow_live_streaming": False}}
    assert api.patch("/v2/users/me/settings", json=off).status_code == 204
    assert api.get(f"/v2/meetings/{mid}/jointoken/local_recording").status_code == 200
    refused = api.get(f"/v2/meetings/{mid}/jointoken/live_streaming")
    assert_error(refused, 400, 3000)
    assert "Allow livestreaming of meetings" in refused.json()["message"]


def test_tokens_are_in_the_store(make_client: Any, tmp_path: Path) -> None:
    db = str(tmp_path / "z.db")
    api = Api(make_client(db=db), "inprocess")
    mid = api.post("/v2/users/me/meetings", json={"topic": "Kept"}).json()["id"]
    token = api.get(f"/v2/meetings/{mid}/jointoken/live_streaming").json()["token"]
    api.client.__exit__(None, None, None)
    with sqlite3.connect(db) as raw:
        rows = raw.execute("SELECT token, kind, session_id, purpose FROM join_tokens").fetchall()
    assert rows == [(token, "meeting", mid, "live_streaming")]


def test_expired_tokens_are_dropped_and_reset_clears_them(client: Any) -> None:
    api = Api(client, "inprocess")
    mid = api.post("/v2/users/me/meetings", json={"topic": "Short"}).json()["id"]
    api.get(f"/v2/meetings/{mid}/jointoken/live_streaming")
    assert api.delete(f"/v2/meetings/{mid}").status_code == 204
    env = client.app.state.env  # type: ignore[attr-defined]
    with env.store.read() as tx:
        assert len(tx.select("join_tokens")) == 1
    api.control("POST", "/clock", json={"advance_seconds": 121})
    other = api.post("/v2/users/me/meetings", json={"topic": "Next"}).json()["id"]
    fresh = api.get(f"/v2/meetings/{other}/jointoken/live_streaming").json()["token"]
    with env.store.read() as tx:
        assert [t.token for t in tx.select("join_tokens")] == [fresh]
    assert api.control("POST", "/reset", json={"demo": True}).status_code == 200
    with env.store.read() as tx:
        assert tx.select("join_tokens") == []
