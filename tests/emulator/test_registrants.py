"""Registrants of webinars and meetings: register, list by status and page, get, approve, deny,
cancel, delete, the registration questions, the webhooks they send; bad input gets Zoom's
error and changes nothing; a deleted session takes its registrants with it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.conftest import Api, Server, get_token
from tests.support.helpers import SECRET, WebhookReceiver, assert_error, basic
from zoomlive.emulator import webhooks
from zoomlive.emulator.rules import registrants as rules
from zoomlive.emulator.webhook_payloads import CONDITIONAL, payload_schema, resolved

PEOPLE = [
    {"email": f"person{i}@example.org", "first_name": f"Person{i}", "last_name": "Doe"}
    for i in range(7)
]


def session(api: Api, kind: str, approval_type: int = 1, **fields: Any) -> dict[str, Any]:
    body = {"topic": f"Launch {kind}", "settings": {"approval_type": approval_type}, **fields}
    made = api.post(f"/v2/users/me/{kind}s", json=body)
    assert made.status_code == 201, made.text
    data: dict[str, Any] = made.json()
    return data


def register(api: Api, kind: str, sid: int, person: dict[str, Any]) -> dict[str, Any]:
    made = api.post(f"/v2/{kind}s/{sid}/registrants", json=person)
    assert made.status_code == 201, made.text
    data: dict[str, Any] = made.json()
    return data


def listed(api: Api, kind: str, sid: int, status: str | None = None) -> list[dict[str, Any]]:
    params = {"status": status} if status else {}
    page = api.get(f"/v2/{kind}s/{sid}/registrants", params=params)
    assert page.status_code == 200, page.text
    out: list[dict[str, Any]] = page.json()["registrants"]
    return out


def rows(api: Api, kind: str, *sids: int) -> list[Any]:
    """What the emulator holds (its state, these sessions' registrants in every status and
    their questions where registration is on), for before/after comparisons."""
    out: list[Any] = [api.state()]
    for sid in sids:
        out += [listed(api, kind, sid, status) for status in ("pending", "approved", "denied")]
        out.append(api.get(f"/v2/{kind}s/{sid}/registrants/questions").json())
    return out


@pytest.mark.parametrize("kind", ["webinar", "meeting"])
def test_manual_approval_flow(api: Api, kind: str) -> None:
    made = session(api, kind, approval_type=1, start_time="2031-03-04T15:00:00Z")
    sid = made["id"]
    person = {
        **PEOPLE[0],
        "city": "Lyon",
        "org": "Acme",
        "no_of_employees": "1-20",
        "custom_questions": [{"title": "Why?", "value": "To learn"}],
    }
    created = register(api, kind, sid, person)
    assert created["id"] == sid and created["topic"] == f"Launch {kind}"
    assert created["start_time"] == "2031-03-04T15:00:00Z"
    rid = created["registrant_id"]
    assert created["join_url"].startswith(f"{made['join_url']}?tk=")
    assert ("participant_pin_code" in created) == (kind == "meeting")
    # pending, not approved, until the host approves
    assert listed(api, kind, sid) == []
    [pending] = listed(api, kind, sid, "pending")
    assert pending["id"] == rid and pending["status"] == "pending"
    assert pending["city"] == "Lyon" and pending["org"] == "Acme" and pending["address"] == ""
    assert pending["custom_questions"] == [{"title": "Why?", "value": "To learn"}]
    assert pending["create_time"].endswith("Z")
    body = {"action": "approve", "registrants": [{"id": rid}]}
    assert api.put(f"/v2/{kind}s/{sid}/registrants/status", json=body).status_code == 204
    [approved] = listed(api, kind, sid)
    assert approved["status"] == "approved" and approved["join_url"] == created["join_url"]
    got = api.get(f"/v2/{kind}s/{sid}/registrants/{rid}").json()
    assert got == approved
    # cancel moves an approved registration to denied; approve brings it back
    body = {"action": "cancel", "registrants": [{"email": person["email"]}]}
    assert api.put(f"/v2/{kind}s/{sid}/registrants/status", json=body).status_code == 204
    assert [r["id"] for r in listed(api, kind, sid, "denied")] == [rid]
    second = register(api, kind, sid, PEOPLE[1])
    body = {"action": "deny", "registrants": [{"id": second["registrant_id"]}]}
    assert api.put(f"/v2/{kind}s/{sid}/registrants/status", json=body).status_code == 204
    assert len(listed(api, kind, sid, "denied")) == 2
    # delete one
    assert api.delete(f"/v2/{kind}s/{sid}/registrants/{rid}").status_code == 204
    assert_error(
        api.get(f"/v2/{kind}s/{sid}/registrants/{rid}"),
        400,
        3079,
        f"This registrant does not exist: {rid}.",
    )
    assert_error(
        api.delete(f"/v2/{kind}s/{sid}/registrants/{rid}"),
        400,
        3000,
        f"Registrant {rid} was not found.",
    )


@pytest.mark.parametrize("kind", ["webinar", "meeting"])
def test_automatic_approval_and_the_same_email_twice(api: Api, kind: str) -> None:
    sid = session(api, kind, approval_type=0)["id"]
    first = register(api, kind, sid, PEOPLE[2])
    [approved] = listed(api, kind, sid)
    assert approved["id"] == first["registrant_id"] and approved["status"] == "approved"
    again = register(api, kind, sid, {**PEOPLE[2], "email": PEOPLE[2]["email"].upper()})
    assert again["registrant_id"] == first["registrant_id"]
    assert len(listed(api, kind, sid)) == 1


def test_a_meeting_registrant_can_ask_to_be_approved_at_once(api: Api) -> None:
    sid = session(api, "meeting", approval_type=1)["id"]
    register(api, "meeting", sid, {**PEOPLE[3], "auto_approve": True})
    assert [r["email"] for r in listed(api, "meeting", sid)] == [PEOPLE[3]["email"]]


def test_paging(api: Api) -> None:
    sid = session(api, "webinar", approval_type=0)["id"]
    made = [register(api, "webinar", sid, p)["registrant_id"] for p in PEOPLE]
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        params: dict[str, Any] = {"page_size": 3}
        if token:
            params["next_page_token"] = token
        page = api.get(f"/v2/webinars/{sid}/registrants", params=params).json()
        assert page["total_records"] == 7 and page["page_size"] == 3 and page["page_count"] == 3
        seen += [r["id"] for r in page["registrants"]]
        pages += 1
        token = page["next_page_token"]
        if not token:
            break
    assert pages == 3 and seen == made
    big = api.get(f"/v2/webinars/{sid}/registrants", params={"page_size": 1000}).json()
    assert big["page_size"] == 300 and len(big["registrants"]) == 7


@pytest.mark.parametrize("kind", ["webinar", "meeting"])
def test_questions_round_trip(api: Api, kind: str) -> None:
    sid = session(api, kind)["id"]
    url = f"/v2/{kind}s/{sid}/registrants/questions"
    assert api.get(url).json() == {"questions": [], "custom_questions": []}
    custom_type = "single_radio" if kind == "webinar" else "single"
    form = {
        "questions": [{"field_name": "org", "required": True}],
        "custom_questions": [
            {"title": "Role", "type": custom_type, "required": False, "answers": ["Dev", "Ops"]}
        ],
    }
    assert api.patch(url, json=form).status_code == 204
    assert api.get(url).json() == form
    assert api.patch(url, json={"questions": []}).status_code == 204
    assert api.get(url).json() == {**form, "questions": []}
    before = rows(api, kind, sid)
    assert before[-1] == {**form, "questions": []}
    bad = api.patch(url, json={"questions": [{"field_name": "shoe_size"}]})
    assert_error(bad, 400, 300, "Validation Failed.")
    assert_error(api.patch(url, json={"custom_questions": [{"type": "short"}]}), 400, 300)
    assert rows(api, kind, sid) == before


def test_registration_must_be_on(api: Api) -> None:
    webinar = session(api, "webinar", approval_type=2)["id"]
    meeting = session(api, "meeting", approval_type=2)["id"]
    before = [rows(api, "webinar", webinar), rows(api, "meeting", meeting)]
    assert_error(
        api.post(f"/v2/webinars/{webinar}/registrants", json=PEOPLE[0]),
        400,
        3000,
        f"This webinar does not have registration as required: {webinar}.",
    )
    assert_error(
        api.post(f"/v2/meetings/{meeting}/registrants", json=PEOPLE[0]),
        400,
        300,
        f"Registration has not been enabled for this meeting: {meeting}.",
    )
    assert_error(
        api.get(f"/v2/webinars/{webinar}/registrants/questions"),
        400,
        3000,
        f"Registration has not been enabled for this webinar: {webinar}.",
    )
    assert [rows(api, "webinar", webinar), rows(api, "meeting", meeting)] == before


def test_bad_input_changes_nothing(api: Api) -> None:
    sid = session(api, "webinar")["id"]
    rid = register(api, "webinar", sid, PEOPLE[0])["registrant_id"]
    before = rows(api, "webinar", sid)
    assert [r["id"] for r in before[1]] == [rid]  # pending
    url = f"/v2/webinars/{sid}/registrants"
    for body in (
        {"first_name": "NoEmail"},
        {"email": "x@example.org"},
        {"email": "not-an-email", "first_name": "A"},
        {"email": "a@example.org", "first_name": 5},
        {"email": "a@example.org", "first_name": "A", "no_of_employees": "lots"},
        {"email": "a@example.org", "first_name": "A" * 65},
    ):
        response = api.post(url, json=body)
        assert_error(response, 400, 300, "Validation Failed.")
        assert response.json()["errors"], body
    assert_error(
        api.post(url, content=b"{nope", headers={"content-type": "application/json"}), 400, 300
    )
    status = f"{url}/status"
    assert_error(
        api.put(status, json={"action": "Approve", "registrants": [{"id": rid}]}), 400, 300
    )
    assert_error(api.put(status, json={"registrants": [{"id": rid}]}), 400, 300)
    too_many = [{"id": rid}] * 31
    assert_error(api.put(status, json={"action": "approve", "registrants": too_many}), 400, 300)
    assert_error(api.post(url, json={**PEOPLE[1], "email": "host@example.com"}), 400, 3027)
    assert_error(api.get("/v2/webinars/12345678901/registrants"), 404, 3001)
    assert_error(
        api.post("/v2/meetings/12345678901/registrants", json=PEOPLE[1]),
        404,
        3001,
        "Meeting does not exist: 12345678901.",
    )
    assert_error(api.get("/v2/webinars/abc/registrants"), 400, 300, "Invalid webinar ID.")
    assert_error(api.get(f"{url}?status=cancelled"), 400, 300)
    assert_error(
        api.delete(f"{url}/bad%20id"),
        400,
        300,
        rules.INVALID_REGISTRANT_ID,
    )
    assert rows(api, "webinar", sid) == before
    # a registrant of another webinar is not this one's
    other = session(api, "webinar")["id"]
    assert_error(api.get(f"/v2/webinars/{other}/registrants/{rid}"), 400, 3079)


def test_ended_webinars_take_no_registrations(api: Api) -> None:
    sid = session(api, "webinar")["id"]
    api.control("POST", f"/webinars/{sid}/start")
    assert api.put(f"/v2/webinars/{sid}/status", json={"action": "end"}).status_code == 204
    assert_error(api.post(f"/v2/webinars/{sid}/registrants", json=PEOPLE[0]), 400, 3038)


@pytest.mark.parametrize("kind", ["webinar", "meeting"])
def test_deleting_the_session_deletes_its_registrants(api: Api, kind: str) -> None:
    sid = session(api, kind)["id"]
    keep = session(api, kind)["id"]
    rid = register(api, kind, sid, PEOPLE[0])["registrant_id"]
    kept = register(api, kind, keep, PEOPLE[0])["registrant_id"]
    url = f"/v2/{kind}s/{sid}/registrants/questions"
    assert api.patch(url, json={"questions": [{"field_name": "city"}]}).status_code == 204
    assert api.delete(f"/v2/{kind}s/{sid}").status_code == 204
    assert_error(api.get(f"/v2/{kind}s/{sid}/registrants/{rid}"), 404, 3001)
    assert api.get(f"/v2/{kind}s/{keep}/registrants/{kept}").status_code == 200


def test_registrants_outlive_a_restart_and_the_webinar_delete_cascades_on_disk(
    make_client: Callable[..., TestClient], tmp_path: Any
) -> None:
    db = str(tmp_path / "z.db")
    first = Api(make_client(db=db), "inprocess")
    sid = session(first, "webinar")["id"]
    gone = session(first, "webinar")["id"]
    rid = register(first, "webinar", sid, PEOPLE[0])["registrant_id"]
    register(first, "webinar", gone, PEOPLE[1])
    first.put(
        f"/v2/webinars/{sid}/registrants/status",
        json={"action": "approve", "registrants": [{"id": rid}]},
    )
    assert first.delete(f"/v2/webinars/{gone}").status_code == 204
    first.client.__exit__(None, None, None)
    again = Api(make_client(db=db), "inprocess")
    [approved] = listed(again, "webinar", sid)
    assert approved["id"] == rid and approved["status"] == "approved"
    with sqlite3.connect(db) as raw:
        counts = raw.execute("SELECT session_id, status FROM webinar_registrants").fetchall()
    assert counts == [(sid, "approved")]


def test_scopes(client: TestClient) -> None:
    created = client.post(
        "/_emulator/accounts/demo-account/apps",
        json={"client_id": "reader", "client_secret": "s3cret", "scopes": ["webinar:read"]},
    )
    assert created.status_code == 201
    headers = {"Authorization": f"Bearer {get_token(client, basic('reader', 's3cret'))}"}
    api = Api(client, "inprocess")
    sid = session(api, "webinar")["id"]
    assert client.get(f"/v2/webinars/{sid}/registrants", headers=headers).status_code == 200
    refused = client.post(f"/v2/webinars/{sid}/registrants", json=PEOPLE[0], headers=headers)
    assert_error(refused, 400, 4711)
    assert "webinar:write:registrant" in refused.json()["message"]
    assert listed(api, "webinar", sid, "pending") == []


# webhooks ------------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    endpoint = WebhookReceiver(SECRET)
    yield endpoint
    endpoint.close()


@pytest.fixture
def hooked(
    make_client: Callable[..., TestClient],
    receiver: WebhookReceiver,
) -> Api:
    assert set(rules.EVENTS) <= set(webhooks.EVENTS), "a subscription can ask for each event"
    api = Api(make_client(webhook_time_scale=0.001), "inprocess")
    body = {"url": receiver.url, "secret_token": SECRET, "events": list(rules.EVENTS)}
    answer = api.control("PUT", "/apps/demo-client-id/webhook", json=body)
    assert answer.status_code == 200 and answer.json()["validated"], answer.text
    return api


@pytest.mark.parametrize("kind", ["webinar", "meeting"])
def test_registration_webhooks(hooked: Api, receiver: WebhookReceiver, kind: str) -> None:
    made = session(hooked, kind, approval_type=1)
    sid = made["id"]
    person = {**PEOPLE[4], "city": "Oslo"}
    created = register(hooked, kind, sid, person)
    rid = created["registrant_id"]
    [event] = receiver.wait_for(f"{kind}.registration_created")
    payload = event["payload"]
    assert payload["account_id"] == "demo-account"
    obj = payload["object"]
    assert obj["id"] == sid and obj["uuid"] == made["uuid"] and obj["topic"] == made["topic"]
    registrant = obj["registrant"]
    assert registrant["id"] == rid and registrant["email"] == person["email"]
    assert registrant["first_name"] == "Person4" and registrant["city"] == "Oslo"
    assert registrant["status"] == "pending" and registrant["join_url"] == created["join_url"]
    documented = payload_schema(f"{kind}.registration_created")["properties"]["object"]
    assert set(resolved(documented)["properties"]) - set(CONDITIONAL) <= set(obj)
    assert set(resolved(documented["properties"]["registrant"])["properties"]) <= set(registrant)
    for what, action in (("approved", "approve"), ("cancelled", "cancel")):
        body = {"action": action, "registrants": [{"id": rid}]}
        assert hooked.put(f"/v2/{kind}s/{sid}/registrants/status", json=body).status_code == 204
        [event] = receiver.wait_for(f"{kind}.registration_{what}")
        assert event["payload"]["operator"] == "host@example.com"
        assert event["payload"]["object"]["registrant"]["id"] == rid
        assert event["payload"]["object"]["registrant"]["email"] == person["email"]
    second = register(hooked, kind, sid, PEOPLE[5])["registrant_id"]
    body = {"action": "deny", "registrants": [{"id": second}]}
    assert hooked.put(f"/v2/{kind}s/{sid}/registrants/status", json=body).status_code == 204
    [denied] = receiver.wait_for(f"{kind}.registration_denied")
    assert denied["payload"]["object"]["registrant"]["id"] == second
    # a status that changes nothing sends nothing
    hooked.put(f"/v2/{kind}s/{sid}/registrants/status", json=body)
    assert receiver.bad_signatures == 0
    assert len(receiver.named(f"{kind}.registration_denied")) == 1


# batch registration ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["webinar", "meeting"])
def test_batch_registration(api: Api, kind: str) -> None:
    sid = session(api, kind, approval_type=1)["id"]
    url = f"/v2/{kind}s/{sid}/batch_registrants"
    people = [{k: p[k] for k in ("email", "first_name", "last_name")} for p in PEOPLE[:3]]
    made = api.post(url, json={"registrants": people, "auto_approve": True})
    assert made.status_code == 201, made.text
    answered = made.json()["registrants"]
    assert [a["email"] for a in answered] == [p["email"] for p in people]
    assert all(
        a["join_url"].startswith(f"{api.get(f'/v2/{kind}s/{sid}').json()['join_url']}?tk=")
        for a in answered
    )
    assert all(("participant_pin_code" in a) == (kind == "meeting") for a in answered)
    approved = listed(api, kind, sid)
    assert [x["id"] for x in approved] == [a["registrant_id"] for a in answered]
    # without auto_approve they wait for the host; a known email keeps its registration
    more = [people[0], {"email": "late@example.org", "first_name": "Late"}]
    again = api.post(url, json={"registrants": more}).json()["registrants"]
    assert again[0]["registrant_id"] == answered[0]["registrant_id"]
    assert [x["email"] for x in listed(api, kind, sid, "pending")] == ["late@example.org"]
    before = rows(api, kind, sid)
    too_many = [{"email": f"m{i}@example.org", "first_name": "M"} for i in range(31)]
    assert_error(api.post(url, json={"registrants": too_many}), 400, 300, "Validation Failed.")
    bad = [{"email": "x@example.org"}]
    assert_error(api.post(url, json={"registrants": bad}), 400, 300, "Validation Failed.")
    host = [
        {"email": "host@example.com", "first_name": "Me"},
        {"email": "z@example.org", "first_name": "Z"},
    ]
    assert_error(api.post(url, json={"registrants": host}), 400, 3027)
    assert rows(api, kind, sid) == before


def test_batch_registration_needs_a_scheduled_session_with_registration(api: Api) -> None:
    recurring = session(api, "webinar", type=6)["id"]
    assert_error(
        api.post(f"/v2/webinars/{recurring}/batch_registrants", json={"registrants": []}),
        400,
        300,
        "This API can only be used for scheduled webinars (type 5). Batch registration is not "
        "supported for other webinar types.",
    )
    meeting = session(api, "meeting", approval_type=2)["id"]
    assert_error(
        api.post(f"/v2/meetings/{meeting}/batch_registrants", json={"registrants": []}),
        400,
        404,
        f"Registration has not been enabled for this meeting: {meeting}.",
    )
    assert_error(api.post("/v2/meetings/12345678901/batch_registrants", json={}), 404, 3001)


def test_two_hosts_on_postgresql_share_registrants_and_panelists(pg_url: str) -> None:
    """Written through one host, read through another (the change log carries the new
    tables' rows, their JSON fields included); the webinar's delete reaches both."""
    first, second = Server(pg_url).start(timeout=40), Server(pg_url).start(timeout=40)
    try:
        with httpx.Client(base_url=first.url) as one, httpx.Client(base_url=second.url) as two:
            assert one.post("/_emulator/reset", json={"demo": True}).status_code == 200
            a, b = Api(one, "socket"), Api(two, "socket")
            sid = session(a, "webinar")["id"]
            person = {**PEOPLE[0], "custom_questions": [{"title": "Où ?", "value": "Zürich"}]}
            rid = register(a, "webinar", sid, person)["registrant_id"]
            body = {"action": "approve", "registrants": [{"id": rid}]}
            assert b.put(f"/v2/webinars/{sid}/registrants/status", json=body).status_code == 204
            [seen] = listed(a, "webinar", sid)
            assert (
                seen["status"] == "approved"
                and seen["custom_questions"] == person["custom_questions"]
            )
            panel = {"panelists": [{"email": "ana@example.org", "name": "Ana"}]}
            assert a.post(f"/v2/webinars/{sid}/panelists", json=panel).status_code == 201
            assert b.get(f"/v2/webinars/{sid}/panelists").json()["total_records"] == 1
            assert b.delete(f"/v2/webinars/{sid}").status_code == 204
            assert_error(a.get(f"/v2/webinars/{sid}/registrants/{rid}"), 404, 3001)
    finally:
        first.stop()
        second.stop()
