"""Webinar panelists (add, list, remove one or all) and a meeting's invitation text, in
process and over a real socket; bad input gets Zoom's error and changes nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import Api
from tests.support.helpers import assert_error


def webinar(api: Api, **body: Any) -> int:
    made = api.post("/v2/users/me/webinars", json={"topic": "Panel talk", **body})
    assert made.status_code == 201, made.text
    wid: int = made.json()["id"]
    return wid


def panelists(api: Api, wid: int) -> dict[str, Any]:
    page = api.get(f"/v2/webinars/{wid}/panelists")
    assert page.status_code == 200, page.text
    data: dict[str, Any] = page.json()
    return data


def test_add_list_and_remove(api: Api) -> None:
    wid = webinar(api)
    assert panelists(api, wid) == {"total_records": 0, "panelists": []}
    body = {
        "panelists": [
            {"email": "ana@example.org", "name": "Ana", "name_tag_pronouns": "she/her"},
            {"email": "bo@example.org", "name": "Bo"},
        ]
    }
    added = api.post(f"/v2/webinars/{wid}/panelists", json=body)
    assert added.status_code == 201, added.text
    assert added.json()["id"] == str(wid) and added.json()["updated_at"].endswith("Z")
    page = panelists(api, wid)
    assert page["total_records"] == 2
    ana, bo = page["panelists"]
    assert (ana["email"], ana["name"], ana["name_tag_pronouns"]) == (
        "ana@example.org",
        "Ana",
        "she/her",
    )
    assert bo["name_tag_pronouns"] == "" and bo["virtual_background_id"] == ""
    webinar_url = api.get(f"/v2/webinars/{wid}").json()["join_url"]
    assert ana["join_url"].startswith(f"{webinar_url}?tk=")
    assert ana["id"] != bo["id"] and ana["join_url"] != bo["join_url"]
    # the same email again: renamed, not added twice
    again = {"panelists": [{"email": "ANA@example.org", "name": "Ana Lima"}]}
    assert api.post(f"/v2/webinars/{wid}/panelists", json=again).status_code == 201
    page = panelists(api, wid)
    assert page["total_records"] == 2 and page["panelists"][0]["name"] == "Ana Lima"
    assert page["panelists"][0]["id"] == ana["id"]
    # remove one, then all
    assert api.delete(f"/v2/webinars/{wid}/panelists/{ana['id']}").status_code == 204
    assert [p["id"] for p in panelists(api, wid)["panelists"]] == [bo["id"]]
    assert_error(
        api.delete(f"/v2/webinars/{wid}/panelists/{ana['id']}"),
        404,
        3001,
        f"Panelist does not exist: {ana['id']}.",
    )
    api.post(f"/v2/webinars/{wid}/panelists", json=body)
    assert panelists(api, wid)["total_records"] == 2
    assert api.delete(f"/v2/webinars/{wid}/panelists").status_code == 204
    assert panelists(api, wid) == {"total_records": 0, "panelists": []}


def test_limits_and_bad_bodies_change_nothing(api: Api) -> None:
    wid = webinar(api)
    first = [{"email": f"p{i}@example.org", "name": f"P{i}"} for i in range(30)]
    assert api.post(f"/v2/webinars/{wid}/panelists", json={"panelists": first}).status_code == 201
    before = panelists(api, wid)
    url = f"/v2/webinars/{wid}/panelists"
    too_many = [{"email": f"q{i}@example.org", "name": "Q"} for i in range(31)]
    for body in (
        {"panelists": too_many},
        {"panelists": []},
        {},
        {"panelists": [{"name": "No email"}]},
        {"panelists": [{"email": "x@example.org"}]},
        {"panelists": [{"email": "not-an-email", "name": "X"}]},
        {"panelists": "everyone"},
    ):
        assert_error(api.post(url, json=body), 400, 300, "Validation Failed.")
    assert panelists(api, wid) == before
    # 30 + 30 + 30 = 90, then 11 more would pass Zoom's 100
    for batch in range(2):
        more = [{"email": f"b{batch}-{i}@example.org", "name": "B"} for i in range(30)]
        assert api.post(url, json={"panelists": more}).status_code == 201
    full = panelists(api, wid)
    assert full["total_records"] == 90
    over = [{"email": f"o{i}@example.org", "name": "O"} for i in range(11)]
    assert_error(
        api.post(url, json={"panelists": over}),
        400,
        3000,
        "You have reached the limit for the number of panelists you can add. Contact Zoom "
        "Support for more information.",
    )
    assert panelists(api, wid) == full
    assert api.post(url, json={"panelists": over[:10]}).status_code == 201
    assert panelists(api, wid)["total_records"] == 100


def test_unknown_webinars_and_plans(api: Api) -> None:
    assert_error(
        api.get("/v2/webinars/12345678901/panelists"),
        404,
        3001,
        "Webinar does not exist: 12345678901.",
    )
    assert_error(api.delete("/v2/webinars/12345678901/panelists"), 404, 3001)
    assert_error(api.get("/v2/webinars/abc/panelists"), 400, 300, "Invalid webinar ID.")
    wid = webinar(api)
    api.control("PATCH", "/accounts/demo-account", json={"webinar_addon": False})
    assert_error(api.get(f"/v2/webinars/{wid}/panelists"), 400, 200)


def test_deleting_the_webinar_deletes_its_panelists(api: Api) -> None:
    wid = webinar(api)
    other = webinar(api)
    body = {"panelists": [{"email": "ana@example.org", "name": "Ana"}]}
    api.post(f"/v2/webinars/{wid}/panelists", json=body)
    api.post(f"/v2/webinars/{other}/panelists", json=body)
    assert api.delete(f"/v2/webinars/{wid}").status_code == 204
    assert_error(api.get(f"/v2/webinars/{wid}/panelists"), 404, 3001)
    assert panelists(api, other)["total_records"] == 1


# invitations -----------------------------------------------------------------------------------


def test_meeting_invitation_names_topic_and_join_url(api: Api) -> None:
    made = api.post(
        "/v2/users/me/meetings",
        json={"topic": "Café ✓ planning", "start_time": "2031-01-02T10:30:00Z", "password": "pw12"},
    ).json()
    answer = api.get(f"/v2/meetings/{made['id']}/invitation")
    assert answer.status_code == 200, answer.text
    text = answer.json()["invitation"]
    assert "Demo Host is inviting you to a scheduled Zoom meeting." in text
    assert "Topic: Café ✓ planning" in text
    assert made["join_url"] in text
    digits = str(made["id"])
    assert f"Meeting ID: {digits[:3]} {digits[3:7]} {digits[7:]}" in text
    assert "Passcode: pw12" in text and "Time: Jan 02, 2031 10:30 AM" in text
    assert answer.json()["sip_links"] == [f"{made['id']}@zoomcrc.com"]
    # the invitation follows the stored meeting
    api.patch(f"/v2/meetings/{made['id']}", json={"topic": "Renamed"})
    assert "Topic: Renamed" in api.get(f"/v2/meetings/{made['id']}/invitation").json()["invitation"]
    assert_error(
        api.get("/v2/meetings/12345678901/invitation"),
        404,
        3001,
        "Meeting does not exist: 12345678901.",
    )


# invite links ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["webinar", "meeting"])
def test_invite_links(api: Api, kind: str) -> None:
    made = api.post(f"/v2/users/me/{kind}s", json={"topic": "Invited"}).json()
    url = f"/v2/{kind}s/{made['id']}/invite_links"
    body = {"attendees": [{"name": "Ana"}, {"name": "Bo", "disable_video": True}], "ttl": 600}
    answer = api.post(url, json=body)
    assert answer.status_code == 201, answer.text
    ana, bo = answer.json()["attendees"]
    assert (ana["name"], bo["name"]) == ("Ana", "Bo")
    assert (
        ana["join_url"].startswith(f"{made['join_url']}?tk=") and ana["join_url"] != bo["join_url"]
    )
    for bad in (
        {"attendees": []},
        {},
        {"attendees": [{"name": "x" * 65}]},
        {"attendees": [{"name": "A"}], "ttl": 7_776_001},
        {"attendees": [{"name": "A"}], "ttl": -1},
    ):
        assert_error(api.post(url, json=bad), 400, 300, "Validation Failed.")
    assert_error(api.post(f"/v2/{kind}s/12345678901/invite_links", json=body), 404, 3001)


def test_invite_links_and_panelists_are_stored_and_go_with_their_session(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    db = tmp_path / "z.db"
    api = Api(make_client(db=str(db)), "inprocess")
    mid = api.post("/v2/users/me/meetings", json={"topic": "Kept"}).json()["id"]
    wid = webinar(api)
    body = {"attendees": [{"name": "Ana"}], "ttl": 60}
    answer = api.post(f"/v2/meetings/{mid}/invite_links", json=body).json()
    token = answer["attendees"][0]["join_url"].split("tk=")[1]
    panel = {"panelists": [{"email": "ana@example.org", "name": "Ana"}]}
    assert api.post(f"/v2/webinars/{wid}/panelists", json=panel).status_code == 201

    def stored() -> tuple[list[Any], list[Any]]:
        with sqlite3.connect(db) as raw:
            links = raw.execute("SELECT token, session_id, name FROM meeting_invite_links")
            people = raw.execute("SELECT session_id, email FROM webinar_panelists")
            return links.fetchall(), people.fetchall()

    assert stored() == ([(token, mid, "Ana")], [(wid, "ana@example.org")])
    assert api.delete(f"/v2/meetings/{mid}").status_code == 204
    assert api.delete(f"/v2/webinars/{wid}").status_code == 204
    assert stored() == ([], [])
